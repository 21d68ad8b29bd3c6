/**
 * The declarative resilience policy of calls: timeouts, retries, breakers,
 * bulkheads, outlier detection and the balancer, set for every call, per
 * peer and per action, and resolved into one complete policy per action.
 *
 * @module
 */

import { type FieldIssue, toPointer, ValidationError } from "@flotilla/core";
import { z } from "zod";
import {
  BREAKER_DEFAULTS,
  BULKHEAD_DEFAULTS,
  DEFAULT_TIMEOUT_MS,
  OUTLIER_DEFAULTS,
  RETRY_DEFAULTS,
} from "./_defaults.ts";
import type { BulkheadOptions } from "./bulkhead.ts";
import type { CircuitBreakerOptions } from "./circuit_breaker.ts";
import type { OutlierOptions } from "./outlier_detector.ts";
import type { RetryOptions } from "./retry.ts";

/** The load-balancing strategies a policy can name (those of `@flotilla/balance`). */
export type BalancerName =
  | "round_robin"
  | "random"
  | "least_outstanding"
  | "p2c_ewma"
  | "consistent_hash";

/**
 * The policy of calls; every field is optional and overrides the level
 * below it. `false` turns a mechanism off; an options object is merged
 * field by field onto the level below (onto the built-in defaults when the
 * level below had turned it off).
 */
export interface CallPolicy {
  /** Timeout of a call, in milliseconds. @default {10_000} */
  timeoutMs?: number;
  /**
   * Timeout of one attempt, in milliseconds (Envoy's per-try timeout), or
   * `false` for none: the attempt may use the whole call's time. An attempt
   * without an answer in time fails with `UnavailableError`
   * `ATTEMPT_TIMEOUT`, counts against the endpoint, and is retried elsewhere
   * when the call may be. Over a broker (NATS), where a callee that died
   * says nothing, it is what turns a lost request into a retry.
   * @default {false}
   */
  attemptTimeoutMs?: number | false;
  /** Retries. @default {{ maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 2_000, minAttemptMs: 20 }} */
  retry?: RetryOptions | false;
  /** The per-endpoint circuit breaker. @default {the defaults of {@link CircuitBreakerOptions}} */
  breaker?: CircuitBreakerOptions | false;
  /** The per-endpoint bulkhead. @default {{ maxConcurrent: 64, maxQueue: 0, maxWaitMs: 1_000 }} */
  bulkhead?: BulkheadOptions | false;
  /** Outlier detection. @default {{ consecutiveFailures: 5, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 50 }} */
  outlier?: OutlierOptions | false;
  /** The load-balancing strategy. @default {"p2c_ewma"} */
  balancer?: BalancerName;
}

/** The policy of the calls to one peer, with overrides per action. */
export interface PeerPolicy extends CallPolicy {
  /** Overrides for single actions of the peer, by action name. */
  actions?: Record<string, CallPolicy>;
}

/** The resilience configuration of a caller. */
export interface PolicyConfig {
  /** The policy of every call. */
  defaults?: CallPolicy;
  /** Overrides per peer, by service name. */
  peers?: Record<string, PeerPolicy>;
}

/** A count or time sliding window with every field set. */
export type ResolvedSlidingWindow =
  | {
    /** Count-based window. */
    type: "count";
    /** Number of calls. */
    size: number;
  }
  | {
    /** Time-based window. */
    type: "time";
    /** Length of the window in milliseconds. */
    sizeMs: number;
    /** Length of one bucket in milliseconds. */
    bucketMs: number;
  };

/** {@link RetryOptions} with every setting filled in. */
export type ResolvedRetryOptions =
  & RetryOptions
  & Required<Pick<RetryOptions, "maxAttempts" | "baseDelayMs" | "maxDelayMs" | "minAttemptMs">>;

/** {@link CircuitBreakerOptions} with every setting filled in. */
export type ResolvedCircuitBreakerOptions =
  & Omit<CircuitBreakerOptions, "slidingWindow">
  & Required<
    Pick<
      CircuitBreakerOptions,
      | "failureRateThreshold"
      | "slowCallRateThreshold"
      | "slowCallDurationMs"
      | "minimumNumberOfCalls"
      | "waitDurationInOpenMs"
      | "permittedCallsInHalfOpen"
      | "halfOpenProbeTimeoutMs"
    >
  >
  & { slidingWindow: ResolvedSlidingWindow };

/** {@link BulkheadOptions} with every setting filled in. */
export type ResolvedBulkheadOptions =
  & BulkheadOptions
  & Required<Pick<BulkheadOptions, "maxConcurrent" | "maxQueue" | "maxWaitMs">>;

/** {@link OutlierOptions} with every setting filled in. */
export type ResolvedOutlierOptions =
  & OutlierOptions
  & Required<
    Pick<
      OutlierOptions,
      "consecutiveFailures" | "baseEjectionMs" | "maxEjectionMs" | "maxEjectionPercent"
    >
  >;

/** The complete policy of one action: every mechanism either off or fully set. */
export interface ResolvedPolicy {
  /** Timeout of a call, in milliseconds. */
  timeoutMs: number;
  /** Timeout of one attempt, in milliseconds, or `false` for none. */
  attemptTimeoutMs: number | false;
  /** Retries, or `false` for none. */
  retry: ResolvedRetryOptions | false;
  /** The per-endpoint circuit breaker, or `false` for none. */
  breaker: ResolvedCircuitBreakerOptions | false;
  /** The per-endpoint bulkhead, or `false` for none. */
  bulkhead: ResolvedBulkheadOptions | false;
  /** Outlier detection, or `false` for none. */
  outlier: ResolvedOutlierOptions | false;
  /** The load-balancing strategy. */
  balancer: BalancerName;
}

const BUILT_IN_RETRY: ResolvedRetryOptions = {
  maxAttempts: RETRY_DEFAULTS.maxAttempts,
  baseDelayMs: RETRY_DEFAULTS.baseDelayMs,
  maxDelayMs: RETRY_DEFAULTS.maxDelayMs,
  minAttemptMs: RETRY_DEFAULTS.minAttemptMs,
};

const BUILT_IN_BREAKER: ResolvedCircuitBreakerOptions = {
  slidingWindow: { type: "count", size: BREAKER_DEFAULTS.countWindowSize },
  failureRateThreshold: BREAKER_DEFAULTS.failureRateThreshold,
  slowCallRateThreshold: BREAKER_DEFAULTS.slowCallRateThreshold,
  slowCallDurationMs: BREAKER_DEFAULTS.slowCallDurationMs,
  minimumNumberOfCalls: BREAKER_DEFAULTS.minimumNumberOfCalls,
  waitDurationInOpenMs: BREAKER_DEFAULTS.waitDurationInOpenMs,
  permittedCallsInHalfOpen: BREAKER_DEFAULTS.permittedCallsInHalfOpen,
  halfOpenProbeTimeoutMs: BREAKER_DEFAULTS.halfOpenProbeTimeoutMs,
};

const BUILT_IN_BULKHEAD: ResolvedBulkheadOptions = {
  maxConcurrent: BULKHEAD_DEFAULTS.maxConcurrent,
  maxQueue: BULKHEAD_DEFAULTS.maxQueue,
  maxWaitMs: BULKHEAD_DEFAULTS.maxWaitMs,
};

const BUILT_IN_OUTLIER: ResolvedOutlierOptions = {
  consecutiveFailures: OUTLIER_DEFAULTS.consecutiveFailures,
  baseEjectionMs: OUTLIER_DEFAULTS.baseEjectionMs,
  maxEjectionMs: OUTLIER_DEFAULTS.maxEjectionMs,
  maxEjectionPercent: OUTLIER_DEFAULTS.maxEjectionPercent,
};

/**
 * The built-in policy: a 10 s timeout, 3 attempts, the breaker's, bulkhead's
 * and outlier detector's defaults, and the `p2c_ewma` balancer.
 */
export const DEFAULT_POLICY: Readonly<ResolvedPolicy> = deepFreeze({
  timeoutMs: DEFAULT_TIMEOUT_MS,
  attemptTimeoutMs: false,
  retry: BUILT_IN_RETRY,
  breaker: BUILT_IN_BREAKER,
  bulkhead: BUILT_IN_BULKHEAD,
  outlier: BUILT_IN_OUTLIER,
  balancer: "p2c_ewma",
});

/**
 * Resolves the policy of `service`'s `action`: the action's overrides win
 * over the peer's, which win over the config's defaults, which win over
 * {@link DEFAULT_POLICY}. Nested options merge field by field (a sliding
 * window of another `type` replaces the one below it). The result is a new
 * object; resolve once per action and keep it, rather than on every call.
 *
 * @example
 * ```ts
 * import { resolvePolicy } from "@flotilla/resilience";
 *
 * const policy = resolvePolicy({
 *   defaults: { retry: { maxAttempts: 2 } },
 *   peers: { payment: { retry: false, actions: { getPayment: { retry: { baseDelayMs: 10 } } } } },
 * }, "payment", "getPayment");
 * policy.retry; // { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 2000, minAttemptMs: 20 }
 * ```
 */
export function resolvePolicy(
  config: PolicyConfig,
  service: string,
  action: string,
): ResolvedPolicy {
  const peer = Object.hasOwn(config.peers ?? {}, service) ? config.peers?.[service] : undefined;
  const actionPolicy = peer?.actions !== undefined && Object.hasOwn(peer.actions, action)
    ? peer.actions[action]
    : undefined;
  let resolved: ResolvedPolicy = {
    timeoutMs: DEFAULT_POLICY.timeoutMs,
    attemptTimeoutMs: DEFAULT_POLICY.attemptTimeoutMs,
    retry: { ...BUILT_IN_RETRY },
    breaker: { ...BUILT_IN_BREAKER, slidingWindow: { ...BUILT_IN_BREAKER.slidingWindow } },
    bulkhead: { ...BUILT_IN_BULKHEAD },
    outlier: { ...BUILT_IN_OUTLIER },
    balancer: DEFAULT_POLICY.balancer,
  };
  for (const layer of [config.defaults, peer, actionPolicy]) {
    if (layer !== undefined) resolved = applyLayer(resolved, layer);
  }
  return resolved;
}

function applyLayer(base: ResolvedPolicy, layer: CallPolicy): ResolvedPolicy {
  return {
    timeoutMs: layer.timeoutMs ?? base.timeoutMs,
    attemptTimeoutMs: layer.attemptTimeoutMs ?? base.attemptTimeoutMs,
    retry: mergeSection(base.retry, layer.retry, BUILT_IN_RETRY),
    breaker: mergeBreaker(base.breaker, layer.breaker),
    bulkhead: mergeSection(base.bulkhead, layer.bulkhead, BUILT_IN_BULKHEAD),
    outlier: mergeSection(base.outlier, layer.outlier, BUILT_IN_OUTLIER),
    balancer: layer.balancer ?? base.balancer,
  };
}

function mergeSection<R extends object, O extends object>(
  base: R | false,
  override: O | false | undefined,
  builtIn: R,
): R | false {
  if (override === undefined) return base;
  if (override === false) return false;
  return { ...(base === false ? builtIn : base), ...definedFields(override) };
}

function mergeBreaker(
  base: ResolvedCircuitBreakerOptions | false,
  override: CircuitBreakerOptions | false | undefined,
): ResolvedCircuitBreakerOptions | false {
  if (override === undefined) return base;
  if (override === false) return false;
  const from = base === false ? BUILT_IN_BREAKER : base;
  const { slidingWindow, ...rest } = definedFields(override);
  let window: ResolvedSlidingWindow = from.slidingWindow;
  if (slidingWindow !== undefined) {
    const below = from.slidingWindow;
    if (slidingWindow.type === "count") {
      window = {
        type: "count",
        size: slidingWindow.size ??
          (below.type === "count" ? below.size : BREAKER_DEFAULTS.countWindowSize),
      };
    } else {
      const sizeMs = slidingWindow.sizeMs ??
        (below.type === "time" ? below.sizeMs : BREAKER_DEFAULTS.timeWindowSizeMs);
      window = {
        type: "time",
        sizeMs,
        bucketMs: slidingWindow.bucketMs ??
          (below.type === "time"
            ? Math.min(below.bucketMs, sizeMs)
            : Math.min(BREAKER_DEFAULTS.timeWindowBucketMs, sizeMs)),
      };
    }
  }
  return { ...from, ...rest, slidingWindow: { ...window } };
}

function definedFields<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (field !== undefined) out[key] = field;
  }
  return out as T;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const field of Object.values(value)) deepFreeze(field);
    Object.freeze(value);
  }
  return value;
}

// --- Validation -------------------------------------------------------------

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();
const positive = z.number().positive();
const nonNegative = z.number().nonnegative();
const percent = z.number().gt(0).lte(100);

/** `false`, or an object `schema` accepts, with the object's own field errors. */
function section(schema: z.ZodType): z.ZodType {
  return z.unknown().superRefine((value, ctx) => {
    if (value === false) return;
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      ctx.addIssue({ code: "custom", message: "Expected false or an options object" });
      return;
    }
    const result = schema.safeParse(value);
    if (result.success) return;
    for (const issue of result.error.issues) {
      ctx.addIssue({ code: "custom", message: issue.message, path: issue.path });
    }
  });
}

const retrySchema = z.strictObject({
  maxAttempts: positiveInt.optional(),
  baseDelayMs: nonNegative.optional(),
  maxDelayMs: nonNegative.optional(),
  minAttemptMs: nonNegative.optional(),
}).refine(
  (v) => v.maxDelayMs === undefined || v.baseDelayMs === undefined || v.maxDelayMs >= v.baseDelayMs,
  { message: "Must be >= baseDelayMs", path: ["maxDelayMs"] },
);

const slidingWindowSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("count"), size: positiveInt.optional() }),
  z.strictObject({
    type: z.literal("time"),
    sizeMs: positive.optional(),
    bucketMs: positive.optional(),
  }).refine(
    (v) => v.sizeMs === undefined || v.bucketMs === undefined || v.bucketMs <= v.sizeMs,
    { message: "Must be <= sizeMs", path: ["bucketMs"] },
  ),
]);

const breakerSchema = z.strictObject({
  slidingWindow: slidingWindowSchema.optional(),
  failureRateThreshold: percent.optional(),
  slowCallRateThreshold: percent.optional(),
  slowCallDurationMs: nonNegative.optional(),
  minimumNumberOfCalls: positiveInt.optional(),
  waitDurationInOpenMs: nonNegative.optional(),
  permittedCallsInHalfOpen: positiveInt.optional(),
  halfOpenProbeTimeoutMs: positive.optional(),
});

const bulkheadSchema = z.strictObject({
  maxConcurrent: positiveInt.optional(),
  maxQueue: nonNegativeInt.optional(),
  maxWaitMs: nonNegative.optional(),
});

const outlierSchema = z.strictObject({
  consecutiveFailures: positiveInt.optional(),
  baseEjectionMs: positive.optional(),
  maxEjectionMs: positive.optional(),
  maxEjectionPercent: percent.optional(),
}).refine(
  (v) =>
    v.maxEjectionMs === undefined || v.baseEjectionMs === undefined ||
    v.maxEjectionMs >= v.baseEjectionMs,
  { message: "Must be >= baseEjectionMs", path: ["maxEjectionMs"] },
);

const callPolicyFields = {
  timeoutMs: positive.optional(),
  attemptTimeoutMs: z.union([positive, z.literal(false)]).optional(),
  retry: section(retrySchema).optional(),
  breaker: section(breakerSchema).optional(),
  bulkhead: section(bulkheadSchema).optional(),
  outlier: section(outlierSchema).optional(),
  balancer: z.enum(["round_robin", "random", "least_outstanding", "p2c_ewma", "consistent_hash"])
    .optional(),
};

const callPolicySchema = z.strictObject(callPolicyFields);

const configSchema = z.strictObject({
  defaults: callPolicySchema.optional(),
  peers: z.record(
    z.string(),
    z.strictObject({
      ...callPolicyFields,
      actions: z.record(z.string(), callPolicySchema).optional(),
    }),
  ).optional(),
});

/**
 * Validates a policy configuration read from JSON (a file, an environment
 * variable), rejecting unknown fields so that typos do not pass silently.
 *
 * @throws {ValidationError} (code `INVALID_POLICY`) naming every offending field, e.g.
 * `peers.payment.retry.maxAttempts: Too small: expected number to be >0`.
 *
 * @example
 * ```ts
 * import { parsePolicyConfig, resolvePolicy } from "@flotilla/resilience";
 *
 * const config = parsePolicyConfig(JSON.parse(`{
 *   "defaults": { "timeoutMs": 5000 },
 *   "peers": { "payment": { "retry": false } }
 * }`));
 * resolvePolicy(config, "payment", "charge").retry; // false
 * ```
 */
export function parsePolicyConfig(json: unknown): PolicyConfig {
  const result = configSchema.safeParse(json);
  if (result.success) return result.data as PolicyConfig;
  const issues: FieldIssue[] = result.error.issues.map((issue) => ({
    pointer: toPointer(issue.path),
    message: issue.message,
  }));
  throw new ValidationError(issues, { code: "INVALID_POLICY" });
}
