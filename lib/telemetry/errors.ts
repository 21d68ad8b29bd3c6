/**
 * The errors of `@flotilla/telemetry` a caller may want to catch.
 *
 * @module
 */

import { FlotillaError } from "@flotilla/core";

/**
 * An OTLP collector refused or did not answer an export. Retryable, as the
 * OTLP specification says, for HTTP 429, 502, 503 and 504, for the gRPC
 * codes CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE and
 * DATA_LOSS, and for network failures; the exporter has retried those
 * already, and the batch processor drops the batch and counts it.
 *
 * @example
 * ```ts
 * import { OtlpExportError } from "@flotilla/telemetry";
 *
 * const error = new OtlpExportError("http://127.0.0.1:4318/v1/traces", { status: 503 });
 * error.retryable; // true
 * ```
 */
export class OtlpExportError extends FlotillaError {
  /** The HTTP status, when the collector answered over OTLP/HTTP. */
  readonly status: number | undefined;
  /** The gRPC status code, when the collector answered over OTLP/gRPC. */
  readonly grpcCode: number | undefined;

  /** Creates the error for an export to `url`. */
  constructor(
    url: string,
    options: { status?: number; grpcCode?: number; details?: string; cause?: unknown } = {},
  ) {
    const { status, grpcCode } = options;
    super(
      "OTLP_EXPORT_FAILED",
      status !== undefined
        ? `Cannot export spans to ${url}: the collector answered ${status}`
        : grpcCode !== undefined
        ? `Cannot export spans to ${url}: the collector answered gRPC status ${grpcCode}${
          options.details ? ` (${options.details})` : ""
        }`
        : `Cannot export spans to ${url}: the collector did not answer`,
      {
        kind: "UNAVAILABLE",
        retryable: status !== undefined
          ? RETRYABLE_STATUS.has(status)
          : grpcCode !== undefined
          ? RETRYABLE_GRPC_CODES.has(grpcCode)
          : true,
        data: {
          url,
          ...(status === undefined ? {} : { status }),
          ...(grpcCode === undefined ? {} : { grpcCode }),
        },
        cause: options.cause,
      },
    );
    this.name = "OtlpExportError";
    this.status = status;
    this.grpcCode = grpcCode;
  }
}

const RETRYABLE_STATUS: ReadonlySet<number> = new Set([429, 502, 503, 504]);
// CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS (RESOURCE_EXHAUSTED
// only with a RetryInfo, which this exporter does not read).
const RETRYABLE_GRPC_CODES: ReadonlySet<number> = new Set([1, 4, 10, 11, 14, 15]);

/**
 * The receiver took an export but rejected some of its spans (an OTLP
 * `partial_success`): those are lost, and not sent again.
 *
 * @example
 * ```ts
 * import { SpansRejectedError } from "@flotilla/telemetry";
 *
 * const error = new SpansRejectedError(3, "spans too old");
 * error.rejected; // 3
 * ```
 */
export class SpansRejectedError extends FlotillaError {
  /** How many spans were rejected. */
  readonly rejected: number;

  /** Creates the error for `rejected` spans refused for `message`. */
  constructor(rejected: number, message: string) {
    super(
      "OTLP_SPANS_REJECTED",
      `The collector rejected ${rejected} span(s)${message ? `: ${message}` : ""}`,
      { kind: "INVALID_ARGUMENT", data: { rejected, message } },
    );
    this.name = "SpansRejectedError";
    this.rejected = rejected;
  }
}
