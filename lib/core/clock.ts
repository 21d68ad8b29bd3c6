/**
 * An injectable source of time, so that deadlines, breakers and TTLs are
 * tested without sleeping.
 *
 * @module
 */

/** A source of the current time in milliseconds since the epoch. */
export interface Clock {
  /** The current time, in milliseconds since the Unix epoch. */
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/**
 * A clock that moves only when told to, for tests.
 *
 * @example
 * ```ts
 * const clock = new ManualClock(0);
 * clock.advance(1_000);
 * clock.now(); // 1000
 * ```
 */
export class ManualClock implements Clock {
  #now: number;

  /** Creates a clock that starts at `start` milliseconds. */
  constructor(start = 0) {
    this.#now = start;
  }

  /** The current fake time. */
  now(): number {
    return this.#now;
  }

  /** Moves the clock forward by `ms` milliseconds. */
  advance(ms: number): void {
    if (!(ms >= 0)) {
      throw new RangeError(
        `Cannot advance the clock as 'ms' must be >= 0: current value is ${ms}`,
      );
    }
    this.#now += ms;
  }
}
