/**
 * The default classification of errors, shared by the circuit breaker, the
 * retry policy, the outlier detector and the fallback: does an error say
 * that the callee is unhealthy?
 *
 * @module
 */

import { type ErrorKind, FlotillaError } from "@flotilla/core";
import { BulkheadFullError, CircuitOpenError } from "./errors.ts";

/**
 * What an error says about the callee:
 *
 * - `"failure"`: the callee failed (down, overloaded, too slow, crashed);
 *   it counts against its health and may be retried.
 * - `"success"`: the callee did its job and answered with a caller's
 *   mistake (bad input, not found, forbidden…); it counts as a healthy call.
 * - `"ignore"`: it says nothing about the callee (the caller cancelled, or a
 *   local breaker or bulkhead rejected the call before it was sent).
 */
export type ErrorVerdict = "failure" | "success" | "ignore";

/** Decides what an error says about the callee; replaceable wherever errors are classified. */
export type ErrorClassifier = (error: unknown) => ErrorVerdict;

const CALLER_MISTAKE_KINDS: ReadonlySet<ErrorKind> = new Set<ErrorKind>([
  "INVALID_ARGUMENT",
  "FAILED_PRECONDITION",
  "OUT_OF_RANGE",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "UNAUTHENTICATED",
  "PERMISSION_DENIED",
]);

/**
 * The default {@link ErrorClassifier}, in this order:
 *
 * 1. `"ignore"`: a {@link CircuitOpenError} or {@link BulkheadFullError}
 *    raised locally (a problem with the same code received from a peer is a
 *    plain `FlotillaError` and counts as a failure: the peer is overloaded),
 *    a `CANCELLED` error, and an `AbortError` (the caller gave up).
 * 2. `"success"`: a caller's mistake — a `FlotillaError` whose kind is
 *    `INVALID_ARGUMENT`, `FAILED_PRECONDITION`, `OUT_OF_RANGE`, `NOT_FOUND`,
 *    `ALREADY_EXISTS`, `UNAUTHENTICATED` or `PERMISSION_DENIED`, or any error
 *    whose numeric `httpStatus` is a 4xx (so a 409 `ABORTED` conflict is not
 *    the callee's failure either) — except 408 and 429, which are failures
 *    whatever their kind.
 * 3. `"failure"`: everything else — `UNAVAILABLE`, `DEADLINE_EXCEEDED`,
 *    `INTERNAL`, `UNKNOWN`, `UNIMPLEMENTED`, `RESOURCE_EXHAUSTED` from the
 *    callee, a `TimeoutError`, and any error that is not a `FlotillaError`.
 *
 * @example
 * ```ts
 * import { classifyError } from "@flotilla/resilience";
 * import { NotFoundError, UnavailableError } from "@flotilla/core";
 *
 * classifyError(new UnavailableError("down")); // "failure"
 * classifyError(new NotFoundError("ORDER_NOT_FOUND", "no such order")); // "success"
 * ```
 */
export function classifyError(error: unknown): ErrorVerdict {
  if (error instanceof FlotillaError) {
    if (error instanceof CircuitOpenError || error instanceof BulkheadFullError) return "ignore";
    if (error.kind === "CANCELLED") return "ignore";
    // 408 and 429 are the callee's doing whatever kind they were mapped to (a bare 408 becomes
    // INVALID_ARGUMENT in `kindFromHttpStatus`).
    if (error.httpStatus === 408 || error.httpStatus === 429) return "failure";
    if (CALLER_MISTAKE_KINDS.has(error.kind)) return "success";
    return isClientStatus(error.httpStatus) ? "success" : "failure";
  }
  if (error instanceof DOMException) {
    return error.name === "AbortError" ? "ignore" : "failure";
  }
  if (typeof error === "object" && error !== null && "httpStatus" in error) {
    const status = (error as { httpStatus: unknown }).httpStatus;
    if (typeof status === "number" && isClientStatus(status)) return "success";
  }
  return "failure";
}

/**
 * Whether `error` is a failure of the callee according to the default
 * classification ({@link classifyError}): `false` for a caller's mistake and
 * for errors that say nothing about the callee.
 *
 * @example
 * ```ts
 * import { isFailure } from "@flotilla/resilience";
 * import { FlotillaError } from "@flotilla/core";
 *
 * isFailure(new FlotillaError("DOWN", "down", { kind: "UNAVAILABLE" })); // true
 * isFailure(new FlotillaError("BAD", "bad", { kind: "INVALID_ARGUMENT" })); // false
 * ```
 */
export function isFailure(error: unknown): boolean {
  return classifyError(error) === "failure";
}

function isClientStatus(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}
