/**
 * The circuit breaker's sliding windows of call outcomes: the last N calls
 * (a ring buffer) or the calls of the last T milliseconds (time buckets).
 * Both record in O(1) and keep running totals.
 *
 * @module
 */

import { TimeBuckets } from "./_time_buckets.ts";

/** Running totals of the outcomes in a window. */
export interface OutcomeWindow {
  /** Records one call at `now`. */
  record(now: number, failed: boolean, slow: boolean): void;
  /** Drops what fell out of the window at `now` (time windows only). */
  roll(now: number): void;
  /** Calls in the window. */
  readonly calls: number;
  /** Failed calls in the window. */
  readonly failures: number;
  /** Slow calls in the window. */
  readonly slowCalls: number;
  /** Forgets every call. */
  reset(): void;
}

const FAILED = 1;
const SLOW = 2;

/** The last `size` calls. */
export class CountWindow implements OutcomeWindow {
  readonly #ring: Uint8Array;
  #next = 0;
  #calls = 0;
  #failures = 0;
  #slowCalls = 0;

  constructor(size: number) {
    this.#ring = new Uint8Array(size);
  }

  record(_now: number, failed: boolean, slow: boolean): void {
    const size = this.#ring.length;
    if (this.#calls === size) {
      const evicted = this.#ring[this.#next]!;
      if (evicted & FAILED) this.#failures--;
      if (evicted & SLOW) this.#slowCalls--;
    } else {
      this.#calls++;
    }
    this.#ring[this.#next] = (failed ? FAILED : 0) | (slow ? SLOW : 0);
    if (failed) this.#failures++;
    if (slow) this.#slowCalls++;
    this.#next = this.#next + 1 === size ? 0 : this.#next + 1;
  }

  roll(_now: number): void {}

  get calls(): number {
    return this.#calls;
  }

  get failures(): number {
    return this.#failures;
  }

  get slowCalls(): number {
    return this.#slowCalls;
  }

  reset(): void {
    this.#next = 0;
    this.#calls = 0;
    this.#failures = 0;
    this.#slowCalls = 0;
  }
}

const CALLS = 0;
const FAILURES = 1;
const SLOW_CALLS = 2;

/** The calls of the last `sizeMs`, in buckets of `bucketMs`. */
export class TimeWindow implements OutcomeWindow {
  readonly #buckets: TimeBuckets;

  constructor(sizeMs: number, bucketMs: number) {
    this.#buckets = new TimeBuckets(Math.ceil(sizeMs / bucketMs), bucketMs, 3);
  }

  record(now: number, failed: boolean, slow: boolean): void {
    this.#buckets.add(now, CALLS);
    if (failed) this.#buckets.add(now, FAILURES);
    if (slow) this.#buckets.add(now, SLOW_CALLS);
  }

  roll(now: number): void {
    this.#buckets.roll(now);
  }

  get calls(): number {
    return this.#buckets.total(CALLS);
  }

  get failures(): number {
    return this.#buckets.total(FAILURES);
  }

  get slowCalls(): number {
    return this.#buckets.total(SLOW_CALLS);
  }

  reset(): void {
    this.#buckets.reset();
  }
}
