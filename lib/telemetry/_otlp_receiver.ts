// Internal test support; not exported by mod.ts. Test OTLP traces receivers: OTLP/HTTP (JSON and
// protobuf) on Deno.serve, OTLP/gRPC on a real grpc-js server.

import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";

/** A span as the receiver decoded it, whichever the encoding. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  events: string[];
  statusCode: number;
  resource: Record<string, unknown>;
  contentType: string;
}

/** A receiver listening on a free port; dispose it to stop. */
export interface OtlpReceiver extends AsyncDisposable {
  /** Answers to give, in order, before taking requests again (e.g. a 503 with `Retry-After`). */
  readonly refusals: {
    status: number;
    headers?: Record<string, string>;
    /** Refuse only a request whose spans this accepts (any request when absent). */
    when?: (spans: readonly ReceivedSpan[]) => boolean;
  }[];
  /** The `content-encoding` of each request (`""` when none). */
  readonly encodings: string[];
  /** The spans of the requests answered with one of {@link OtlpReceiver.refusals}. */
  readonly refused: ReceivedSpan[];
  /** Base URL, e.g. `http://127.0.0.1:41234` (set OTEL_EXPORTER_OTLP_ENDPOINT to it). */
  readonly url: string;
  /** Every span received so far. */
  readonly spans: ReceivedSpan[];
  /** Paths requested. */
  readonly paths: string[];
}

/** Starts a receiver on 127.0.0.1 and a free port. */
export function startOtlpReceiver(): OtlpReceiver {
  const spans: ReceivedSpan[] = [];
  const paths: string[] = [];
  const refusals: OtlpReceiver["refusals"] = [];
  const encodings: string[] = [];
  const refused: ReceivedSpan[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    paths.push(new URL(req.url).pathname);
    const encoding = req.headers.get("content-encoding") ?? "";
    encodings.push(encoding);
    const contentType = req.headers.get("content-type") ?? "";
    const raw = encoding === "gzip"
      ? req.body!.pipeThrough(new DecompressionStream("gzip"))
      : req.body;
    const body = new Uint8Array(await new Response(raw).arrayBuffer());
    let received: ReceivedSpan[];
    if (contentType === "application/json") {
      received = fromJson(JSON.parse(new TextDecoder().decode(body)), contentType);
    } else if (contentType === "application/x-protobuf") {
      received = fromProto(body, contentType);
    } else {
      return new Response("unsupported", { status: 415 });
    }
    const index = refusals.findIndex((r) => r.when === undefined || r.when(received));
    const refusal = index < 0 ? undefined : refusals.splice(index, 1)[0];
    if (refusal) {
      refused.push(...received);
      return new Response("try later", { status: refusal.status, headers: refusal.headers ?? {} });
    }
    spans.push(...received);
    return new Response("{}", { headers: { "content-type": "application/json" } });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    spans,
    paths,
    refusals,
    encodings,
    refused,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** An OTLP/gRPC receiver listening on a free port; dispose it to stop. */
export interface OtlpGrpcReceiver extends AsyncDisposable {
  /** The collector's address, `http://127.0.0.1:<port>` (set OTEL_EXPORTER_OTLP_ENDPOINT to it). */
  readonly url: string;
  /** Every span received so far. */
  readonly spans: ReceivedSpan[];
  /** The metadata of each call, as a plain record. */
  readonly metadata: Record<string, unknown>[];
  /** gRPC status codes to answer, in order, before taking calls again. */
  readonly refusals: number[];
  /** Answers the next calls with a `partial_success` rejecting this many spans. */
  rejecting: number;
}

/** Starts an OTLP/gRPC receiver (`TraceService/Export`) on 127.0.0.1 and a free port. */
export async function startOtlpGrpcReceiver(): Promise<OtlpGrpcReceiver> {
  const spans: ReceivedSpan[] = [];
  const metadata: Record<string, unknown>[] = [];
  const refusals: number[] = [];
  const server = new grpc.Server();
  server.register(
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      metadata.push(call.metadata.getMap());
      const refusal = refusals.shift();
      if (refusal !== undefined) return callback({ code: refusal, details: "try later" });
      spans.push(...fromProto(new Uint8Array(call.request), "application/grpc"));
      // An empty ExportTraceServiceResponse is a full success.
      callback(
        null,
        receiver.rejecting > 0
          ? Buffer.from(encodedPartialSuccess(receiver.rejecting, "rejected by the test"))
          : Buffer.alloc(0),
      );
    },
    (value: Buffer) => value,
    (value: Buffer) => value,
    "unary",
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      grpc.ServerCredentials.createInsecure(),
      (error, bound) => error ? reject(error) : resolve(bound),
    )
  );
  const receiver: OtlpGrpcReceiver = {
    url: `http://127.0.0.1:${port}`,
    spans,
    metadata,
    refusals,
    rejecting: 0,
    [Symbol.asyncDispose]: () =>
      new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
  return receiver;
}

/**
 * An `ExportTraceServiceResponse` whose `partial_success` rejects `rejected`
 * spans for `message` (`rejected` below 128, `message` ASCII below 100).
 */
export function encodedPartialSuccess(rejected: number, message: string): Uint8Array<ArrayBuffer> {
  const text = new TextEncoder().encode(message);
  const inner = [0x08, rejected, 0x12, text.length, ...text];
  return new Uint8Array([0x0a, inner.length, ...inner]);
}

/** The span ids in an `ExportTraceServiceRequest`, in order. */
export function decodeSpanIds(request: Uint8Array): string[] {
  return fromProto(request, "application/grpc").map((s) => s.spanId);
}

// ---- JSON ----

type Json = Record<string, unknown>;

function jsonValue(value: Json): unknown {
  if ("stringValue" in value) return value.stringValue;
  if ("boolValue" in value) return value.boolValue;
  if ("intValue" in value) return Number(value.intValue);
  if ("doubleValue" in value) return value.doubleValue;
  if ("arrayValue" in value) {
    return ((value.arrayValue as Json).values as Json[]).map(jsonValue);
  }
  return undefined;
}

function jsonAttributes(list: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of (list as Json[] | undefined) ?? []) {
    out[kv.key as string] = jsonValue(kv.value as Json);
  }
  return out;
}

function fromJson(body: Json, contentType: string): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of body.resourceSpans as Json[]) {
    const resource = jsonAttributes((rs.resource as Json).attributes);
    for (const ss of rs.scopeSpans as Json[]) {
      for (const s of ss.spans as Json[]) {
        out.push({
          traceId: s.traceId as string,
          spanId: s.spanId as string,
          parentSpanId: s.parentSpanId as string | undefined,
          name: s.name as string,
          kind: s.kind as number,
          attributes: jsonAttributes(s.attributes),
          events: ((s.events as Json[]) ?? []).map((e) => e.name as string),
          statusCode: ((s.status as Json | undefined)?.code as number | undefined) ?? 0,
          resource,
          contentType,
        });
      }
    }
  }
  return out;
}

// ---- protobuf: a generic wire-format reader ----

type Field = bigint | Uint8Array;
type Message = Map<number, Field[]>;

function decode(bytes: Uint8Array): Message {
  const out: Message = new Map();
  let i = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    while (true) {
      const b = bytes[i++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (i < bytes.length) {
    const key = Number(varint());
    const field = key >> 3;
    const wire = key & 7;
    let value: Field;
    if (wire === 0) value = varint();
    else if (wire === 1) {
      value = new DataView(bytes.buffer, bytes.byteOffset + i, 8).getBigUint64(0, true);
      i += 8;
    } else if (wire === 2) {
      const len = Number(varint());
      value = bytes.subarray(i, i + len);
      i += len;
    } else if (wire === 5) {
      value = BigInt(new DataView(bytes.buffer, bytes.byteOffset + i, 4).getUint32(0, true));
      i += 4;
    } else throw new Error(`unsupported wire type ${wire}`);
    if (!out.has(field)) out.set(field, []);
    out.get(field)!.push(value);
  }
  return out;
}

const text = (f: Field | undefined) =>
  f === undefined ? "" : new TextDecoder().decode(f as Uint8Array);
const hex = (f: Field | undefined) =>
  f === undefined
    ? undefined
    : Array.from(f as Uint8Array, (b) => b.toString(16).padStart(2, "0")).join("");
const messages = (m: Message, field: number) =>
  (m.get(field) ?? []).map((f) => decode(f as Uint8Array));

function protoValue(v: Message): unknown {
  if (v.has(1)) return text(v.get(1)![0]);
  if (v.has(2)) return v.get(2)![0] === 1n;
  if (v.has(3)) return Number(BigInt.asIntN(64, v.get(3)![0] as bigint));
  if (v.has(4)) {
    const b = v.get(4)![0] as bigint;
    const view = new DataView(new ArrayBuffer(8));
    view.setBigUint64(0, b, true);
    return view.getFloat64(0, true);
  }
  if (v.has(5)) return messages(decode(v.get(5)![0] as Uint8Array), 1).map(protoValue);
  return undefined;
}

function protoAttributes(m: Message, field: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of messages(m, field)) out[text(kv.get(1)?.[0])] = protoValue(messages(kv, 2)[0]!);
  return out;
}

function fromProto(body: Uint8Array, contentType: string): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of messages(decode(body), 1)) {
    const resource = protoAttributes(messages(rs, 1)[0] ?? new Map(), 1);
    for (const ss of messages(rs, 2)) {
      for (const s of messages(ss, 2)) {
        const status = messages(s, 15)[0];
        out.push({
          traceId: hex(s.get(1)?.[0])!,
          spanId: hex(s.get(2)?.[0])!,
          parentSpanId: hex(s.get(4)?.[0]),
          name: text(s.get(5)?.[0]),
          kind: Number(s.get(6)?.[0] ?? 0n),
          attributes: protoAttributes(s, 9),
          events: messages(s, 11).map((e) => text(e.get(2)?.[0])),
          statusCode: Number(status?.get(3)?.[0] ?? 0n),
          resource,
          contentType,
        });
      }
    }
  }
  return out;
}
