/**
 * The wire form of Flotilla errors over gRPC, both ways.
 *
 * An error's `kind` becomes the gRPC status code (`FAILED_PRECONDITION` →
 * 9, `UNAVAILABLE` → 14…) and its message the status message. Everything
 * else travels in the standard rich-error trailer `grpc-status-details-bin`:
 * a `google.rpc.Status` whose details hold a `google.rpc.ErrorInfo` (reason:
 * our stable `code`; domain `flotilla`; metadata: `kind`, `retryable`,
 * `data` as JSON, `http_status`, `trace_id`) and, when the error names
 * fields, a `google.rpc.BadRequest` with one violation per field. Any gRPC
 * client can read the code and message; one that knows the rich error model
 * (or this package) gets the rest.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import {
  asFlotillaError,
  type ErrorKind,
  type FieldIssue,
  fieldName,
  FlotillaError,
  type FlotillaErrorOptions,
  httpStatusOf,
} from "@flotilla/core";
import { decodeMessage, encodeMessage, toBuffer } from "./_codec.ts";
import { internalPlan } from "./_proto_set.ts";

/** The gRPC status code of each error kind (`OK` is 0). */
export const GRPC_STATUS_CODES: Readonly<Record<ErrorKind, number>> = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
};

const KINDS_BY_CODE = new Map<number, ErrorKind>(
  Object.entries(GRPC_STATUS_CODES).map(([kind, code]) => [code, kind as ErrorKind]),
);
// DATA_LOSS (15) has no kind of its own: it is an internal failure.
KINDS_BY_CODE.set(15, "INTERNAL");

/** The domain of the `ErrorInfo` of Flotilla errors. */
export const ERROR_DOMAIN = "flotilla";

/** The trailer that carries the rich error (`google.rpc.Status`). */
export const STATUS_DETAILS_KEY = "grpc-status-details-bin";

const ERROR_INFO_URL = "type.googleapis.com/google.rpc.ErrorInfo";
const BAD_REQUEST_URL = "type.googleapis.com/google.rpc.BadRequest";

/** The gRPC status code an error kind is sent with. */
export function grpcStatusOf(kind: ErrorKind): number {
  return GRPC_STATUS_CODES[kind];
}

/** The error kind a gRPC status code stands for (`UNKNOWN` for codes gRPC does not define). */
export function kindOfGrpcStatus(code: number): ErrorKind {
  return KINDS_BY_CODE.get(code) ?? "UNKNOWN";
}

/** Metadata of a status: what `Metadata` of grpc-js offers for reading. */
export interface GrpcStatusMetadata {
  /** The values of `key` (binary keys, ending in `-bin`, hold bytes). */
  get(key: string): Array<string | Uint8Array>;
}

/** A non-OK gRPC status. */
export interface GrpcErrorStatus {
  /** The status code. */
  code: number;
  /** The status message. */
  details: string;
  /** Trailing metadata. */
  metadata: GrpcStatusMetadata;
}

/**
 * The status a server sends for any thrown value. Unknown errors become
 * `INTERNAL` with a generic message, so no stack or secret leaks.
 *
 * @example
 * ```ts
 * import { FlotillaError } from "@flotilla/core";
 * const status = toGrpcStatus(new FlotillaError("OUT_OF_STOCK", "No tea", { kind: "FAILED_PRECONDITION" }));
 * status.code; // 9
 * ```
 */
export function toGrpcStatus(error: unknown, extra: { traceId?: string } = {}): GrpcErrorStatus {
  return serverError(error, extra);
}

/** {@link toGrpcStatus} with grpc-js's own metadata type, for its callbacks. */
export function serverError(
  error: unknown,
  extra: { traceId?: string } = {},
): { code: number; details: string; metadata: grpc.Metadata } {
  const known = asFlotillaError(error);
  const info: Record<string, string> = {
    kind: known.kind,
    retryable: String(known.retryable),
  };
  if (known.data !== undefined) info.data = JSON.stringify(known.data);
  if (known.httpStatus !== httpStatusOf(known.kind)) info.http_status = String(known.httpStatus);
  if (extra.traceId !== undefined) info.trace_id = extra.traceId;
  const details = [{
    typeUrl: ERROR_INFO_URL,
    value: encodeMessage(internalPlan("google.rpc.ErrorInfo"), {
      reason: known.code,
      domain: ERROR_DOMAIN,
      metadata: info,
    }),
  }];
  if (known.issues.length > 0) {
    details.push({
      typeUrl: BAD_REQUEST_URL,
      value: encodeMessage(internalPlan("google.rpc.BadRequest"), {
        fieldViolations: known.issues.map((issue) => ({
          field: issue.pointer === "" ? "" : fieldName(issue.pointer),
          description: issue.message,
        })),
      }),
    });
  }
  const code = grpcStatusOf(known.kind);
  const metadata = new grpc.Metadata();
  metadata.set(
    STATUS_DETAILS_KEY,
    toBuffer(encodeMessage(internalPlan("google.rpc.Status"), {
      code,
      message: known.message,
      details,
    })),
  );
  return { code, details: known.message, metadata };
}

/**
 * Rebuilds the {@link FlotillaError} a Flotilla server sent, from the rich
 * error in its trailers; `undefined` when the status carries none (it came
 * from another kind of server, or from the client library itself).
 *
 * @example
 * ```ts
 * const error = fromGrpcStatus(status); // FlotillaError "OUT_OF_STOCK", kind FAILED_PRECONDITION
 * ```
 */
export function fromGrpcStatus(status: GrpcErrorStatus): FlotillaError | undefined {
  const raw = status.metadata.get(STATUS_DETAILS_KEY)[0];
  if (raw === undefined || typeof raw === "string") return undefined;
  let decoded: { message?: string; details?: Array<{ typeUrl?: string; value?: Uint8Array }> };
  try {
    decoded = decodeMessage(internalPlan("google.rpc.Status"), raw) as typeof decoded;
  } catch {
    return undefined;
  }
  let info: { reason: string; domain: string; metadata: Record<string, string> } | undefined;
  const issues: FieldIssue[] = [];
  for (const detail of decoded.details ?? []) {
    try {
      if (detail.typeUrl === ERROR_INFO_URL && detail.value) {
        info = decodeMessage(internalPlan("google.rpc.ErrorInfo"), detail.value) as typeof info;
      } else if (detail.typeUrl === BAD_REQUEST_URL && detail.value) {
        const bad = decodeMessage(internalPlan("google.rpc.BadRequest"), detail.value) as {
          fieldViolations: Array<{ field: string; description: string }>;
        };
        for (const violation of bad.fieldViolations) {
          issues.push({ pointer: pointerOf(violation.field), message: violation.description });
        }
      }
    } catch {
      // A detail we cannot read is skipped; the code and message still stand.
    }
  }
  if (!info || info.domain !== ERROR_DOMAIN) return undefined;
  const meta = info.metadata;
  const kind = isKind(meta.kind) ? meta.kind : kindOfGrpcStatus(status.code);
  const options: FlotillaErrorOptions = { kind, issues };
  if (meta.retryable === "true" || meta.retryable === "false") {
    options.retryable = meta.retryable === "true";
  }
  if (meta.http_status !== undefined && /^\d{3}$/.test(meta.http_status)) {
    options.httpStatus = Number(meta.http_status);
  }
  if (meta.data !== undefined) {
    try {
      const data = JSON.parse(meta.data);
      if (typeof data === "object" && data !== null) options.data = data;
    } catch { /* not JSON: left out */ }
  }
  const message = status.details || decoded.message || info.reason;
  return new FlotillaError(info.reason || kind, message, options);
}

/** `items[0].sku` → `/items/0/sku`: the JSON Pointer of a field path. */
export function pointerOf(field: string): string {
  if (field === "" || field === "(body)") return "";
  return field.split(/\.|\[(\d+)\]/).filter((part) => part !== undefined && part !== "").map((
    part,
  ) => "/" + part.replaceAll("~", "~0").replaceAll("/", "~1")).join("");
}

function isKind(value: unknown): value is ErrorKind {
  return typeof value === "string" && Object.hasOwn(GRPC_STATUS_CODES, value);
}
