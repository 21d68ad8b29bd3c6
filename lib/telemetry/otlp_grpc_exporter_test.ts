import assert from "node:assert/strict";
import { childTrace, newTrace } from "@flotilla/core";
import { freePort } from "@flotilla/testing";
import { Buffer } from "node:buffer";
import http2 from "node:http2";
import { gunzipSync } from "node:zlib";
import { decodeSpanIds, startOtlpGrpcReceiver } from "./_otlp_receiver.ts";
import { createTelemetry, type Telemetry } from "./create_telemetry.ts";
import { OtlpExportError } from "./errors.ts";
import { OtlpGrpcExporter } from "./otlp_grpc_exporter.ts";
import type { SpanData } from "./span.ts";

/** The order service's telemetry, configured by `env` alone. */
function orderTelemetry(env: Record<string, string>): Telemetry {
  return createTelemetry({ service: "order", env: (name) => env[name], processMetrics: false });
}

const UNAVAILABLE = 14;
const INVALID_ARGUMENT = 3;

function span(id: string): SpanData {
  return {
    name: "order/place",
    kind: "server",
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: id,
    parentSpanId: "00f067aa0ba902b7",
    tracestate: undefined,
    startTimeMs: 1_764_000_000_000.5,
    endTimeMs: 1_764_000_000_002.25,
    attributes: { "rpc.method": "place", "flotilla.note": "gzip me ".repeat(20) },
    events: [],
    links: [],
    status: { code: "unset" },
  };
}

Deno.test("createTelemetry() exports over OTLP/gRPC with OTEL_EXPORTER_OTLP_PROTOCOL=grpc and headers", async () => {
  await using receiver = await startOtlpGrpcReceiver();
  const env: Record<string, string> = {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
    OTEL_EXPORTER_OTLP_HEADERS: "api-key=s3cret",
  };
  await using telemetry = orderTelemetry(env);
  const root = newTrace();
  const inbound = telemetry.inbound.start({
    service: "order",
    action: "place",
    transport: "grpc",
    trace: childTrace(root),
    caller: "gateway",
  });
  inbound.end(undefined);
  await telemetry.flush();

  assert.equal(receiver.spans.length, 1);
  const received = receiver.spans[0]!;
  assert.equal(received.traceId, root.traceId);
  assert.equal(received.spanId, inbound.trace.spanId);
  assert.equal(received.name, "order/place");
  assert.equal(received.kind, 2);
  assert.equal(received.attributes["flotilla.transport"], "grpc");
  assert.equal(received.resource["service.name"], "order");
  assert.equal(receiver.metadata[0]!["api-key"], "s3cret");
  assert.equal(telemetry.metrics.spansExported.labels(undefined).value, 1);
});

Deno.test("OtlpGrpcExporter retries UNAVAILABLE, then delivers once", async () => {
  await using receiver = await startOtlpGrpcReceiver();
  receiver.refusals.push(UNAVAILABLE, UNAVAILABLE);
  const exporter = new OtlpGrpcExporter({
    url: receiver.url,
    retry: { initialDelayMs: 1, maxDelayMs: 2 },
  });
  await exporter.export([span("00000000000000a1"), span("00000000000000a2")]);
  await exporter.shutdown();
  assert.equal(receiver.metadata.length, 3);
  assert.deepEqual(receiver.spans.map((s) => s.spanId), ["00000000000000a1", "00000000000000a2"]);
});

Deno.test("OtlpGrpcExporter gives up at once on INVALID_ARGUMENT, and after maxAttempts on UNAVAILABLE", async () => {
  await using receiver = await startOtlpGrpcReceiver();
  const exporter = new OtlpGrpcExporter({
    url: receiver.url,
    retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
  });
  receiver.refusals.push(INVALID_ARGUMENT);
  const refused = await exporter.export([span("00000000000000b1")]).catch((e) => e);
  assert.ok(refused instanceof OtlpExportError);
  assert.equal(refused.grpcCode, INVALID_ARGUMENT);
  assert.equal(refused.retryable, false);
  assert.equal(receiver.metadata.length, 1);

  receiver.refusals.push(UNAVAILABLE, UNAVAILABLE);
  const exhausted = await exporter.export([span("00000000000000b2")]).catch((e) => e);
  assert.equal(exhausted.grpcCode, UNAVAILABLE);
  assert.equal(receiver.metadata.length, 3);
  assert.equal(receiver.spans.length, 0);
  await exporter.shutdown();
});

Deno.test("OtlpGrpcExporter retries a collector that is not there until the export's signal aborts", async () => {
  const controller = new AbortController();
  let backoffs = 0;
  const exporter = new OtlpGrpcExporter({
    url: `http://127.0.0.1:${freePort()}`,
    timeoutMs: 60_000,
    retry: { maxAttempts: 1_000, initialDelayMs: 1, maxDelayMs: 5 },
    // Called once per backoff: the export is stopped at the third retry.
    random: () => {
      if (++backoffs === 3) controller.abort(new Error("export timeout"));
      return 0.5;
    },
  });
  const error = await exporter.export([span("00000000000000c1")], controller.signal).catch((e) =>
    e
  );
  assert.ok(error instanceof OtlpExportError);
  assert.equal(error.grpcCode, UNAVAILABLE);
  assert.equal(error.retryable, true);
  assert.equal(backoffs, 3);
  await exporter.shutdown();
});

Deno.test("OtlpGrpcExporter refuses a URL that is not http(s) and bad options", () => {
  assert.throws(() => new OtlpGrpcExporter({ url: "127.0.0.1:4317" }), RangeError);
  assert.throws(() => new OtlpGrpcExporter({ url: "dns:///collector" }), RangeError);
  assert.throws(() => new OtlpGrpcExporter({ url: "http://c:4317", timeoutMs: 0 }), RangeError);
  assert.throws(
    () => new OtlpGrpcExporter({ url: "http://c:4317", retry: { maxAttempts: 0 } }),
    RangeError,
  );
});

Deno.test("OtlpGrpcExporter with compression gzip sends gzip-compressed messages", async () => {
  // A bare HTTP/2 gRPC endpoint: grpc-js servers decompress before any hook can look.
  const seen: { encoding: string | undefined; compressed: number; spans: string[] }[] = [];
  const server = http2.createServer();
  server.on("stream", (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => {
      const frame = Buffer.concat(chunks);
      const compressed = frame[0]!;
      const message = frame.subarray(5, 5 + frame.readUInt32BE(1));
      const body = compressed ? gunzipSync(message) : message;
      seen.push({
        encoding: headers["grpc-encoding"] as string | undefined,
        compressed,
        spans: decodeSpanIds(new Uint8Array(body)),
      });
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, {
        waitForTrailers: true,
      });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(Buffer.from([0, 0, 0, 0, 0]));
    });
  });
  const port = await new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port))
  );
  try {
    const exporter = new OtlpGrpcExporter({ url: `http://127.0.0.1:${port}`, compression: "gzip" });
    await exporter.export([span("00000000000000d1")]);
    await exporter.shutdown();
    assert.deepEqual(seen, [{ encoding: "gzip", compressed: 1, spans: ["00000000000000d1"] }]);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

Deno.test("OtlpGrpcExporter reads a partial_success answer", async () => {
  await using receiver = await startOtlpGrpcReceiver();
  const exporter = new OtlpGrpcExporter({ url: receiver.url });
  assert.equal(await exporter.export([span("00000000000000e1")]), undefined);
  receiver.rejecting = 1;
  assert.deepEqual(await exporter.export([span("00000000000000e2")]), {
    rejected: 1,
    message: "rejected by the test",
  });
  await exporter.shutdown();
});
