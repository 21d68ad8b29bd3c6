/**
 * Resilience primitives for service-to-service calls, the pieces the call
 * pipeline of `@flotilla/client` composes:
 *
 * - {@link CircuitBreaker}: per-endpoint breaker with count or time sliding
 *   windows, failure and slow-call rates, and bounded half-open probes that
 *   time out (no breaker stuck half-open).
 * - {@link RetryPolicy} and {@link retry}: exponential backoff with full
 *   jitter, retrying only what is safe (idempotent, keyed, or never sent)
 *   and what fits before the deadline.
 * - {@link RetryBudget}: retries capped at a ratio of requests.
 * - {@link Bulkhead}: a concurrency bound with a bounded FIFO queue.
 * - {@link OutlierDetector}: Envoy-style ejection of endpoints that fail in
 *   a row, growing, capped at a share of the endpoints.
 * - {@link withFallback}: a degraded answer on failure.
 * - {@link classifyError}: the shared verdict on an error — the callee's
 *   failure, a caller's mistake, or neither.
 * - {@link resolvePolicy} and {@link parsePolicyConfig}: the declarative
 *   policy per peer and action.
 *
 * Time comes from an injectable `Clock` (`@flotilla/core`) and timers from
 * an injectable {@link Timers}, so every state machine is tested without
 * sleeping ({@link ManualTimers}).
 *
 * @example
 * ```ts
 * import { CircuitBreaker, RetryBudget, retry } from "@flotilla/resilience";
 *
 * const breaker = new CircuitBreaker({ endpoint: "inventory-1" });
 * const budget = new RetryBudget();
 * const products = await retry(
 *   () => breaker.execute(() => fetch("http://127.0.0.1:7102/rpc/getProducts").then((r) => r.json())),
 *   { idempotent: true, budget },
 * );
 * ```
 *
 * @module
 */

export {
  type BulkheadFullData,
  BulkheadFullError,
  type BulkheadRejection,
  type CircuitOpenData,
  CircuitOpenError,
} from "./errors.ts";
export { classifyError, type ErrorClassifier, type ErrorVerdict, isFailure } from "./classify.ts";
export { ManualTimers, sleep, systemTimers, type Timers } from "./timers.ts";
export {
  type BreakerPermit,
  CircuitBreaker,
  type CircuitBreakerEvent,
  type CircuitBreakerMetrics,
  type CircuitBreakerOptions,
  type CircuitState,
  type CircuitTransitionReason,
  type SlidingWindow,
} from "./circuit_breaker.ts";
export {
  isUnsentError,
  retry,
  type RetryCallOptions,
  type RetryContext,
  type RetryDecision,
  type RetryEvent,
  type RetryOptions,
  RetryPolicy,
  type RetryStopReason,
} from "./retry.ts";
export { RetryBudget, type RetryBudgetOptions, type RetryBudgetStats } from "./retry_budget.ts";
export { Bulkhead, type BulkheadOptions, type Release } from "./bulkhead.ts";
export {
  type RateLimit,
  type RateLimitedData,
  RateLimitedError,
  RateLimiter,
  type RateLimiterOptions,
} from "./rate_limiter.ts";
export { OutlierDetector, type OutlierEvent, type OutlierOptions } from "./outlier_detector.ts";
export { type FallbackOptions, withFallback } from "./fallback.ts";
export {
  type BalancerName,
  type CallPolicy,
  DEFAULT_POLICY,
  parsePolicyConfig,
  type PeerPolicy,
  type PolicyConfig,
  type ResolvedBulkheadOptions,
  type ResolvedCircuitBreakerOptions,
  type ResolvedOutlierOptions,
  type ResolvedPolicy,
  type ResolvedRetryOptions,
  type ResolvedSlidingWindow,
  resolvePolicy,
} from "./policy.ts";
/** Re-exported from `@flotilla/core`: the clock, the manual clock of tests, and the base error. */
export type { Clock, ErrorKind, FieldIssue, FlotillaError, ManualClock } from "@flotilla/core";
