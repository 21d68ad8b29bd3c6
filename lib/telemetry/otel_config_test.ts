import assert from "node:assert/strict";
import { readOtelConfig } from "./otel_config.ts";

const from = (env: Record<string, string>) => (name: string) => env[name];

Deno.test("readOtelConfig() follows the OpenTelemetry defaults", () => {
  const config = readOtelConfig(from({}), "order");
  assert.equal(config.url, "http://localhost:4318/v1/traces");
  assert.equal(config.protocol, "http/protobuf");
  assert.equal(config.disabled, false);
  assert.equal(config.resource["service.name"], "order");
  assert.equal(config.sampler.description, "ParentBased{root=AlwaysOnSampler}");
  assert.deepEqual(config.batch, {
    maxQueueSize: 2048,
    maxExportBatchSize: 512,
    scheduledDelayMs: 5000,
    exportTimeoutMs: 30000,
  });
});

Deno.test("readOtelConfig() appends /v1/traces to the base endpoint, not to the traces one", () => {
  assert.equal(
    readOtelConfig(from({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" })).url,
    "http://collector:4318/v1/traces",
  );
  assert.equal(
    readOtelConfig(from({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://tempo:4318/custom",
    })).url,
    "http://tempo:4318/custom",
  );
});

Deno.test("readOtelConfig() reads service name, resource, headers, sampler, protocol and BSP", () => {
  const config = readOtelConfig(
    from({
      OTEL_SERVICE_NAME: "order-svc",
      OTEL_RESOURCE_ATTRIBUTES: "service.name=ignored,deployment.environment=dev%20box",
      OTEL_EXPORTER_OTLP_HEADERS: "api-key=abc,x=1",
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: "x=2",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "0.1",
      OTEL_BSP_MAX_QUEUE_SIZE: "100",
      OTEL_EXPORTER_OTLP_TIMEOUT: "2500",
    }),
    "order",
  );
  assert.equal(config.resource["service.name"], "order-svc");
  assert.equal(config.resource["deployment.environment"], "dev box");
  assert.deepEqual(config.headers, { "api-key": "abc", x: "2" });
  assert.equal(config.protocol, "http/json");
  assert.equal(config.sampler.description, "ParentBased{root=TraceIdRatioBased{0.1}}");
  assert.equal(config.batch.maxQueueSize, 100);
  assert.equal(config.timeoutMs, 2500);
});

Deno.test("readOtelConfig() turns export off with OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none", () => {
  assert.equal(readOtelConfig(from({ OTEL_SDK_DISABLED: "true" })).disabled, true);
  assert.equal(readOtelConfig(from({ OTEL_SDK_DISABLED: "false" })).disabled, false);
  assert.equal(readOtelConfig(from({ OTEL_TRACES_EXPORTER: "none" })).disabled, true);
});

Deno.test("readOtelConfig() with protocol grpc takes the endpoint as the collector's address, default :4317", () => {
  const named = readOtelConfig(
    from({
      OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4317",
    }),
  );
  assert.equal(named.protocol, "grpc");
  assert.equal(named.url, "http://collector:4317");
  const byDefault = readOtelConfig(from({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "grpc" }));
  assert.equal(byDefault.url, "http://localhost:4317");
  assert.equal(
    readOtelConfig(from({ OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: "GZIP" })).compression,
    "gzip",
  );
});

Deno.test("readOtelConfig() refuses unknown protocols, compressions, exporters and malformed numbers", () => {
  assert.throws(() => readOtelConfig(from({ OTEL_EXPORTER_OTLP_PROTOCOL: "thrift" })), RangeError);
  assert.throws(() => readOtelConfig(from({ OTEL_EXPORTER_OTLP_COMPRESSION: "br" })), RangeError);
  assert.throws(() => readOtelConfig(from({ OTEL_TRACES_EXPORTER: "zipkin" })), RangeError);
  assert.throws(() => readOtelConfig(from({ OTEL_BSP_SCHEDULE_DELAY: "soon" })), RangeError);
});
