/**
 * An OTLP/gRPC span exporter: `TraceService/Export` on a collector's gRPC
 * port (4317), the same `ExportTraceServiceRequest` bytes the OTLP/HTTP
 * exporter posts.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { decodePartialSuccess, encodeProto, type PartialSuccess } from "./_otlp.ts";
import { type ExportPlan, exportPlan, type SendFailure, sendWithRetry } from "./_export_retry.ts";
import type { ExportResult, SpanExporter } from "./batch_span_processor.ts";
import { OtlpExportError } from "./errors.ts";
import type { OtlpCompression, OtlpRetryOptions } from "./otlp_http_exporter.ts";
import type { Attributes, SpanData } from "./span.ts";

type Grpc = typeof import("@grpc/grpc-js");
type GrpcClient = import("@grpc/grpc-js").Client;

/** Options of {@link OtlpGrpcExporter}. */
export interface OtlpGrpcExporterOptions {
  /**
   * The collector, `http://host:port` (plaintext) or `https://host:port`
   * (TLS), e.g. `http://127.0.0.1:4317`; a path is ignored.
   */
  url: string;
  /** Metadata sent with every export (`OTEL_EXPORTER_OTLP_HEADERS`), e.g. an API key. */
  headers?: Readonly<Record<string, string>>;
  /** Resource attributes: `service.name` and the rest. @default {{}} */
  resource?: Readonly<Attributes>;
  /** How long one export may take, retries included, in ms (`OTEL_EXPORTER_OTLP_TIMEOUT`). @default {10000} */
  timeoutMs?: number;
  /** Message compression (`OTEL_EXPORTER_OTLP_COMPRESSION`). @default {"none"} */
  compression?: OtlpCompression;
  /** Retries of transient failures (UNAVAILABLE, DEADLINE_EXCEEDED…). @default {{ maxAttempts: 5 }} */
  retry?: OtlpRetryOptions;
  /** Source of the backoff's jitter, in [0, 1). @default {Math.random} */
  random?: () => number;
}

const EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const SCOPE = { name: "@flotilla/telemetry", version: "0.1.0" };
// The request is encoded already; the answer (ExportTraceServiceResponse) is read for a partial success.
const asIs = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const bytesOf = (buffer: Buffer) => new Uint8Array(buffer);

/**
 * Sends spans to an OpenTelemetry collector (or Jaeger, Tempo…) over
 * OTLP/gRPC, optionally gzip-compressed, on one HTTP/2 connection kept
 * between exports. A transient failure — CANCELLED, DEADLINE_EXCEEDED,
 * ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS, or no connection — is
 * retried with exponential backoff and full jitter until
 * `retry.maxAttempts` calls were made, `timeoutMs` passed since the export
 * began, or the export's signal aborts. Then, or on any other status, it
 * rejects with {@link OtlpExportError} (its `grpcCode` set). `@grpc/grpc-js`
 * is loaded on the first export, so a process that exports over HTTP never
 * loads it.
 *
 * @example
 * ```ts
 * import { OtlpGrpcExporter } from "@flotilla/telemetry";
 *
 * const exporter = new OtlpGrpcExporter({
 *   url: "http://127.0.0.1:4317",
 *   compression: "gzip",
 *   resource: { "service.name": "order" },
 * });
 * ```
 */
export class OtlpGrpcExporter implements SpanExporter {
  /** Where spans are sent. */
  readonly url: string;
  readonly #target: string;
  readonly #tls: boolean;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #resource: Readonly<Attributes>;
  readonly #plan: ExportPlan;
  #client: Promise<{ grpc: Grpc; client: GrpcClient }> | undefined;

  /**
   * Creates the exporter; connects on the first export.
   *
   * @throws {RangeError} for a URL that is not `http:`/`https:` with a host, or a bad option.
   */
  constructor(options: OtlpGrpcExporterOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      url = new URL("invalid:");
    }
    if ((url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "") {
      throw new RangeError(
        `Cannot create the OTLP/gRPC exporter as 'url' must be an http: or https: URL: current value is "${options.url}"`,
      );
    }
    this.url = options.url;
    this.#tls = url.protocol === "https:";
    this.#target = `${url.hostname}:${url.port === "" ? (this.#tls ? 443 : 80) : url.port}`;
    this.#plan = exportPlan(options);
    this.#headers = options.headers ?? {};
    this.#resource = options.resource ?? {};
  }

  /**
   * Calls `Export` with one `ExportTraceServiceRequest` holding `spans`,
   * retrying transient failures; resolves with the collector's
   * `partial_success` when it rejected some spans.
   */
  async export(
    spans: readonly SpanData[],
    signal?: AbortSignal,
  ): Promise<ExportResult | undefined> {
    if (spans.length === 0) return;
    const body = encodeProto(spans, this.#resource, SCOPE);
    const { grpc, client } = await this.#connection();
    const metadata = new grpc.Metadata();
    for (const [key, value] of Object.entries(this.#headers)) {
      metadata.set(key.toLowerCase(), value);
    }
    return await sendWithRetry(
      (stop) => this.#call(client, body, metadata, stop),
      this.#plan,
      signal,
    );
  }

  /** Closes the connection. */
  async shutdown(): Promise<void> {
    const connection = this.#client;
    this.#client = undefined;
    (await connection?.catch(() => undefined))?.client.close();
  }

  #connection(): Promise<{ grpc: Grpc; client: GrpcClient }> {
    this.#client ??= import("@grpc/grpc-js").then((grpc) => ({
      grpc,
      client: new grpc.Client(
        this.#target,
        this.#tls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure(),
        {
          // No proxy from the environment: a service may read only the variables it is granted.
          "grpc.enable_http_proxy": 0,
          ...(this.#plan.gzip ? { "grpc.default_compression_algorithm": 2 } : {}),
        },
      ),
    }));
    this.#client.catch(() => (this.#client = undefined));
    return this.#client;
  }

  #call(
    client: GrpcClient,
    body: Uint8Array,
    metadata: import("@grpc/grpc-js").Metadata,
    stop: AbortSignal,
  ): Promise<SendFailure | PartialSuccess | undefined> {
    return new Promise((resolve) => {
      if (stop.aborted) {
        resolve({ error: new OtlpExportError(this.url, { cause: stop.reason }) });
        return;
      }
      const call = client.makeUnaryRequest(
        EXPORT,
        asIs,
        bytesOf,
        body,
        metadata,
        (error, answer) => {
          stop.removeEventListener("abort", cancel);
          if (error === null) return resolve(answer && decodePartialSuccess(answer));
          resolve({
            error: new OtlpExportError(this.url, {
              grpcCode: error.code,
              details: error.details,
              cause: error,
            }),
          });
        },
      );
      const cancel = () => call.cancel();
      stop.addEventListener("abort", cancel, { once: true });
    });
  }
}
