/**
 * An OTLP/HTTP span exporter (JSON or protobuf), written against the OTLP
 * 1.x specification: `POST {endpoint}/v1/traces`.
 *
 * @module
 */

import { encodeJson, encodeProto } from "./_otlp.ts";
import type { SpanExporter } from "./batch_span_processor.ts";
import { OtlpExportError } from "./errors.ts";
import type { Attributes, SpanData } from "./span.ts";

/** The OTLP/HTTP encodings this exporter speaks. */
export type OtlpProtocol = "http/protobuf" | "http/json";

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
  /** Per-request timeout in milliseconds (`OTEL_EXPORTER_OTLP_TIMEOUT`). @default {10000} */
  timeoutMs?: number;
}

const SCOPE = { name: "@flotilla/telemetry", version: "0.1.0" };

/**
 * Sends spans to an OpenTelemetry collector (or Jaeger, Tempo…) over
 * OTLP/HTTP. A non-2xx answer or a network failure rejects with
 * {@link OtlpExportError}; no retry (the batch processor moves on).
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
  readonly #timeoutMs: number;

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
    const timeoutMs = options.timeoutMs ?? 10_000;
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
      throw new RangeError(
        `Cannot create the OTLP exporter as 'timeoutMs' must be a positive number: current value is ${timeoutMs}`,
      );
    }
    this.#timeoutMs = timeoutMs;
    this.#headers = {
      ...options.headers,
      "content-type": this.protocol === "http/json" ? "application/json" : "application/x-protobuf",
    };
    this.#resource = options.resource ?? {};
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  /** Posts one `ExportTraceServiceRequest` holding `spans`. */
  async export(spans: readonly SpanData[], signal?: AbortSignal): Promise<void> {
    if (spans.length === 0) return;
    const body = this.protocol === "http/json"
      ? encodeJson(spans, this.#resource, SCOPE)
      : encodeProto(spans, this.#resource, SCOPE);
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    let response: Response;
    try {
      response = await this.#fetch(this.url, {
        method: "POST",
        headers: this.#headers,
        body,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (cause) {
      throw new OtlpExportError(this.url, { cause });
    }
    // Read the body so the connection can be reused.
    await response.arrayBuffer().catch(() => {});
    if (!response.ok) throw new OtlpExportError(this.url, { status: response.status });
  }
}
