/**
 * Checkers of consistency, for tests that break things on purpose (crash
 * tests, the chaos suite): record what every client did as a
 * {@link History} of invocations and outcomes, then judge it.
 *
 * - {@link History}: the log of operations — `invoke`, then `ok`, `fail`
 *   or `info` (outcome unknown) — kept in memory, written as JSON lines by
 *   each process and merged.
 * - {@link checkTotalQueue}: Jepsen's total-queue checker — every
 *   acknowledged enqueue comes out, nothing comes out that was not put in,
 *   duplicates counted.
 * - {@link checkEffects}: exactly-once, checked by counting the effects in
 *   the consumer's state.
 *
 * @example
 * ```ts
 * import { checkEffects, checkTotalQueue, History } from "@flotilla/consistency";
 *
 * const history = new History<string>();
 * history.invoke("writer", "enqueue", "e-1");
 * history.ok("writer", "enqueue", "e-1");
 * history.invoke("consumer", "dequeue");
 * history.ok("consumer", "dequeue", "e-1");
 * checkTotalQueue(history).valid; // true
 * checkEffects(["e-1"], new Map([["e-1", 1]])).valid; // true
 * ```
 *
 * @module
 */

export {
  type FromJsonLinesOptions,
  History,
  type HistoryOptions,
  type Operation,
  type OperationType,
} from "./history.ts";
export {
  checkTotalQueue,
  type CheckTotalQueueOptions,
  type TotalQueueResult,
} from "./check_total_queue.ts";
export { checkEffects, type EffectsResult } from "./check_effects.ts";
/** Re-exported from `@flotilla/core`: the clock a {@link History} reads. */
export type { Clock } from "@flotilla/core";
