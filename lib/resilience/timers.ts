/**
 * The timer seam: primitives that must wake up later (a queued bulkhead
 * waiter, a retry's backoff) take a {@link Timers}, so tests move time by
 * hand with {@link ManualTimers} instead of sleeping.
 *
 * @module
 */

import { type Clock, ManualClock } from "@flotilla/core";

/** Schedules callbacks; the shape of the global `setTimeout`/`clearTimeout`. */
export interface Timers {
  /** Runs `callback` once after `ms` milliseconds; returns an id for {@link Timers.clearTimeout}. */
  setTimeout(callback: () => void, ms: number): number;
  /** Cancels a callback that has not run yet; unknown ids are ignored. */
  clearTimeout(id: number): void;
}

/** The runtime's timers. */
export const systemTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms) as unknown as number,
  clearTimeout: (id) => clearTimeout(id),
};

/**
 * Resolves after `ms` milliseconds of `timers`, or rejects with the
 * signal's reason as soon as `signal` aborts.
 *
 * @example
 * ```ts
 * import { sleep, systemTimers } from "@flotilla/resilience";
 *
 * await sleep(10, systemTimers);
 * ```
 */
export function sleep(ms: number, timers: Timers, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      timers.clearTimeout(id);
      reject(signal?.reason);
    };
    const id = timers.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

interface Scheduled {
  readonly id: number;
  readonly due: number;
  readonly callback: () => void;
}

/**
 * Timers driven by a {@link ManualClock}, for tests: nothing runs until
 * {@link ManualTimers.advance} moves the clock, and then every callback
 * that falls due runs in order of due time, the clock set to its due time.
 *
 * @example
 * ```ts
 * import { ManualTimers } from "@flotilla/resilience";
 *
 * const timers = new ManualTimers();
 * const fired: number[] = [];
 * timers.setTimeout(() => fired.push(timers.clock.now()), 100);
 * timers.advance(250);
 * fired; // [100]
 * timers.clock.now(); // 250
 * ```
 */
export class ManualTimers implements Timers, Clock {
  /** The clock these timers read and move. */
  readonly clock: ManualClock;
  #nextId = 1;
  #scheduled: Scheduled[] = [];

  /** Creates timers on `clock`. */
  constructor(clock: ManualClock = new ManualClock(0)) {
    this.clock = clock;
  }

  /** The clock's time, so that these timers can also serve as the {@link Clock}. */
  now(): number {
    return this.clock.now();
  }

  /** How many callbacks are waiting to run. */
  get pending(): number {
    return this.#scheduled.length;
  }

  /** Schedules `callback` at `now + max(0, ms)`. */
  setTimeout(callback: () => void, ms: number): number {
    const id = this.#nextId++;
    const delay = Number.isFinite(ms) ? Math.max(0, ms) : ms > 0 ? Infinity : 0;
    this.#scheduled.push({ id, due: this.clock.now() + delay, callback });
    return id;
  }

  /** Cancels the callback with `id`. */
  clearTimeout(id: number): void {
    const index = this.#scheduled.findIndex((timer) => timer.id === id);
    if (index >= 0) this.#scheduled.splice(index, 1);
  }

  /**
   * Moves the clock forward by `ms`, running each callback that falls due on
   * the way (including ones scheduled by those callbacks) at its due time.
   */
  advance(ms: number): void {
    if (!(ms >= 0)) {
      throw new RangeError(
        `Cannot advance the timers as 'ms' must be >= 0: current value is ${ms}`,
      );
    }
    const target = this.clock.now() + ms;
    for (;;) {
      const next = this.#next(target);
      if (next === undefined) break;
      this.clock.advance(Math.max(0, next.due - this.clock.now()));
      next.callback();
    }
    this.clock.advance(Math.max(0, target - this.clock.now()));
  }

  #next(target: number): Scheduled | undefined {
    let best = -1;
    for (let i = 0; i < this.#scheduled.length; i++) {
      const timer = this.#scheduled[i]!;
      if (timer.due > target) continue;
      if (best < 0 || timer.due < this.#scheduled[best]!.due) best = i;
    }
    if (best < 0) return undefined;
    return this.#scheduled.splice(best, 1)[0];
  }
}
