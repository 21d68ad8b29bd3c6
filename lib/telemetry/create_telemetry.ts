/**
 * One call that sets a service's telemetry up from the standard `OTEL_*`
 * variables: registry, Flotilla metrics, process metrics, tracer, exporter
 * and the hooks for the host, the client pipeline and the bus.
 *
 * @module
 */

import type { Clock } from "@flotilla/core";
import type { Bus } from "@flotilla/bus";
import type { CallObserver, PipelineEvent } from "@flotilla/client";
import { BatchSpanProcessor, type SpanExporter } from "./batch_span_processor.ts";
import { clientObserver } from "./client_observer.ts";
import { createFlotillaMetrics, type FlotillaMetrics } from "./flotilla_metrics.ts";
import { instrumentBus } from "./instrument_bus.ts";
import { metricsResponse } from "./metrics_response.ts";
import { denoEnv, type EnvReader, readOtelConfig } from "./otel_config.ts";
import { OtlpGrpcExporter } from "./otlp_grpc_exporter.ts";
import { OtlpHttpExporter } from "./otlp_http_exporter.ts";
import { pipelineEventRecorder } from "./pipeline_event_recorder.ts";
import { type ProcessMetrics, registerProcessMetrics } from "./process_metrics.ts";
import { Registry } from "./registry.ts";
import type { Sampler } from "./sampler.ts";
import { type InboundObserver, serverObserver } from "./server_observer.ts";
import { Tracer } from "./tracer.ts";

/** Options of {@link createTelemetry}. */
export interface TelemetryOptions {
  /** The service's name: `service.name` unless `OTEL_SERVICE_NAME` says otherwise. */
  service: string;
  /** The instance id (`FLOTILLA_INSTANCE_ID`), exported as `service.instance.id`. */
  instance?: string;
  /** Where `OTEL_*` variables are read. @default {denoEnv} */
  env?: EnvReader;
  /** The registry to fill. @default {a new Registry} */
  registry?: Registry;
  /** Registers the process metrics and starts the lag sampler. @default {true} */
  processMetrics?: boolean;
  /** Replaces the OTLP exporter (tests). */
  exporter?: SpanExporter;
  /** Replaces the sampler of `OTEL_TRACES_SAMPLER`. */
  sampler?: Sampler;
  /** The `fetch` of the OTLP exporter. @default {globalThis.fetch} */
  fetch?: typeof fetch;
  /** Transport name of outbound calls, for client spans. @default {"http"} */
  transport?: string;
  /** Clock of spans and durations. @default {hrClock} */
  clock?: Clock;
}

/** A service's telemetry. Dispose it on shutdown: it flushes the spans still queued. */
export interface Telemetry extends AsyncDisposable {
  /** The metrics registry `/metrics` renders. */
  readonly registry: Registry;
  /** The Flotilla instruments. */
  readonly metrics: FlotillaMetrics;
  /** The tracer. */
  readonly tracer: Tracer;
  /** The hook for `ServiceHost`: server spans and metrics. */
  readonly inbound: InboundObserver;
  /** The hook for the client pipeline: client spans and metrics. */
  readonly callObserver: CallObserver;
  /** The pipeline's `onEvent`: breaker, retry and rejection metrics. */
  readonly onPipelineEvent: (event: PipelineEvent) => void;
  /** Wraps a bus with producer and consumer spans and metrics. */
  instrumentBus(bus: Bus): Bus;
  /** The answer to `GET /metrics`. */
  metricsResponse(): Promise<Response>;
  /** Exports the spans queued now. */
  flush(): Promise<void>;
  /** Flushes, stops the exporter and the lag sampler. Idempotent. */
  shutdown(): Promise<void>;
}

/**
 * Builds a service's telemetry from the `OTEL_*` variables (see
 * {@link readOtelConfig}). Metrics always work; spans are exported only
 * unless `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` (trace ids
 * are still propagated and logged then).
 *
 * @example
 * ```ts ignore
 * await using telemetry = createTelemetry({ service: "order" });
 * const host = new ServiceHost(service, { inbound: telemetry.inbound }); // once the host has the hook
 * ```
 *
 * @throws {RangeError} when an `OTEL_*` variable is invalid.
 */
export function createTelemetry(options: TelemetryOptions): Telemetry {
  const config = readOtelConfig(options.env ?? denoEnv, options.service);
  const registry = options.registry ?? new Registry();
  const metrics = createFlotillaMetrics(registry);
  let sampler: ProcessMetrics | undefined;
  if (options.processMetrics ?? true) sampler = registerProcessMetrics(registry);
  let processor: BatchSpanProcessor | undefined;
  if (!config.disabled) {
    const resource = {
      ...config.resource,
      ...(options.instance ? { "service.instance.id": options.instance } : {}),
      "telemetry.sdk.name": "@flotilla/telemetry",
      "telemetry.sdk.version": "0.1.0",
      "process.runtime.name": "deno",
      "process.runtime.version": Deno.version.deno,
    };
    const common = {
      url: config.url,
      headers: config.headers,
      resource,
      timeoutMs: config.timeoutMs,
      compression: config.compression,
    };
    const exporter = options.exporter ??
      (config.protocol === "grpc" ? new OtlpGrpcExporter(common) : new OtlpHttpExporter({
        ...common,
        protocol: config.protocol,
        ...(options.fetch ? { fetch: options.fetch } : {}),
      }));
    processor = new BatchSpanProcessor(exporter, {
      ...config.batch,
      onDrop: (n) => metrics.spansDropped.inc(undefined, n),
      onExport: (n) => metrics.spansExported.inc(undefined, n),
      onExportError: (_error, n) => metrics.spanExportFailures.inc(undefined, n),
    });
  }
  const tracer = new Tracer({
    processor,
    sampler: options.sampler ?? config.sampler,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const clock = options.clock ? { clock: options.clock } : {};
  let stopping: Promise<void> | undefined;
  const shutdown = () =>
    stopping ??= (async () => {
      sampler?.stop();
      await processor?.shutdown();
    })();
  return {
    registry,
    metrics,
    tracer,
    inbound: serverObserver({ tracer, metrics, ...clock }),
    callObserver: clientObserver({
      tracer,
      metrics,
      ...clock,
      ...(options.transport ? { transport: options.transport } : {}),
    }),
    onPipelineEvent: pipelineEventRecorder(metrics),
    instrumentBus: (bus) => instrumentBus(bus, { tracer, metrics, ...clock }),
    metricsResponse: () => metricsResponse(registry),
    flush: async () => {
      await processor?.forceFlush();
    },
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}
