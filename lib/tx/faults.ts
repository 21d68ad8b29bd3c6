/**
 * Fault injection: a hook the saga orchestrator and the TCC coordinator
 * call at every step boundary, so a test can crash (throw, or SIGKILL its
 * own process) at one precise point instead of by timing luck.
 *
 * @module
 */

/** The boundaries at which a {@link FaultHook} is called. */
export type FaultBoundary =
  /** A saga step's STARTED state is persisted; its action is about to run. */
  | "beforeAction"
  /** A saga step's action returned or threw; its outcome is not persisted yet. */
  | "afterAction"
  /** A compensation's STARTED state is persisted; it is about to run. */
  | "beforeCompensation"
  /** A compensation returned or threw; its outcome is not persisted yet. */
  | "afterCompensation"
  /** A TCC Try is about to be sent. */
  | "beforeTry"
  /** A TCC Try returned or threw; not persisted yet. */
  | "afterTry"
  /** A TCC Confirm is about to be sent (the decision is persisted). */
  | "beforeConfirm"
  /** A TCC Confirm returned or threw; not persisted yet. */
  | "afterConfirm"
  /** A TCC Cancel is about to be sent (the decision is persisted). */
  | "beforeCancel"
  /** A TCC Cancel returned or threw; not persisted yet. */
  | "afterCancel"
  /** A new state of the saga or transaction was committed to the store. */
  | "afterPersist";

/** Where a {@link FaultHook} is called. */
export interface FaultPoint {
  /** The boundary. */
  readonly boundary: FaultBoundary;
  /** A saga or a TCC transaction. */
  readonly kind: "saga" | "tcc";
  /** The saga's or transaction's id. */
  readonly id: string;
  /** Its status at this point (after the write, for `afterPersist`). */
  readonly status: string;
  /** The step or participant concerned, if any. */
  readonly step?: string;
  /** The attempt of that step (1-based), if any. */
  readonly attempt?: number;
}

/**
 * Called at every boundary, awaited. A hook that throws aborts the drive on
 * the spot, as a crash would (nothing is caught or persisted after it; the
 * lease stays held until it expires); a hook may also kill its process.
 *
 * @example
 * ```ts
 * import type { FaultHook } from "@flotilla/tx";
 *
 * let calls = 0;
 * const killAt = 7;
 * const faults: FaultHook = () => {
 *   if (++calls === killAt) Deno.kill(Deno.pid, "SIGKILL");
 * };
 * ```
 */
export type FaultHook = (point: FaultPoint) => void | Promise<void>;
