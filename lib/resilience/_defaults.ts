/**
 * The built-in defaults, in one place, shared by the constructors and by
 * {@link resolvePolicy}.
 *
 * @module
 */

/** Defaults of the circuit breaker. */
export const BREAKER_DEFAULTS = {
  countWindowSize: 100,
  timeWindowSizeMs: 10_000,
  timeWindowBucketMs: 1_000,
  failureRateThreshold: 50,
  slowCallRateThreshold: 100,
  slowCallDurationMs: 60_000,
  minimumNumberOfCalls: 10,
  waitDurationInOpenMs: 5_000,
  permittedCallsInHalfOpen: 3,
  halfOpenProbeTimeoutMs: 10_000,
} as const;

/** Defaults of the retry policy. */
export const RETRY_DEFAULTS = {
  maxAttempts: 3,
  baseDelayMs: 50,
  maxDelayMs: 2_000,
  minAttemptMs: 20,
} as const;

/** Defaults of the retry budget. */
export const RETRY_BUDGET_DEFAULTS = {
  ratio: 0.2,
  minRetriesPerSecond: 10,
  windowMs: 10_000,
  bucketMs: 1_000,
} as const;

/** Defaults of the bulkhead. */
export const BULKHEAD_DEFAULTS = {
  maxConcurrent: 64,
  maxQueue: 0,
  maxWaitMs: 1_000,
} as const;

/** Defaults of the outlier detector. */
export const OUTLIER_DEFAULTS = {
  consecutiveFailures: 5,
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  maxEjectionPercent: 50,
} as const;

/** Default timeout of a call. */
export const DEFAULT_TIMEOUT_MS = 10_000;
