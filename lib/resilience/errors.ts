/**
 * The errors of the resilience primitives that a caller may want to catch.
 *
 * Both are raised locally, before the request leaves the process: the callee
 * never saw it, so they are safe to retry (on another endpoint) even for an
 * action that is not idempotent, and they never count against the callee's
 * health (see {@link classifyError}).
 *
 * @module
 */

import { FlotillaError } from "@flotilla/core";

/** The details a {@link CircuitOpenError} carries. */
export type CircuitOpenData = {
  /** The endpoint whose breaker rejected the call, when the breaker was named. */
  endpoint?: string;
  /** How long until the breaker may let a call through again, in milliseconds. */
  retryAfterMs: number;
};

/**
 * A circuit breaker rejected the call: it is open, or half-open with every
 * probe slot taken. `UNAVAILABLE`, retryable: another endpoint may be fine.
 *
 * @example
 * ```ts
 * import { CircuitOpenError } from "@flotilla/resilience";
 *
 * const error = new CircuitOpenError(1_200, { endpoint: "inventory-1" });
 * error.code; // "CIRCUIT_OPEN"
 * error.data.retryAfterMs; // 1200
 * ```
 */
export class CircuitOpenError extends FlotillaError {
  /** The endpoint and the time until the breaker may let a call through. */
  declare readonly data: Readonly<CircuitOpenData>;

  /** Creates the error for a breaker that may let calls through after `retryAfterMs`. */
  constructor(retryAfterMs: number, options: { endpoint?: string; cause?: unknown } = {}) {
    const data: CircuitOpenData = options.endpoint === undefined
      ? { retryAfterMs }
      : { endpoint: options.endpoint, retryAfterMs };
    super(
      "CIRCUIT_OPEN",
      `Circuit open${
        options.endpoint === undefined ? "" : ` for "${options.endpoint}"`
      }: retry after ${retryAfterMs} ms`,
      { kind: "UNAVAILABLE", retryable: true, data, cause: options.cause },
    );
    this.name = "CircuitOpenError";
  }
}

/** Why a {@link BulkheadFullError} was raised. */
export type BulkheadRejection = "full" | "wait_timeout" | "disposed";

/** The details a {@link BulkheadFullError} carries. */
export type BulkheadFullData = {
  /** The bulkhead's name, e.g. the endpoint it guards. */
  name?: string;
  /** Why the call was rejected. */
  reason: BulkheadRejection;
  /** The bulkhead's concurrency limit. */
  maxConcurrent: number;
  /** The bulkhead's queue bound. */
  maxQueue: number;
};

/**
 * A bulkhead rejected the call: every slot was busy and the queue full, the
 * wait in the queue timed out, or the bulkhead was disposed.
 * `RESOURCE_EXHAUSTED`, retryable.
 *
 * @example
 * ```ts
 * import { BulkheadFullError } from "@flotilla/resilience";
 *
 * const error = new BulkheadFullError({ reason: "full", maxConcurrent: 64, maxQueue: 0 });
 * error.code; // "BULKHEAD_FULL"
 * ```
 */
export class BulkheadFullError extends FlotillaError {
  /** The limits of the bulkhead and why it rejected the call. */
  declare readonly data: Readonly<BulkheadFullData>;

  /** Creates the error from the bulkhead's limits and the reason of the rejection. */
  constructor(data: BulkheadFullData, options: { cause?: unknown } = {}) {
    const where = data.name === undefined ? "" : ` "${data.name}"`;
    const why = data.reason === "full"
      ? `all ${data.maxConcurrent} slots are busy and the queue of ${data.maxQueue} is full`
      : data.reason === "wait_timeout"
      ? "the wait for a slot timed out"
      : "it was disposed";
    super("BULKHEAD_FULL", `Bulkhead${where} rejected the call as ${why}`, {
      kind: "RESOURCE_EXHAUSTED",
      retryable: true,
      data: { ...data },
      cause: options.cause,
    });
    this.name = "BulkheadFullError";
  }
}
