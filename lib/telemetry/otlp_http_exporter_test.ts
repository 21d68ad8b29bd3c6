import assert from "node:assert/strict";
import {
  childTrace,
  continueTrace,
  newTrace,
  NotFoundError,
  type OutboundCall,
} from "@flotilla/core";
import { callPipeline, type PeerEndpoint } from "@flotilla/client";
import { resolvePolicy } from "@flotilla/resilience";
import { encodedPartialSuccess, startOtlpReceiver } from "./_otlp_receiver.ts";
import { createTelemetry, type Telemetry } from "./create_telemetry.ts";
import { OtlpExportError } from "./errors.ts";
import { OtlpHttpExporter, parseRetryAfter } from "./otlp_http_exporter.ts";

/** The order service's telemetry, configured by `env` alone. */
function orderTelemetry(env: Record<string, string>): Telemetry {
  return createTelemetry({ service: "order", env: (name) => env[name], processMetrics: false });
}

const GATEWAY_SPAN = "00f067aa0ba902b7";
const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT = `00-${TRACE_ID}-${GATEWAY_SPAN}-01`;

const inventory: PeerEndpoint = {
  id: "inventory-1",
  url: "http://127.0.0.1:7102",
  instance: {
    service: "inventory",
    id: "inventory-1",
    address: "127.0.0.1",
    port: 7102,
    metadata: {},
  },
};

/** The order service takes a call from the gateway and calls inventory through the real pipeline. */
async function placeOrder(
  telemetry: Telemetry,
  traceparent: string,
): Promise<{ server: string; client: string }> {
  const pipeline = callPipeline({
    service: "inventory",
    endpoints: { current: () => [inventory] },
    transport: () => Promise.resolve({ reserved: true }),
    policy: (action) => resolvePolicy({}, "inventory", action),
    observer: telemetry.callObserver,
  });
  const inbound = telemetry.inbound.start({
    service: "order",
    action: "place",
    transport: "http",
    trace: continueTrace(traceparent),
    caller: "gateway",
  });
  const call: OutboundCall = {
    service: "inventory",
    action: "reserve",
    input: {},
    idempotent: true,
    deadline: Date.now() + 60_000,
    trace: childTrace(inbound.trace),
    caller: "order",
    idempotencyKey: undefined,
    signal: new AbortController().signal,
    clock: { now: () => Date.now() },
  };
  await pipeline(call);
  inbound.end(new NotFoundError("CUSTOMER_NOT_FOUND", "no such customer"));
  return { server: inbound.trace.spanId, client: call.trace.spanId };
}

Deno.test("createTelemetry() exports server and client spans as OTLP/JSON with our trace ids", async () => {
  await using receiver = startOtlpReceiver();
  const env: Record<string, string> = {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_SERVICE_NAME: "order",
  };
  await using telemetry = createTelemetry({
    service: "ignored",
    instance: "order-1",
    env: (name) => env[name],
    processMetrics: false,
  });
  const ids = await placeOrder(telemetry, TRACEPARENT);
  await telemetry.flush();

  assert.deepEqual(receiver.paths, ["/v1/traces"]);
  assert.equal(receiver.spans.length, 2);
  const client = receiver.spans.find((s) => s.name === "inventory/reserve")!;
  const server = receiver.spans.find((s) => s.name === "order/place")!;
  assert.equal(client.contentType, "application/json");
  assert.equal(server.traceId, TRACE_ID);
  assert.equal(server.spanId, ids.server);
  assert.equal(server.parentSpanId, GATEWAY_SPAN);
  assert.equal(server.kind, 2);
  assert.equal(server.attributes["rpc.system"], "flotilla");
  assert.equal(server.attributes["rpc.service"], "order");
  assert.equal(server.attributes["rpc.method"], "place");
  assert.equal(server.attributes["flotilla.caller"], "gateway");
  assert.equal(server.attributes["error.type"], "CUSTOMER_NOT_FOUND");
  assert.equal(server.statusCode, 0, "a caller's mistake is not the server's error");
  assert.deepEqual(server.events, ["exception"]);
  assert.equal(client.traceId, TRACE_ID);
  assert.equal(client.spanId, ids.client);
  assert.equal(client.parentSpanId, ids.server);
  assert.equal(client.kind, 3);
  assert.equal(client.attributes["server.address"], "127.0.0.1");
  assert.equal(client.attributes["server.port"], 7102);
  assert.equal(client.attributes["flotilla.endpoint"], "inventory-1");
  assert.deepEqual(client.events, ["attempt"]);
  assert.equal(client.resource["service.name"], "order");
  assert.equal(client.resource["service.instance.id"], "order-1");
  assert.equal(client.resource["process.runtime.name"], "deno");
  assert.equal(telemetry.metrics.spansExported.get(), 2);
});

Deno.test("createTelemetry() exports OTLP/protobuf by default to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", async () => {
  await using receiver = startOtlpReceiver();
  const env: Record<string, string> = {
    OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9/unused",
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/custom/traces`,
  };
  await using telemetry = orderTelemetry(env);
  const ids = await placeOrder(telemetry, TRACEPARENT);
  await telemetry.flush();

  assert.deepEqual(receiver.paths, ["/custom/traces"]);
  const client = receiver.spans.find((s) => s.name === "inventory/reserve")!;
  const server = receiver.spans.find((s) => s.name === "order/place")!;
  assert.equal(server.contentType, "application/x-protobuf");
  assert.equal(server.traceId, TRACE_ID);
  assert.equal(server.spanId, ids.server);
  assert.equal(server.parentSpanId, GATEWAY_SPAN);
  assert.equal(server.attributes["rpc.method"], "place");
  assert.equal(client.parentSpanId, ids.server);
  assert.equal(client.attributes["server.port"], 7102);
  assert.equal(client.attributes["flotilla.idempotent"], true);
  assert.equal(client.kind, 3);
  assert.equal(client.resource["service.name"], "order");
});

Deno.test("createTelemetry() samples roots by OTEL_TRACES_SAMPLER_ARG and honours a sampled parent", async () => {
  await using receiver = startOtlpReceiver();
  const env: Record<string, string> = {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
    OTEL_TRACES_SAMPLER_ARG: "0",
  };
  await using telemetry = orderTelemetry(env);
  // A root (no traceparent) at ratio 0 is not sampled, nor is its child call.
  const root = telemetry.inbound.start({
    service: "order",
    action: "place",
    transport: "http",
    trace: newTrace(),
  });
  assert.equal(root.trace.sampled, false);
  root.end(undefined);
  // A caller that sampled its trace is followed.
  await placeOrder(telemetry, TRACEPARENT);
  // A caller that did not is followed too.
  await placeOrder(telemetry, TRACEPARENT.replace(/-01$/, "-00"));
  await telemetry.flush();
  assert.deepEqual(receiver.spans.map((s) => s.name).sort(), ["inventory/reserve", "order/place"]);
  assert.ok(receiver.spans.every((s) => s.traceId === TRACE_ID));
  // Metrics count every call, sampled or not.
  assert.equal(
    telemetry.metrics.serverRequests.get({
      service: "order",
      action: "place",
      transport: "http",
      outcome: "not_found",
    }),
    2,
  );
});

Deno.test("createTelemetry() exports nothing with OTEL_SDK_DISABLED=true, ids still propagate", async () => {
  await using receiver = startOtlpReceiver();
  const env: Record<string, string> = {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_SDK_DISABLED: "true",
  };
  await using telemetry = orderTelemetry(env);
  const ids = await placeOrder(telemetry, TRACEPARENT);
  await telemetry.flush();
  assert.equal(receiver.spans.length, 0);
  assert.equal(ids.server.length, 16);
  assert.equal(telemetry.tracer.enabled, false);
});

const SPAN = {
  name: "x",
  kind: "internal" as const,
  traceId: TRACE_ID,
  spanId: GATEWAY_SPAN,
  parentSpanId: undefined,
  tracestate: undefined,
  startTimeMs: 1,
  endTimeMs: 2,
  attributes: { "flotilla.note": "gzip me ".repeat(20) },
  events: [],
  links: [],
  status: { code: "unset" as const },
};

Deno.test("OtlpHttpExporter rejects with OtlpExportError on a non-2xx answer or no answer", async () => {
  const answering = new OtlpHttpExporter({
    url: "http://collector.invalid/v1/traces",
    fetch: () => Promise.resolve(new Response("busy", { status: 503 })),
    retry: { maxAttempts: 1 },
  });
  const error = await answering.export([SPAN]).catch((e) => e);
  assert.ok(error instanceof OtlpExportError);
  assert.equal(error.status, 503);
  assert.equal(error.retryable, true);
  const silent = new OtlpHttpExporter({
    url: "http://collector.invalid/v1/traces",
    fetch: () => Promise.reject(new TypeError("connection refused")),
    retry: { maxAttempts: 1 },
  });
  const refused = await silent.export([SPAN]).catch((e) => e);
  assert.ok(refused instanceof OtlpExportError);
  assert.equal(refused.status, undefined);
  assert.throws(() => new OtlpHttpExporter({ url: "not a url" }), RangeError);
  assert.throws(
    () => new OtlpHttpExporter({ url: "http://x/", retry: { maxAttempts: 0 } }),
    RangeError,
  );
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => new OtlpHttpExporter({ url: "http://x/", compression: "br" as any }),
    RangeError,
  );
});

Deno.test("createTelemetry() gzips export bodies with OTEL_EXPORTER_OTLP_COMPRESSION=gzip", async () => {
  await using receiver = startOtlpReceiver();
  for (const protocol of ["http/protobuf", "http/json"]) {
    const env: Record<string, string> = {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      OTEL_EXPORTER_OTLP_COMPRESSION: "gzip",
    };
    await using telemetry = orderTelemetry(env);
    const ids = await placeOrder(telemetry, TRACEPARENT);
    await telemetry.flush();
    assert.equal(receiver.spans.find((s) => s.spanId === ids.server)?.name, "order/place");
  }
  assert.deepEqual(receiver.encodings, ["gzip", "gzip"]);
  assert.equal(receiver.spans.length, 4);
});

Deno.test("OtlpHttpExporter retries 429/502/503/504 as Retry-After asks, then delivers once", async () => {
  await using receiver = startOtlpReceiver();
  receiver.refusals.push(
    { status: 503, headers: { "retry-after": "0" } },
    { status: 429 },
    { status: 502 },
  );
  const exporter = new OtlpHttpExporter({
    url: `${receiver.url}/v1/traces`,
    retry: { initialDelayMs: 1, maxDelayMs: 2 },
  });
  await exporter.export([SPAN]);
  assert.equal(receiver.paths.length, 4);
  assert.deepEqual(receiver.spans.map((s) => s.spanId), [GATEWAY_SPAN]);
});

Deno.test("OtlpHttpExporter gives up after retry.maxAttempts, and at once on an answer not retryable", async () => {
  await using receiver = startOtlpReceiver();
  receiver.refusals.push(...Array.from({ length: 3 }, () => ({ status: 504 })));
  const exporter = new OtlpHttpExporter({
    url: `${receiver.url}/v1/traces`,
    retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 1 },
  });
  const exhausted = await exporter.export([SPAN]).catch((e) => e);
  assert.ok(exhausted instanceof OtlpExportError);
  assert.equal(exhausted.status, 504);
  assert.equal(receiver.paths.length, 3);

  receiver.refusals.push({ status: 400 }, { status: 400 });
  const refused = await exporter.export([SPAN]).catch((e) => e);
  assert.equal(refused.status, 400);
  assert.equal(refused.retryable, false);
  assert.equal(receiver.paths.length, 4, "a 400 is not sent again");
  assert.equal(receiver.spans.length, 0);
});

Deno.test("OtlpHttpExporter retries an unanswered request, and stops retrying when the export's signal aborts", async () => {
  let requests = 0;
  const controller = new AbortController();
  const exporter = new OtlpHttpExporter({
    url: "http://collector.invalid/v1/traces",
    fetch: () => {
      if (++requests === 2) controller.abort(new Error("export timeout"));
      return Promise.reject(new TypeError("connection refused"));
    },
    retry: { maxAttempts: 10, initialDelayMs: 1, maxDelayMs: 1 },
  });
  const error = await exporter.export([SPAN], controller.signal).catch((e) => e);
  assert.ok(error instanceof OtlpExportError);
  assert.equal(error.status, undefined);
  assert.equal(requests, 2);
});

Deno.test("parseRetryAfter() reads delay-seconds and HTTP dates", () => {
  const now = Date.parse("Thu, 26 Nov 2026 15:00:00 GMT");
  assert.equal(parseRetryAfter("7", now), 7_000);
  assert.equal(parseRetryAfter(" 0 ", now), 0);
  assert.equal(parseRetryAfter("Thu, 26 Nov 2026 15:00:03 GMT", now), 3_000);
  assert.equal(parseRetryAfter("Thu, 26 Nov 2026 14:00:00 GMT", now), 0);
  assert.equal(parseRetryAfter(null, now), undefined);
  assert.equal(parseRetryAfter("soon", now), undefined);
  assert.equal(parseRetryAfter("-5", now), undefined);
});

Deno.test("OtlpHttpExporter reads a partialSuccess answer, in JSON and in protobuf", async () => {
  const json = new OtlpHttpExporter({
    url: "http://collector.invalid/v1/traces",
    protocol: "http/json",
    fetch: () =>
      Promise.resolve(
        new Response(JSON.stringify({
          partialSuccess: { rejectedSpans: "2", errorMessage: "spans too old" },
        })),
      ),
  });
  assert.deepEqual(await json.export([SPAN]), { rejected: 2, message: "spans too old" });
  const proto = new OtlpHttpExporter({
    url: "http://collector.invalid/v1/traces",
    fetch: () => Promise.resolve(new Response(encodedPartialSuccess(3, "too big"))),
  });
  assert.deepEqual(await proto.export([SPAN]), { rejected: 3, message: "too big" });
  const full = new OtlpHttpExporter({
    url: "http://collector.invalid/v1/traces",
    fetch: () => Promise.resolve(new Response("{}")),
    protocol: "http/json",
  });
  assert.equal(await full.export([SPAN]), undefined);
});
