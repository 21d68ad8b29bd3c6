/**
 * One timer for many deadlines.
 *
 * A timer per call is the obvious way to enforce deadlines, and on the hot
 * path it is measurable: every call of a busy service would arm and clear
 * one. A sweeper keeps the calls in flight in a set and checks them on one
 * interval that runs only while the set is not empty. Deadlines are then
 * enforced to within the interval ({@link SWEEP_INTERVAL_MS}), which is far
 * below any deadline worth setting.
 *
 * @module
 */

import { type Clock, systemClock } from "./clock.ts";

/** How often a sweeper checks its deadlines, in milliseconds. */
export const SWEEP_INTERVAL_MS = 10;

/**
 * A deadline watched as is: an object of the watcher's own, such as the
 * record of a call it keeps anyway, so a watch costs no closure.
 */
export interface DeadlineWatch {
  /** Epoch ms on the sweeper's clock; read at every sweep, so it must not change. */
  readonly deadline: number;
  /** Called once the deadline has passed, after the watch is removed. */
  expire(): void;
}

/**
 * Calls each watched callback once its deadline has passed, unless it was
 * cancelled first.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * const cancel = deadlines.watch(Date.now() + 500, () => controller.abort());
 * // … the call finished in time:
 * cancel();
 * ```
 */
export class DeadlineSweeper {
  readonly #clock: Clock;
  readonly #entries = new Set<DeadlineWatch>();
  #interval: ReturnType<typeof setInterval> | undefined;

  /** Creates a sweeper reading `clock`. */
  constructor(clock: Clock = systemClock) {
    this.#clock = clock;
  }

  /** Number of deadlines watched now. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Calls `expire` once `deadline` (epoch ms on the sweeper's clock) has
   * passed; returns a function that cancels the watch.
   */
  watch(deadline: number, expire: () => void): () => void {
    const entry: DeadlineWatch = { deadline, expire };
    this.add(entry);
    return () => this.delete(entry);
  }

  /**
   * Watches `watch` until its deadline passes (then calls its `expire()`)
   * or {@link DeadlineSweeper.delete} removes it: {@link DeadlineSweeper.watch}
   * without the closures.
   */
  add(watch: DeadlineWatch): void {
    this.#entries.add(watch);
    if (this.#interval === undefined) {
      // Kept referenced: a call waiting for its deadline is work in progress, and every
      // watch ends by its deadline at the latest, which then clears the interval.
      this.#interval = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    }
  }

  /** Stops watching `watch` (added with {@link DeadlineSweeper.add}); nothing if not watched. */
  delete(watch: DeadlineWatch): void {
    this.#entries.delete(watch);
  }

  /**
   * Expires every watch whose deadline has passed; the interval calls this,
   * tests may too. The interval stops at the first sweep that finds nothing
   * to watch — not when the last watch is cancelled, which on a busy service
   * happens between almost every two calls.
   */
  sweep(): void {
    const now = this.#clock.now();
    for (const entry of this.#entries) {
      if (entry.deadline <= now) {
        this.#entries.delete(entry);
        entry.expire();
      }
    }
    if (this.#entries.size === 0 && this.#interval !== undefined) {
      clearInterval(this.#interval);
      this.#interval = undefined;
    }
  }
}

/** The process-wide sweeper on the system clock. */
export const deadlines: DeadlineSweeper = new DeadlineSweeper();
