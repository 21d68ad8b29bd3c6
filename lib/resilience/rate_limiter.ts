/**
 * A token-bucket rate limiter: at most `ratePerSecond` calls a second on
 * average, with bursts of up to `burst`.
 *
 * @module
 */

import { type Clock, FlotillaError, systemClock } from "@flotilla/core";

/** The limits of a {@link RateLimiter}. */
export interface RateLimit {
  /** Calls a second, on average; more than 0. */
  ratePerSecond: number;
  /** Calls allowed at once after a quiet spell. @default {ratePerSecond, at least 1} */
  burst?: number;
}

/** Options of {@link RateLimiter}. */
export interface RateLimiterOptions extends RateLimit {
  /** What is limited, for the error's message and data (e.g. the service). */
  name?: string;
  /** The source of time. @default {systemClock} */
  clock?: Clock;
}

/** The details a {@link RateLimitedError} carries. */
export type RateLimitedData = {
  /** What is limited. */
  name?: string;
  /** The limit's average rate. */
  ratePerSecond: number;
  /** When a call would be let through, in ms from now. */
  retryAfterMs: number;
};

/**
 * A rate limiter refused the call: `RESOURCE_EXHAUSTED` (HTTP 429),
 * retryable after `data.retryAfterMs`.
 *
 * @example
 * ```ts
 * import { RateLimitedError } from "@flotilla/resilience";
 *
 * new RateLimitedError({ ratePerSecond: 100, retryAfterMs: 10 }).code; // "RATE_LIMITED"
 * ```
 */
export class RateLimitedError extends FlotillaError {
  /** The limit and when to come back. */
  declare readonly data: Readonly<RateLimitedData>;

  /** Creates the error from the limit and the wait before a retry. */
  constructor(data: RateLimitedData) {
    const where = data.name === undefined ? "" : ` of "${data.name}"`;
    super(
      "RATE_LIMITED",
      `The rate limit${where} (${data.ratePerSecond}/s) refused the call: retry after ${data.retryAfterMs} ms`,
      { kind: "RESOURCE_EXHAUSTED", retryable: true, data: { ...data } },
    );
    this.name = "RateLimitedError";
  }
}

/**
 * A token bucket: each call takes a token; tokens come back at
 * `ratePerSecond`, up to `burst`. Its limits can change while it runs
 * (`update`, e.g. from a configuration reload); the tokens it holds stay,
 * capped by the new burst.
 *
 * @example
 * ```ts
 * const limiter = new RateLimiter({ ratePerSecond: 100, burst: 20 });
 * limiter.acquire(); // throws RateLimitedError when the bucket is empty
 * ```
 */
export class RateLimiter {
  readonly #name: string | undefined;
  readonly #clock: Clock;
  #rate = 0;
  #burst = 0;
  #tokens: number;
  #refilledAt: number;

  /**
   * Creates a full bucket.
   *
   * @throws {RangeError} for a rate that is not a positive number, or a burst below 1.
   */
  constructor(options: RateLimiterOptions) {
    this.#name = options.name;
    this.#clock = options.clock ?? systemClock;
    this.update(options);
    this.#tokens = this.#burst;
    this.#refilledAt = this.#clock.now();
  }

  /** The limits in force. */
  get limit(): Required<RateLimit> {
    return { ratePerSecond: this.#rate, burst: this.#burst };
  }

  /**
   * Changes the limits for the calls that follow.
   *
   * @throws {RangeError} for a rate that is not a positive number, or a burst below 1.
   */
  update(limit: RateLimit): void {
    const { ratePerSecond } = limit;
    if (!(Number.isFinite(ratePerSecond) && ratePerSecond > 0)) {
      throw new RangeError(
        `Cannot limit the rate as 'ratePerSecond' must be a positive number: current value is ${ratePerSecond}`,
      );
    }
    const burst = limit.burst ?? Math.max(1, ratePerSecond);
    if (!(Number.isFinite(burst) && burst >= 1)) {
      throw new RangeError(
        `Cannot limit the rate as 'burst' must be a number from 1: current value is ${burst}`,
      );
    }
    if (this.#rate > 0) this.#refill();
    this.#rate = ratePerSecond;
    this.#burst = burst;
    if (this.#tokens !== undefined) this.#tokens = Math.min(this.#tokens, burst);
  }

  /** Takes a token if there is one; false otherwise (nothing is taken). */
  tryAcquire(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /**
   * Takes a token.
   *
   * @throws {RateLimitedError} when there is none, with the wait until the next.
   */
  acquire(): void {
    if (this.tryAcquire()) return;
    throw new RateLimitedError({
      ...(this.#name === undefined ? {} : { name: this.#name }),
      ratePerSecond: this.#rate,
      retryAfterMs: Math.ceil(((1 - this.#tokens) / this.#rate) * 1000),
    });
  }

  #refill(): void {
    const now = this.#clock.now();
    const elapsed = Math.max(0, now - this.#refilledAt);
    this.#refilledAt = now;
    this.#tokens = Math.min(this.#burst, this.#tokens + (elapsed / 1000) * this.#rate);
  }
}
