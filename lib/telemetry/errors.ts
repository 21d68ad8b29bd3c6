/**
 * The errors of `@flotilla/telemetry` a caller may want to catch.
 *
 * @module
 */

import { FlotillaError } from "@flotilla/core";

/**
 * An OTLP collector refused or did not answer an export. Retryable for
 * 429, 502, 503 and 504 and for network failures, as the OTLP specification
 * says; the batch processor drops the batch either way and counts it.
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
  /** The HTTP status, when the collector answered. */
  readonly status: number | undefined;

  /** Creates the error for an export to `url`. */
  constructor(url: string, options: { status?: number; cause?: unknown } = {}) {
    const status = options.status;
    super(
      "OTLP_EXPORT_FAILED",
      status === undefined
        ? `Cannot export spans to ${url}: the collector did not answer`
        : `Cannot export spans to ${url}: the collector answered ${status}`,
      {
        kind: "UNAVAILABLE",
        retryable: status === undefined || [429, 502, 503, 504].includes(status),
        data: status === undefined ? { url } : { url, status },
        cause: options.cause,
      },
    );
    this.name = "OtlpExportError";
    this.status = status;
  }
}
