/**
 * The gRPC metadata keys Flotilla reads and writes.
 *
 * @module
 */

/**
 * Metadata keys, lowercase. The deadline travels as gRPC's own
 * `grpc-timeout`, and errors as `grpc-status-details-bin` (see
 * `toGrpcStatus`).
 */
export const METADATA = {
  /** W3C Trace Context parent. */
  traceparent: "traceparent",
  /** W3C Trace Context vendor state. */
  tracestate: "tracestate",
  /** The calling service's name. */
  caller: "flotilla-caller",
  /** Makes a non-idempotent call safe to retry (1 to 255 visible ASCII characters). */
  idempotencyKey: "idempotency-key",
} as const;
