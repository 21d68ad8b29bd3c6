/**
 * The wire form of a Flotilla call over NATS.
 *
 * A request is published on the action's subject (see `natsRpcSubject`) with
 * a reply subject, a JSON body `{"input": …}` and these NATS headers, the
 * same names and meanings as over HTTP:
 *
 * | header                | value                                           |
 * | --------------------- | ----------------------------------------------- |
 * | `traceparent`         | the caller's W3C trace context                  |
 * | `tracestate`          | vendor trace state, when there is one           |
 * | `flotilla-timeout-ms` | milliseconds the caller still waits (relative)  |
 * | `flotilla-caller`     | the calling service's name                      |
 * | `idempotency-key`     | the caller's idempotency key, when it sent one  |
 *
 * The reply is a JSON {@link NatsRpcReply}: `{"ok": true, "output": …}`, or
 * `{"ok": false, "error": {code, kind, message, retryable, issues, data}}` —
 * the fields of a {@link FlotillaError}, as problem+json carries them over
 * HTTP. `"refused": true` beside an error says the instance turned the call
 * down before running anything (it was starting or draining), so the caller
 * may send it again elsewhere whatever the action.
 *
 * @module
 */

import {
  asFlotillaError,
  type ErrorKind,
  type FieldIssue,
  FlotillaError,
  type FlotillaErrorOptions,
  httpStatusOf,
} from "@flotilla/core";

/** The NATS header names of a request, lowercase like their HTTP twins. */
export const NATS_RPC_HEADERS = {
  /** W3C Trace Context parent. */
  traceparent: "traceparent",
  /** W3C Trace Context vendor state. */
  tracestate: "tracestate",
  /** Milliseconds the caller will still wait: the callee's deadline. */
  timeout: "flotilla-timeout-ms",
  /** The calling service's name. */
  caller: "flotilla-caller",
  /** The caller's idempotency key. */
  idempotencyKey: "idempotency-key",
} as const;

/** A {@link FlotillaError} as it travels in a reply. */
export interface WireError {
  /** Stable machine-readable code, e.g. `ORDER_NOT_FOUND`. */
  code: string;
  /** Canonical category. */
  kind: ErrorKind;
  /** Explanation for humans. */
  message: string;
  /** Whether retrying the same call may succeed. */
  retryable: boolean;
  /** Field-level problems (empty unless a validation error). */
  issues: FieldIssue[];
  /** Machine-readable details. */
  data?: Record<string, unknown>;
  /** The HTTP status, only when it is not the one the kind implies (413, 405…). */
  httpStatus?: number;
  /** Trace id of the failed call, to find its logs. */
  traceId?: string;
}

/** The body of a reply, discriminated on `ok`. */
export type NatsRpcReply =
  | {
    /** The call succeeded… */
    ok: true;
    /** …with this output (absent for none). */
    output?: unknown;
  }
  | {
    /** The call failed… */
    ok: false;
    /** …with this error. */
    error: WireError;
    /** The instance turned the call down before running anything: safe to send elsewhere. */
    refused?: boolean;
  };

/**
 * The wire form of any thrown value. Anything but a {@link FlotillaError}
 * becomes `INTERNAL` with a generic message, so no stack or secret leaks.
 *
 * @example
 * ```ts
 * import { NotFoundError } from "@flotilla/core";
 *
 * toWireError(new NotFoundError("ORDER_NOT_FOUND", "No order o-1")).kind; // "NOT_FOUND"
 * ```
 */
export function toWireError(error: unknown, traceId?: string): WireError {
  const known = asFlotillaError(error);
  const wire: WireError = {
    code: known.code,
    kind: known.kind,
    message: known.message,
    retryable: known.retryable,
    issues: known.issues.map((issue) => ({ pointer: issue.pointer, message: issue.message })),
  };
  if (known.data !== undefined) wire.data = { ...known.data };
  if (known.httpStatus !== httpStatusOf(known.kind)) wire.httpStatus = known.httpStatus;
  if (traceId !== undefined) wire.traceId = traceId;
  return wire;
}

/**
 * Rebuilds the {@link FlotillaError} a peer replied with. It is a plain
 * `FlotillaError` (not the subclass the peer threw), like an error rebuilt
 * from problem+json: a relayed `CONNECTION_REFUSED` must not pass for the
 * caller's own proof that nothing was sent.
 */
export function fromWireError(wire: unknown): FlotillaError {
  const body = (typeof wire === "object" && wire !== null ? wire : {}) as Partial<WireError>;
  const kind: ErrorKind = isErrorKind(body.kind) ? body.kind : "UNKNOWN";
  const code = typeof body.code === "string" ? body.code : kind;
  const message = typeof body.message === "string" ? body.message : "Remote error";
  const options: FlotillaErrorOptions = {
    kind,
    issues: Array.isArray(body.issues)
      ? body.issues.filter((issue) => typeof issue?.pointer === "string").map((issue) => ({
        pointer: issue.pointer,
        message: String(issue.message),
      }))
      : [],
  };
  if (typeof body.retryable === "boolean") options.retryable = body.retryable;
  if (typeof body.data === "object" && body.data !== null) options.data = body.data;
  if (typeof body.httpStatus === "number") options.httpStatus = body.httpStatus;
  return new FlotillaError(code, message, options);
}

const KINDS: ReadonlySet<string> = new Set<ErrorKind>([
  "INVALID_ARGUMENT",
  "FAILED_PRECONDITION",
  "OUT_OF_RANGE",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "ABORTED",
  "UNAUTHENTICATED",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "CANCELLED",
  "DEADLINE_EXCEEDED",
  "UNAVAILABLE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNKNOWN",
]);

function isErrorKind(value: unknown): value is ErrorKind {
  return typeof value === "string" && KINDS.has(value);
}
