/**
 * The HTTP headers Flotilla reads and writes.
 *
 * @module
 */

/** Header names, lowercase. */
export const HEADERS = {
  /** W3C Trace Context parent. */
  traceparent: "traceparent",
  /** W3C Trace Context vendor state. */
  tracestate: "tracestate",
  /** W3C Trace Context response header (draft), so a caller can find the trace. */
  traceresponse: "traceresponse",
  /** Milliseconds the caller will wait; the callee's deadline. */
  timeout: "flotilla-timeout-ms",
  /** The calling service's name. */
  caller: "flotilla-caller",
  /** Makes a non-idempotent request safe to retry (IETF draft `Idempotency-Key`). */
  idempotencyKey: "idempotency-key",
} as const;

/** Whether `key` is an acceptable `Idempotency-Key`: 1–255 visible ASCII characters. */
export function isValidIdempotencyKey(key: string): boolean {
  return /^[\x21-\x7e]{1,255}$/.test(key);
}
