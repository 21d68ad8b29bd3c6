/**
 * When and how soon to try a failed call again: exponential backoff with
 * full jitter, and a predicate that never retries what is unsafe or
 * pointless.
 *
 * @module
 */

import { type Clock, FlotillaError, systemClock, UnavailableError } from "@flotilla/core";
import { RETRY_DEFAULTS } from "./_defaults.ts";
import { checkNonNegative, checkNumber, checkPositiveInteger } from "./_check.ts";
import { classifyError, type ErrorClassifier } from "./classify.ts";
import { BulkheadFullError, CircuitOpenError } from "./errors.ts";
import type { RetryBudget } from "./retry_budget.ts";
import { sleep as sleepOn, systemTimers, type Timers } from "./timers.ts";

/** Options of {@link RetryPolicy}. */
export interface RetryOptions {
  /** Attempts in all, counting the first. @default {3} */
  maxAttempts?: number;
  /** Cap of the first retry's delay; each further retry doubles it. @default {50} */
  baseDelayMs?: number;
  /** Largest cap of a delay. @default {2_000} */
  maxDelayMs?: number;
  /**
   * Time an attempt needs at the least: a retry is made only when the time
   * left before the deadline exceeds its delay by this much. @default {20}
   */
  minAttemptMs?: number;
  /** Source of randomness in [0, 1). @default {Math.random} */
  random?: () => number;
  /** Decides what an error says about the callee. @default {classifyError} */
  classify?: ErrorClassifier;
  /**
   * Whether an error proves that the request never reached the callee, so
   * that even a call that is not idempotent may be retried.
   * @default {isUnsentError}
   */
  isUnsent?: (error: unknown) => boolean;
}

/** What {@link RetryPolicy.shouldRetry} needs to know about the call. */
export interface RetryContext {
  /** Attempts made so far, the failed one included (1 after the first attempt). */
  attempt: number;
  /** Whether the action is idempotent. */
  idempotent: boolean;
  /** Whether the call carries an idempotency key. */
  hasIdempotencyKey: boolean;
  /** Milliseconds left before the call's deadline (`Infinity` without one). */
  remainingMs: number;
  /** The delay planned before the next attempt. */
  delayMs: number;
}

/** Why {@link RetryPolicy.decide} stops retrying. */
export type RetryStopReason =
  | "attempts_exhausted"
  | "no_endpoints"
  | "not_retryable"
  | "not_idempotent"
  | "deadline"
  | "budget_exhausted";

/** The answer of {@link RetryPolicy.decide}, discriminated on `retry`. */
export type RetryDecision =
  | {
    /** Try again… */
    retry: true;
    /** …after this many milliseconds. */
    delayMs: number;
  }
  | {
    /** Give up… */
    retry: false;
    /** …for this reason. */
    reason: RetryStopReason;
  };

/**
 * Whether `error` proves that the request never reached the callee: a
 * {@link CircuitOpenError} or {@link BulkheadFullError} raised locally, or
 * the transport's own `CONNECTION_REFUSED` ({@link UnavailableError}: the
 * connection could not be opened, nothing was sent).
 *
 * Not proof: `CONNECTION_FAILED` (the connection was lost after the request
 * was sent, so the callee may have acted), and any error relayed by a peer
 * as problem+json — that is a plain `FlotillaError`, and the peer did get the
 * request even if its code is `CONNECTION_REFUSED` or `CIRCUIT_OPEN`.
 *
 * @example
 * ```ts
 * import { CircuitOpenError, isUnsentError } from "@flotilla/resilience";
 *
 * isUnsentError(new CircuitOpenError(1_000)); // true
 * ```
 */
export function isUnsentError(error: unknown): boolean {
  return error instanceof CircuitOpenError || error instanceof BulkheadFullError ||
    (error instanceof UnavailableError && error.code === "CONNECTION_REFUSED");
}

const ACTION = "create the retry policy";

/**
 * The retry policy of a call.
 *
 * A failed attempt is retried only when all of these hold:
 *
 * 1. fewer than `maxAttempts` attempts were made;
 * 2. the error is not `NO_ENDPOINTS` (there is nobody to retry on);
 * 3. either the error proves the request never reached the callee
 *    (`isUnsent`: `CIRCUIT_OPEN`, `BULKHEAD_FULL`, `CONNECTION_REFUSED`)
 *    — then even a call that is not idempotent is retried — or the action is
 *    idempotent or the call carries an idempotency key, and the error is a
 *    failure of the callee (`classify`) and retryable (`retryable` is true:
 *    `UNAVAILABLE`, `DEADLINE_EXCEEDED`, `RESOURCE_EXHAUSTED`…);
 * 4. the time left before the deadline exceeds the delay plus `minAttemptMs`;
 * 5. the retry budget, if any, grants a retry (asked last, so a refused retry
 *    costs nothing).
 *
 * The delay before retry n (n = 1 after the first attempt) is
 * `random() × min(maxDelayMs, baseDelayMs × 2^(n−1))` ("full jitter").
 *
 * @example
 * ```ts
 * import { RetryPolicy } from "@flotilla/resilience";
 * import { UnavailableError } from "@flotilla/core";
 *
 * const policy = new RetryPolicy({ maxAttempts: 3 });
 * policy.decide(new UnavailableError("down"), {
 *   attempt: 1,
 *   idempotent: true,
 *   hasIdempotencyKey: false,
 *   remainingMs: 5_000,
 * }); // { retry: true, delayMs: <between 0 and 50> }
 * ```
 */
export class RetryPolicy {
  readonly #maxAttempts: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #minAttemptMs: number;
  readonly #random: () => number;
  readonly #classify: ErrorClassifier;
  readonly #isUnsent: (error: unknown) => boolean;

  /**
   * Creates a policy.
   *
   * @throws {RangeError} when an option is out of range.
   */
  constructor(options: RetryOptions = {}) {
    const d = RETRY_DEFAULTS;
    this.#maxAttempts = checkPositiveInteger(
      ACTION,
      "maxAttempts",
      options.maxAttempts ?? d.maxAttempts,
    );
    this.#baseDelayMs = checkNonNegative(
      ACTION,
      "baseDelayMs",
      options.baseDelayMs ?? d.baseDelayMs,
    );
    this.#maxDelayMs = checkNumber(
      ACTION,
      "maxDelayMs",
      options.maxDelayMs ?? Math.max(d.maxDelayMs, this.#baseDelayMs),
      (v) => Number.isFinite(v) && v >= this.#baseDelayMs,
      "a number >= 'baseDelayMs'",
    );
    this.#minAttemptMs = checkNonNegative(
      ACTION,
      "minAttemptMs",
      options.minAttemptMs ?? d.minAttemptMs,
    );
    this.#random = options.random ?? Math.random;
    this.#classify = options.classify ?? classifyError;
    this.#isUnsent = options.isUnsent ?? isUnsentError;
  }

  /** Attempts in all, counting the first. */
  get maxAttempts(): number {
    return this.#maxAttempts;
  }

  /** A random delay before the retry that follows failed attempt `attempt` (1-based). */
  delayMs(attempt: number): number {
    const cap = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** Math.max(0, attempt - 1));
    return this.#random() * cap;
  }

  /**
   * Whether the call that failed with `error` may be tried again after
   * `context.delayMs` (the rules 1–4 of {@link RetryPolicy}; no budget).
   */
  shouldRetry(error: unknown, context: RetryContext): boolean {
    return this.#stopReason(error, context) === undefined;
  }

  /**
   * Decides whether and when to retry the call that failed with `error`:
   * draws a delay, applies the rules of {@link RetryPolicy}, and withdraws a
   * retry from `budget` only when everything else allows it.
   */
  decide(
    error: unknown,
    context: Omit<RetryContext, "delayMs">,
    budget?: RetryBudget,
  ): RetryDecision {
    const delayMs = this.delayMs(context.attempt);
    const reason = this.#stopReason(error, { ...context, delayMs });
    if (reason !== undefined) return { retry: false, reason };
    if (budget !== undefined && !budget.tryWithdraw()) {
      return { retry: false, reason: "budget_exhausted" };
    }
    return { retry: true, delayMs };
  }

  #stopReason(error: unknown, context: RetryContext): RetryStopReason | undefined {
    if (context.attempt >= this.#maxAttempts) return "attempts_exhausted";
    if (error instanceof FlotillaError && error.code === "NO_ENDPOINTS") return "no_endpoints";
    if (!this.#isUnsent(error)) {
      if (this.#classify(error) !== "failure" || !isRetryable(error)) return "not_retryable";
      if (!context.idempotent && !context.hasIdempotencyKey) return "not_idempotent";
    }
    if (!(context.remainingMs - context.delayMs >= this.#minAttemptMs)) return "deadline";
    return undefined;
  }
}

function isRetryable(error: unknown): boolean {
  if (error instanceof FlotillaError) return error.retryable;
  return typeof error === "object" && error !== null &&
    (error as { retryable?: unknown }).retryable === true;
}

/** What {@link RetryCallOptions.onRetry} is told before each retry. */
export interface RetryEvent {
  /** The error of the failed attempt. */
  error: unknown;
  /** The failed attempt (1-based). */
  attempt: number;
  /** The delay before the next attempt. */
  delayMs: number;
}

/** Options of {@link retry}. */
export interface RetryCallOptions extends RetryOptions {
  /** A policy to use instead of one built from the {@link RetryOptions} fields. */
  policy?: RetryPolicy;
  /** Whether the action is idempotent. @default {false} */
  idempotent?: boolean;
  /** Whether the call carries an idempotency key. @default {false} */
  hasIdempotencyKey?: boolean;
  /** Absolute deadline, in the clock's milliseconds. @default {Infinity} */
  deadline?: number;
  /** The clock the deadline is measured with. @default {systemClock} */
  clock?: Clock;
  /** Stops the retries: an abort during a delay rejects with the signal's reason. */
  signal?: AbortSignal;
  /** A budget shared with other calls; `retry()` records the call as one request in it. */
  budget?: RetryBudget;
  /** Waits between attempts. @default {sleep on `timers`} */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** The timers of the default `sleep`. @default {systemTimers} */
  timers?: Timers;
  /** Called before each retry, e.g. to log or count it. */
  onRetry?: (event: RetryEvent) => void;
}

/**
 * Calls `fn` until it succeeds or the {@link RetryPolicy} gives up, then
 * rethrows the last error. `fn` receives the attempt number (1-based).
 *
 * Calls are taken as not idempotent unless `idempotent` or
 * `hasIdempotencyKey` says otherwise: only errors that prove the request
 * was never sent are retried then.
 *
 * @example
 * ```ts
 * import { retry } from "@flotilla/resilience";
 *
 * const body = await retry(async () => {
 *   const response = await fetch("http://127.0.0.1:7102/health");
 *   return await response.text();
 * }, { idempotent: true, maxAttempts: 4 });
 * ```
 */
export async function retry<T>(
  fn: (attempt: number) => T | Promise<T>,
  options: RetryCallOptions = {},
): Promise<T> {
  const policy = options.policy ?? new RetryPolicy(options);
  const clock = options.clock ?? systemClock;
  const deadline = options.deadline ?? Infinity;
  const signal = options.signal;
  const timers = options.timers ?? systemTimers;
  const sleep = options.sleep ?? ((ms: number, s?: AbortSignal) => sleepOn(ms, timers, s));
  const context = {
    attempt: 0,
    idempotent: options.idempotent ?? false,
    hasIdempotencyKey: options.hasIdempotencyKey ?? false,
    remainingMs: 0,
  };
  options.budget?.recordRequest();
  for (let attempt = 1;; attempt++) {
    signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (error) {
      if (signal?.aborted) throw error;
      context.attempt = attempt;
      context.remainingMs = deadline - clock.now();
      const decision = policy.decide(error, context, options.budget);
      if (!decision.retry) throw error;
      options.onRetry?.({ error, attempt, delayMs: decision.delayMs });
      await sleep(decision.delayMs, signal);
    }
  }
}
