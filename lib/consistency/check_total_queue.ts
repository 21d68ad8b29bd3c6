/**
 * The total-queue checker of Jepsen: what goes in must come out.
 *
 * @module
 */

import type { History, Operation } from "./history.ts";
import { valueKey } from "./_value_key.ts";

/** Options of {@link checkTotalQueue}. */
export interface CheckTotalQueueOptions<V = unknown> {
  /**
   * Whether a value dequeued more often than it was enqueued makes the
   * history invalid (a queue promising exactly-once delivery). Otherwise
   * duplicates are counted and reported, as at-least-once delivery allows.
   * @default {false}
   */
  exactlyOnce?: boolean;
  /**
   * The identity of a value: values with equal keys are the same element.
   * @default {primitives by value, objects and arrays by their JSON with sorted keys}
   */
  key?: (value: V) => unknown;
}

/** The verdict of {@link checkTotalQueue}. */
export interface TotalQueueResult<V = unknown> {
  /**
   * No value lost, none unexpected (and, with `exactlyOnce`, none
   * duplicated).
   */
  readonly valid: boolean;
  /**
   * Values whose enqueue was acknowledged (`ok`) that were never dequeued,
   * once per missing copy.
   */
  readonly lost: readonly V[];
  /**
   * Dequeued values that no enqueue could have put in: never attempted, or
   * whose every enqueue definitely failed (`fail`); once per copy dequeued.
   */
  readonly unexpected: readonly V[];
  /**
   * Values dequeued more often than they could have been enqueued, with the
   * number of times each was dequeued in all (2 for a value enqueued once
   * and delivered twice).
   */
  readonly duplicated: ReadonlyMap<V, number>;
  /**
   * Values whose enqueue had an unknown outcome (`info`, or no completion)
   * and that were dequeued: they did get in.
   */
  readonly recovered: readonly V[];
  /** Enqueues invoked. */
  readonly attempted: number;
  /** Enqueues acknowledged (`ok`). */
  readonly acknowledged: number;
  /** Enqueues that definitely failed (`fail`). */
  readonly failed: number;
  /** Enqueues with an unknown outcome (`info`, or invoked and never completed). */
  readonly indeterminate: number;
  /** Values dequeued, every copy counted (drains included). */
  readonly dequeued: number;
  /** Dequeued copies that match an enqueue that may have succeeded (Jepsen's `ok`). */
  readonly okCount: number;
  /** Copies lost (the length of `lost`). */
  readonly lostCount: number;
  /** Copies unexpected (the length of `unexpected`). */
  readonly unexpectedCount: number;
  /** Extra copies dequeued beyond what was enqueued (3 deliveries of one value count 2). */
  readonly duplicatedCount: number;
  /** Copies recovered (the length of `recovered`). */
  readonly recoveredCount: number;
}

interface Tally<V> {
  value: V;
  attempted: number;
  acknowledged: number;
  failed: number;
  dequeued: number;
}

/**
 * Checks a history of a queue in the manner of Jepsen's total-queue checker.
 * The history must include draining the queue completely: a value still in
 * the queue at the end counts as lost.
 *
 * - `enqueue`: `invoke` carries the value; `ok` means it is in the queue;
 *   `fail` means it certainly is not; `info` or no completion means unknown.
 * - `dequeue`: `ok` carries the value taken out (none: the queue was empty);
 *   a dequeue that did not complete `ok` took nothing out as far as the
 *   checker knows.
 * - `drain`: `ok` carries an array of the values taken out.
 *
 * A completion pairs with the last `invoke` of the same process; an `ok`
 * enqueue without an invocation counts as invoked (a log that lost its
 * first line), a second invocation before a completion leaves the first
 * one's outcome unknown.
 *
 * The verdict: every acknowledged enqueue dequeued at least once (else
 * `lost`); every dequeued value attempted by an enqueue that did not
 * definitely fail (else `unexpected`); dequeues beyond the enqueues counted
 * as `duplicated` — an error only with `exactlyOnce`.
 *
 * @example
 * ```ts
 * import { checkTotalQueue, History } from "@flotilla/consistency";
 *
 * const history = new History<string>();
 * history.invoke("p1", "enqueue", "a");
 * history.ok("p1", "enqueue", "a");
 * history.invoke("p1", "enqueue", "b");
 * history.info("p1", "enqueue", "b", "timed out");
 * history.invoke("c1", "drain");
 * history.ok("c1", "drain", ["a", "a", "b"]);
 * const result = checkTotalQueue(history);
 * result.valid; // true
 * result.duplicated; // Map { "a" => 2 }
 * result.recovered; // ["b"]
 * ```
 */
export function checkTotalQueue<V = unknown>(
  history: History<V> | Iterable<Operation<V>>,
  options: CheckTotalQueueOptions<V> = {},
): TotalQueueResult<V> {
  const keyOf = options.key ?? valueKey;
  const tallies = new Map<unknown, Tally<V>>();
  const tally = (value: V): Tally<V> => {
    const key = keyOf(value);
    let entry = tallies.get(key);
    if (entry === undefined) {
      entry = { value, attempted: 0, acknowledged: 0, failed: 0, dequeued: 0 };
      tallies.set(key, entry);
    }
    return entry;
  };
  let attempted = 0;
  let acknowledged = 0;
  let failed = 0;
  let dequeued = 0;
  const open = new Map<string, Operation<V>>();
  const attempt = (value: V | readonly V[] | undefined) => {
    attempted++;
    if (value !== undefined) tally(value as V).attempted++;
  };

  for (const operation of history) {
    if (operation.type === "invoke") {
      const previous = open.get(operation.process);
      if (previous?.f === "enqueue") attempt(previous.value);
      open.set(operation.process, operation);
      continue;
    }
    const invocation = open.get(operation.process);
    const paired = invocation !== undefined && invocation.f === operation.f;
    if (paired) open.delete(operation.process);
    switch (operation.f) {
      case "enqueue": {
        const value = paired && invocation.value !== undefined ? invocation.value : operation.value;
        attempted++;
        if (value === undefined) break;
        const entry = tally(value as V);
        entry.attempted++;
        if (operation.type === "ok") {
          acknowledged++;
          entry.acknowledged++;
        } else if (operation.type === "fail") {
          failed++;
          entry.failed++;
        }
        break;
      }
      case "dequeue":
        if (operation.type === "ok" && operation.value !== undefined) {
          dequeued++;
          tally(operation.value as V).dequeued++;
        }
        break;
      case "drain":
        if (operation.type === "ok" && Array.isArray(operation.value)) {
          for (const value of operation.value as V[]) {
            dequeued++;
            tally(value).dequeued++;
          }
        }
        break;
    }
  }
  for (const invocation of open.values()) {
    if (invocation.f === "enqueue") attempt(invocation.value);
  }

  const lost: V[] = [];
  const unexpected: V[] = [];
  const recovered: V[] = [];
  const duplicated = new Map<V, number>();
  let okCount = 0;
  let duplicatedCount = 0;
  for (const entry of tallies.values()) {
    const possible = entry.attempted - entry.failed;
    for (let i = entry.dequeued; i < entry.acknowledged; i++) lost.push(entry.value);
    if (entry.dequeued === 0) continue;
    if (possible <= 0) {
      for (let i = 0; i < entry.dequeued; i++) unexpected.push(entry.value);
      continue;
    }
    const matched = Math.min(entry.dequeued, possible);
    okCount += matched;
    for (let i = entry.acknowledged; i < matched; i++) recovered.push(entry.value);
    if (entry.dequeued > possible) {
      duplicated.set(entry.value, entry.dequeued);
      duplicatedCount += entry.dequeued - possible;
    }
  }
  const indeterminate = attempted - acknowledged - failed;
  return {
    valid: lost.length === 0 && unexpected.length === 0 &&
      (options.exactlyOnce !== true || duplicated.size === 0),
    lost,
    unexpected,
    duplicated,
    recovered,
    attempted,
    acknowledged,
    failed,
    indeterminate,
    dequeued,
    okCount,
    lostCount: lost.length,
    unexpectedCount: unexpected.length,
    duplicatedCount,
    recoveredCount: recovered.length,
  };
}
