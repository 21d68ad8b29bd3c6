/**
 * A retry budget in the manner of Finagle and Envoy: retries may add at
 * most a fixed fraction of load on top of the requests, so that a failing
 * callee is never hit by a retry storm.
 *
 * @module
 */

import { type Clock, systemClock } from "@flotilla/core";
import { RETRY_BUDGET_DEFAULTS } from "./_defaults.ts";
import { checkNonNegative, checkNumber, checkPositive } from "./_check.ts";
import { TimeBuckets } from "./_time_buckets.ts";

/** Options of {@link RetryBudget}. */
export interface RetryBudgetOptions {
  /** Retries allowed per request in the window, e.g. 0.2 = 20 % extra load. @default {0.2} */
  ratio?: number;
  /** Retries allowed per second of the window whatever the traffic, so a quiet service can still retry. @default {10} */
  minRetriesPerSecond?: number;
  /** Length of the sliding window, in milliseconds. @default {10_000} */
  windowMs?: number;
  /** Length of one bucket of the window, in milliseconds. @default {1_000} */
  bucketMs?: number;
  /** The clock the window moves with. @default {systemClock} */
  clock?: Clock;
}

/** A snapshot of a {@link RetryBudget}'s window. */
export interface RetryBudgetStats {
  /** Requests recorded in the window. */
  requests: number;
  /** Retries granted in the window. */
  retries: number;
  /** Retries that would be granted now. */
  available: number;
  /** Retries refused since the budget was created. */
  refused: number;
}

const REQUESTS = 0;
const RETRIES = 1;
const EPSILON = 1e-9;
const ACTION = "create the retry budget";

/**
 * Limits retries to `ratio × requests + minRetriesPerSecond × window
 * seconds` over a sliding window of `windowMs`, counted in buckets of
 * `bucketMs` (so the window spans between `windowMs − bucketMs` and
 * `windowMs` of history). One budget is meant to be shared by every call to
 * one peer. O(1) per request and per retry.
 *
 * @example
 * ```ts
 * import { RetryBudget } from "@flotilla/resilience";
 *
 * const budget = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 0 });
 * for (let i = 0; i < 10; i++) budget.recordRequest();
 * budget.tryWithdraw(); // true
 * budget.tryWithdraw(); // true
 * budget.tryWithdraw(); // false: 20 % of 10 requests is 2 retries
 * ```
 */
export class RetryBudget {
  readonly #ratio: number;
  readonly #reserve: number;
  readonly #buckets: TimeBuckets;
  readonly #clock: Clock;
  #refused = 0;

  /**
   * Creates an empty budget.
   *
   * @throws {RangeError} when an option is out of range.
   */
  constructor(options: RetryBudgetOptions = {}) {
    const d = RETRY_BUDGET_DEFAULTS;
    this.#ratio = checkNonNegative(ACTION, "ratio", options.ratio ?? d.ratio);
    const minRetriesPerSecond = checkNonNegative(
      ACTION,
      "minRetriesPerSecond",
      options.minRetriesPerSecond ?? d.minRetriesPerSecond,
    );
    const windowMs = checkPositive(ACTION, "windowMs", options.windowMs ?? d.windowMs);
    const bucketMs = checkNumber(
      ACTION,
      "bucketMs",
      options.bucketMs ?? Math.min(d.bucketMs, windowMs),
      (v) => v > 0 && v <= windowMs && windowMs / v <= 10_000,
      "a number in (0, 'windowMs'] that splits the window in at most 10 000 buckets",
    );
    this.#reserve = minRetriesPerSecond * windowMs / 1_000;
    this.#buckets = new TimeBuckets(Math.ceil(windowMs / bucketMs), bucketMs, 2);
    this.#clock = options.clock ?? systemClock;
  }

  /** Counts one request (a first attempt, not a retry): it earns `ratio` of a retry. */
  recordRequest(): void {
    this.#buckets.add(this.#clock.now(), REQUESTS);
  }

  /**
   * Takes one retry from the budget: `true` when it may be made, `false`
   * (and nothing taken) when the budget is spent.
   */
  tryWithdraw(): boolean {
    const now = this.#clock.now();
    this.#buckets.roll(now);
    if (this.#available() < 1) {
      this.#refused++;
      return false;
    }
    this.#buckets.add(now, RETRIES);
    return true;
  }

  /** A snapshot of the window. */
  stats(): RetryBudgetStats {
    this.#buckets.roll(this.#clock.now());
    return {
      requests: this.#buckets.total(REQUESTS),
      retries: this.#buckets.total(RETRIES),
      available: Math.max(0, Math.floor(this.#available())),
      refused: this.#refused,
    };
  }

  #available(): number {
    return this.#ratio * this.#buckets.total(REQUESTS) + this.#reserve -
      this.#buckets.total(RETRIES) + EPSILON;
  }
}
