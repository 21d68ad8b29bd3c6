/**
 * Telemetry for Flotilla services: Prometheus metrics and OpenTelemetry
 * traces, built on our own trace context so the ids we propagate over HTTP,
 * gRPC, NATS and CloudEvents are the ids exported.
 *
 * - **Metrics**: a {@link Registry} of {@link Counter}s, {@link Gauge}s and
 *   {@link Histogram}s rendered in the text exposition format 0.0.4
 *   ({@link metricsResponse} for `/metrics`), with a cap on label sets per
 *   metric; {@link registerProcessMetrics}; the Flotilla RED instruments
 *   ({@link createFlotillaMetrics}).
 * - **Traces**: a {@link Tracer} whose spans take their ids from a
 *   `TraceContext`, parent-based ratio {@link Sampler}s, a bounded
 *   {@link BatchSpanProcessor} and an {@link OtlpHttpExporter} (protobuf or
 *   JSON), configured by the standard `OTEL_*` variables
 *   ({@link readOtelConfig}).
 * - **Hooks**: {@link serverObserver} for the host, {@link clientObserver}
 *   for the client pipeline, {@link pipelineEventRecorder} for its breaker
 *   and retry events, {@link instrumentBus} for the bus.
 * - {@link createTelemetry} wires all of it for one service.
 *
 * @example
 * ```ts
 * import { newTrace } from "@flotilla/core";
 * import { createTelemetry } from "@flotilla/telemetry";
 *
 * await using telemetry = createTelemetry({
 *   service: "order",
 *   env: () => undefined, // read the OTEL_* variables from Deno.env by default
 *   processMetrics: false,
 * });
 * const call = telemetry.inbound.start({
 *   service: "order",
 *   action: "place",
 *   transport: "http",
 *   trace: newTrace(),
 * });
 * call.end(undefined);
 * const response = await telemetry.metricsResponse();
 * ```
 *
 * @module
 */

export {
  type Collector,
  PROMETHEUS_CONTENT_TYPE,
  Registry,
  type RegistryMetricOptions,
  type RegistryOptions,
} from "./registry.ts";
export type { Labels, Metric, MetricOptions, MetricType } from "./metric.ts";
export { Counter, type CounterChild } from "./counter.ts";
export { Gauge, type GaugeChild } from "./gauge.ts";
export {
  DEFAULT_BUCKETS,
  Histogram,
  type HistogramChild,
  type HistogramOptions,
} from "./histogram.ts";
export { metricsResponse } from "./metrics_response.ts";
export {
  type ProcessMetrics,
  type ProcessMetricsOptions,
  registerProcessMetrics,
} from "./process_metrics.ts";
export {
  BREAKER_STATE_VALUE,
  createFlotillaMetrics,
  type FlotillaMetrics,
  type OutboxStatsSource,
  outcomeOf,
  REQUEST_BUCKETS,
  SAGA_BUCKETS,
  watchOutbox,
} from "./flotilla_metrics.ts";
export {
  alwaysOff,
  alwaysOn,
  parentBased,
  type Sampler,
  samplerFromEnv,
  traceIdRatio,
} from "./sampler.ts";
export {
  type Attributes,
  type AttributeValue,
  NonRecordingSpan,
  RecordingSpan,
  type Span,
  type SpanData,
  type SpanEvent,
  type SpanKind,
  type SpanLink,
  type SpanProcessor,
  type SpanStatus,
} from "./span.ts";
export { type StartSpanOptions, Tracer, type TracerOptions } from "./tracer.ts";
export { hrClock } from "./hr_clock.ts";
export { InMemorySpanProcessor } from "./in_memory_span_processor.ts";
export {
  BatchSpanProcessor,
  type BatchSpanProcessorOptions,
  type ExportResult,
  type SpanExporter,
  unrefTimers,
} from "./batch_span_processor.ts";
export { OtlpGrpcExporter, type OtlpGrpcExporterOptions } from "./otlp_grpc_exporter.ts";
export {
  type OtlpCompression,
  OtlpHttpExporter,
  type OtlpHttpExporterOptions,
  type OtlpProtocol,
  type OtlpRetryOptions,
} from "./otlp_http_exporter.ts";
export {
  denoEnv,
  type EnvReader,
  OTEL_ENV_VARS,
  type OtelConfig,
  readOtelConfig,
} from "./otel_config.ts";
export {
  type InboundCall,
  type InboundObservation,
  type InboundObserver,
  serverObserver,
  type ServerObserverOptions,
} from "./server_observer.ts";
export { clientObserver, type ClientObserverOptions } from "./client_observer.ts";
export { pipelineEventRecorder } from "./pipeline_event_recorder.ts";
export {
  deliveryTrace,
  instrumentBus,
  type InstrumentBusOptions,
  type TracedDelivery,
} from "./instrument_bus.ts";
export { createTelemetry, type Telemetry, type TelemetryOptions } from "./create_telemetry.ts";
export { prometheusTargets, type ScrapedProcess, type TargetGroup } from "./prometheus_targets.ts";
export { OtlpExportError, SpansRejectedError } from "./errors.ts";

/** Re-exported from `@flotilla/core`: the clock, the trace context spans are built on, the base error. */
export type {
  Clock,
  ErrorKind,
  FieldIssue,
  FlotillaError,
  OutboundCall,
  TraceContext,
} from "@flotilla/core";
/** Re-exported from `@flotilla/discovery`: the instance behind a `PeerEndpoint`. */
export type { ServiceInstance } from "@flotilla/discovery";
/** Re-exported from `@flotilla/resilience`: the timers of the batch processor and the lag sampler. */
export type { Timers } from "@flotilla/resilience";
/** Re-exported from `@flotilla/client`: the pipeline hooks this package implements. */
export type {
  AttemptInfo,
  CallObservation,
  CallObserver,
  PeerEndpoint,
  PipelineEvent,
} from "@flotilla/client";
/** Re-exported from `@flotilla/bus`: what {@link instrumentBus} wraps. */
export type {
  Bus,
  CloudEvent,
  DeadLetter,
  Delivery,
  DeliveryHandler,
  PublishOptions,
  PublishReceipt,
  StartPosition,
  SubscribeOptions,
  Subscription,
} from "@flotilla/bus";
