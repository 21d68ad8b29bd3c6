/**
 * An OTLP/HTTP span exporter (JSON or protobuf), written against the OTLP
 * 1.x specification: `POST {endpoint}/v1/traces`.
 *
 * @module
 */

import {
  decodePartialSuccess,
  encodeJson,
  encodeProto,
  parsePartialSuccess,
  type PartialSuccess,
} from "./_otlp.ts";
import { type ExportPlan, exportPlan, type SendFailure, sendWithRetry } from "./_export_retry.ts";
import type { ExportResult, SpanExporter } from "./batch_span_processor.ts";
import { OtlpExportError } from "./errors.ts";
import type { Attributes, SpanData } from "./span.ts";

/** The OTLP/HTTP encodings this exporter speaks. */
export type OtlpProtocol = "http/protobuf" | "http/json";

/** How the request body is compressed (`OTEL_EXPORTER_OTLP_COMPRESSION`). */
export type OtlpCompression = "gzip" | "none";

/** How an export that failed for a transient reason is tried again. */
export interface OtlpRetryOptions {
  /** Requests per export, the first included; 1 turns retries off. @default {5} */
  maxAttempts?: number;
  /** Backoff before the first retry; doubled each time, with full jitter. @default {1000} */
  initialDelayMs?: number;
  /** Longest backoff between two requests. @default {5000} */
  maxDelayMs?: number;
}

/** Options of {@link OtlpHttpExporter}. */
export interface OtlpHttpExporterOptions {
  /** The traces URL, e.g. `http://127.0.0.1:4318/v1/traces`. */
  url: string;
  /** The encoding. @default {"http/protobuf"} */
  protocol?: OtlpProtocol;
  /** Extra headers (`OTEL_EXPORTER_OTLP_HEADERS`), e.g. an API key. */
  headers?: Readonly<Record<string, string>>;
  /** Resource attributes: `service.name` and the rest. @default {{}} */
  resource?: Readonly<Attributes>;
  /** The `fetch` to send with. @default {globalThis.fetch} */
  fetch?: typeof fetch;
  /** How long one export may take, retries included, in ms (`OTEL_EXPORTER_OTLP_TIMEOUT`). @default {10000} */
  timeoutMs?: number;
  /** Body compression (`OTEL_EXPORTER_OTLP_COMPRESSION`). @default {"none"} */
  compression?: OtlpCompression;
  /** Retries of transient failures (429, 502, 503, 504, no answer). @default {{ maxAttempts: 5 }} */
  retry?: OtlpRetryOptions;
  /** Source of the backoff's jitter, in [0, 1). @default {Math.random} */
  random?: () => number;
}

const SCOPE = { name: "@flotilla/telemetry", version: "0.1.0" };

/**
 * Sends spans to an OpenTelemetry collector (or Jaeger, Tempo…) over
 * OTLP/HTTP, optionally gzip-compressed. A transient failure — 429, 502,
 * 503, 504, or no answer — is retried with exponential backoff and full
 * jitter, waiting as long as a `Retry-After` header asks instead, until
 * `retry.maxAttempts` requests were sent, `timeoutMs` passed since the
 * export began, or the export's signal aborts. Then, or on any other
 * non-2xx answer, it rejects with {@link OtlpExportError}.
 *
 * @example
 * ```ts
 * import { OtlpHttpExporter } from "@flotilla/telemetry";
 *
 * const exporter = new OtlpHttpExporter({
 *   url: "http://127.0.0.1:4318/v1/traces",
 *   protocol: "http/json",
 *   resource: { "service.name": "order" },
 * });
 * ```
 */
export class OtlpHttpExporter implements SpanExporter {
  /** Where spans are sent. */
  readonly url: string;
  /** The encoding. */
  readonly protocol: OtlpProtocol;
  readonly #headers: Record<string, string>;
  readonly #resource: Readonly<Attributes>;
  readonly #fetch: typeof fetch;
  readonly #plan: ExportPlan;

  /** Creates the exporter. */
  constructor(options: OtlpHttpExporterOptions) {
    try {
      new URL(options.url);
    } catch {
      throw new RangeError(
        `Cannot create the OTLP exporter as 'url' must be an absolute URL: current value is "${options.url}"`,
      );
    }
    this.url = options.url;
    this.protocol = options.protocol ?? "http/protobuf";
    if (this.protocol !== "http/protobuf" && this.protocol !== "http/json") {
      throw new RangeError(
        `Cannot create the OTLP exporter as 'protocol' must be "http/protobuf" or "http/json": current value is "${this.protocol}"`,
      );
    }
    this.#plan = exportPlan(options);
    this.#headers = {
      ...options.headers,
      "content-type": this.protocol === "http/json" ? "application/json" : "application/x-protobuf",
      ...(this.#plan.gzip ? { "content-encoding": "gzip" } : {}),
    };
    this.#resource = options.resource ?? {};
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  /**
   * Posts one `ExportTraceServiceRequest` holding `spans`, retrying transient
   * failures; resolves with the collector's `partialSuccess` when it rejected
   * some spans.
   */
  async export(
    spans: readonly SpanData[],
    signal?: AbortSignal,
  ): Promise<ExportResult | undefined> {
    if (spans.length === 0) return;
    const encoded = this.protocol === "http/json"
      ? encodeJson(spans, this.#resource, SCOPE)
      : encodeProto(spans, this.#resource, SCOPE);
    const body = this.#plan.gzip ? await gzip(encoded) : encoded;
    return await sendWithRetry((stop) => this.#post(body, stop), this.#plan, signal);
  }

  /** One request: nothing when it was taken, else why not and how long the collector asks to wait. */
  async #post(
    body: BodyInit,
    signal: AbortSignal,
  ): Promise<SendFailure | PartialSuccess | undefined> {
    let response: Response;
    try {
      response = await this.#fetch(this.url, {
        method: "POST",
        headers: this.#headers,
        body,
        signal,
      });
    } catch (cause) {
      return { error: new OtlpExportError(this.url, { cause }), retryAfterMs: undefined };
    }
    // Read the body so the connection can be reused, and for a partial success.
    const answer = new Uint8Array(await response.arrayBuffer().catch(() => new ArrayBuffer(0)));
    if (response.ok) {
      return this.protocol === "http/json"
        ? parsePartialSuccess(new TextDecoder().decode(answer))
        : decodePartialSuccess(answer);
    }
    const error = new OtlpExportError(this.url, { status: response.status });
    const retryAfterMs = error.retryable
      ? parseRetryAfter(response.headers.get("retry-after"), Date.now())
      : undefined;
    return { error, retryAfterMs };
  }
}

/**
 * The wait a `Retry-After` header asks for, in ms: delay-seconds or an
 * HTTP date; `undefined` when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/ GMT$/.test(text)) return undefined; // an HTTP date is always in GMT
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

async function gzip(data: string | Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([data]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
