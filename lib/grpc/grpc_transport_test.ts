import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { defineContract, defineService, Logger, MemorySink, runService } from "@flotilla/core";
import { z } from "zod";
import { fromGrpcStatus, grpcTransport } from "./mod.ts";
import { HEALTH_PROTO, JSON_PROTO, reflectionProto } from "./_protos.ts";
import { labBinding, labContract, startLab } from "./testdata/lab.ts";
import { RawClient } from "./testdata/raw_client.ts";

const LAB_PROTO = new URL("./testdata/lab.proto", import.meta.url).pathname;
const WRONG_PROTO = new URL("./testdata/lab_wrong.proto", import.meta.url).pathname;
const STRUCT_PROTO = 'syntax = "proto3"; package google.protobuf; ' +
  "message Struct { map<string, Value> fields = 1; } " +
  "message Value { oneof kind { NullValue null_value = 1; double number_value = 2; " +
  "string string_value = 3; bool bool_value = 4; Struct struct_value = 5; ListValue list_value = 6; } } " +
  "message ListValue { repeated Value values = 1; } enum NullValue { NULL_VALUE = 0; }";
const LAB = "/flotilla.lab.v1.LabService";

function labClient(port: number, proto = LAB_PROTO): RawClient {
  return new RawClient(port, [], [proto]);
}

Deno.test("grpcTransport() serves the binding's actions to a plain grpc-js client", async () => {
  await using lab = await startLab();
  using client = labClient(lab.port);
  const greet = await client.unary(
    `${LAB}/Greet`,
    "flotilla.lab.v1.GreetRequest",
    "flotilla.lab.v1.GreetResponse",
    { name: "Ada" },
  );
  assert.deepEqual(greet.value, { text: "Hello, Ada" });
  for (const amount of [2, 3]) {
    const added = await client.unary(
      `${LAB}/Add`,
      "flotilla.lab.v1.AddRequest",
      "flotilla.lab.v1.AddResponse",
      { amount, tags: [{ label: "x", weight: 1 }] },
    );
    assert.equal(added.error, undefined);
  }
  // A list output travels as the only field of its message.
  const history = await client.unary(
    `${LAB}/History`,
    "flotilla.lab.v1.HistoryRequest",
    "flotilla.lab.v1.HistoryResponse",
    {},
  );
  assert.deepEqual(history.value, { totals: [2, 5] });
  assert.equal(lab.running.addresses.grpc?.hostname, "127.0.0.1");
});

Deno.test("grpcTransport() refuses fields of the wrong wire type with INVALID_ARGUMENT naming each, changing nothing", async () => {
  await using lab = await startLab();
  using wrong = labClient(lab.port, WRONG_PROTO);
  const result = await wrong.unary(
    `${LAB}/Add`,
    "flotilla.lab.v1.AddRequest",
    "flotilla.lab.v1.AddResponse",
    { amount: "12", tags: [{ label: 5, weight: "heavy" }] },
  );
  assert.equal(result.error?.code, grpc.status.INVALID_ARGUMENT);
  assert.match(result.error!.details, /amount: expected an integer \(int64\)/);
  const error = fromGrpcStatus(result.error!);
  assert.equal(error?.code, "INVALID_ARGUMENT");
  assert.deepEqual(error?.issues.map((issue) => issue.pointer), [
    "/amount",
    "/tags/0/label",
    "/tags/0/weight",
  ]);
  assert.equal(lab.state.adds, 0);
});

Deno.test("grpcTransport() validates decoded requests with the contract: missing fields and bad values get INVALID_ARGUMENT", async () => {
  await using lab = await startLab();
  using client = labClient(lab.port);
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ tags: [] }, "/amount", /amount/],
    [{ amount: 0, tags: [] }, "/amount", /amount: Too small/],
    [{ amount: 1, tags: [{ label: "x" }] }, "/tags/0/weight", /tags\[0\]\.weight/],
  ];
  for (const [input, pointer, message] of cases) {
    const result = await client.unary(
      `${LAB}/Add`,
      "flotilla.lab.v1.AddRequest",
      "flotilla.lab.v1.AddResponse",
      input,
    );
    assert.equal(result.error?.code, grpc.status.INVALID_ARGUMENT, JSON.stringify(input));
    assert.match(result.error!.details, message);
    assert.deepEqual(fromGrpcStatus(result.error!)?.issues.map((issue) => issue.pointer), [
      pointer,
    ]);
  }
  const greet = await client.unary(
    `${LAB}/Greet`,
    "flotilla.lab.v1.GreetRequest",
    "flotilla.lab.v1.GreetResponse",
    {},
  );
  assert.equal(greet.error?.code, grpc.status.INVALID_ARGUMENT);
  assert.match(greet.error!.details, /^name: /);
  assert.equal(lab.state.adds, 0);
});

Deno.test("grpcTransport() maps error kinds to gRPC status codes, with the code, data and issues in the details", async () => {
  await using lab = await startLab();
  using client = labClient(lab.port);
  const cases: Array<[string, number]> = [
    ["INVALID_ARGUMENT", grpc.status.INVALID_ARGUMENT],
    ["NOT_FOUND", grpc.status.NOT_FOUND],
    ["FAILED_PRECONDITION", grpc.status.FAILED_PRECONDITION],
    ["ALREADY_EXISTS", grpc.status.ALREADY_EXISTS],
    ["ABORTED", grpc.status.ABORTED],
    ["UNAVAILABLE", grpc.status.UNAVAILABLE],
    ["RESOURCE_EXHAUSTED", grpc.status.RESOURCE_EXHAUSTED],
    ["UNAUTHENTICATED", grpc.status.UNAUTHENTICATED],
    ["PERMISSION_DENIED", grpc.status.PERMISSION_DENIED],
    ["DEADLINE_EXCEEDED", grpc.status.DEADLINE_EXCEEDED],
    ["INTERNAL", grpc.status.INTERNAL],
  ];
  for (const [kind, code] of cases) {
    const result = await client.unary(
      `${LAB}/Fail`,
      "flotilla.lab.v1.FailRequest",
      "google.protobuf.Struct",
      { kind, code: `MY_${kind}` },
    );
    assert.equal(result.error?.code, code, kind);
    assert.equal(result.error?.details, `failing with ${kind}`);
    const error = fromGrpcStatus(result.error!);
    assert.equal(error?.code, `MY_${kind}`);
    assert.equal(error?.kind, kind);
    assert.deepEqual(error?.data, { asked: kind });
    if (kind === "INVALID_ARGUMENT") {
      assert.deepEqual(error?.issues, [{ pointer: "/items/0/sku", message: "unknown sku" }]);
    }
  }
  const plain = await client.unary(
    `${LAB}/Fail`,
    "flotilla.lab.v1.FailRequest",
    "google.protobuf.Struct",
    { kind: "PLAIN", code: "x" },
  );
  assert.equal(plain.error?.code, grpc.status.INTERNAL);
  assert.equal(plain.error?.details, "Internal error");
  assert.doesNotMatch(JSON.stringify(plain.error?.metadata.getMap()), /secret/);
});

Deno.test("grpcTransport() carries the deadline, trace, caller and idempotency key into the handler's context", async () => {
  await using lab = await startLab();
  using client = labClient(lab.port);
  const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  const result = await client.unary(
    `${LAB}/WhoAmI`,
    "flotilla.lab.v1.WhoAmIRequest",
    "flotilla.lab.v1.WhoAmIResponse",
    {},
    {
      metadata: {
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
        "flotilla-caller": "order",
        "idempotency-key": "key-1",
      },
      deadline: Date.now() + 60_000,
    },
  );
  assert.equal(result.value?.traceId, traceId);
  assert.equal(result.value?.caller, "order");
  assert.equal(result.value?.key, "key-1");
  const remaining = result.value?.remainingMs as number;
  assert.ok(remaining > 0 && remaining <= 60_000, `remaining ${remaining}`);
  const bad = await client.unary(
    `${LAB}/WhoAmI`,
    "flotilla.lab.v1.WhoAmIRequest",
    "flotilla.lab.v1.WhoAmIResponse",
    {},
    { metadata: { "idempotency-key": "has space" } },
  );
  assert.equal(bad.error?.code, grpc.status.INVALID_ARGUMENT);
  assert.equal(fromGrpcStatus(bad.error!)?.code, "INVALID_IDEMPOTENCY_KEY");
});

Deno.test("grpcTransport() aborts a slow handler when the caller's deadline passes", async () => {
  await using lab = await startLab();
  using client = labClient(lab.port);
  const result = await client.unary(
    `${LAB}/Slow`,
    "flotilla.lab.v1.SlowRequest",
    "flotilla.lab.v1.SlowResponse",
    {},
    { deadline: Date.now() + 150 },
  );
  assert.equal(result.error?.code, grpc.status.DEADLINE_EXCEEDED);
  const reason = await lab.state.slowAborted;
  assert.equal((reason as { kind?: string }).kind, "DEADLINE_EXCEEDED");
});

Deno.test("grpcTransport() aborts the handler when the caller cancels", async () => {
  await using lab = await startLab();
  using client = labClient(lab.port);
  const call = client.client.makeUnaryRequest(
    `${LAB}/Slow`,
    (value: Buffer) => value,
    (value: Buffer) => value,
    Buffer.alloc(0),
    () => {},
  );
  await lab.state.slowStarted;
  call.cancel();
  const reason = await lab.state.slowAborted;
  assert.equal((reason as { kind?: string }).kind, "CANCELLED");
});

Deno.test("grpcTransport() serves grpc.health.v1: SERVING when ready, NOT_SERVING while it drains", async () => {
  const lab = await startLab({ healthPollMs: 60_000 });
  using health = new RawClient(lab.port, [HEALTH_PROTO]);
  using client = labClient(lab.port);
  const check = (service: string) =>
    health.unary(
      "/grpc.health.v1.Health/Check",
      "grpc.health.v1.HealthCheckRequest",
      "grpc.health.v1.HealthCheckResponse",
      { service },
    );
  assert.deepEqual((await check("")).value, { status: "SERVING" });
  assert.deepEqual((await check("flotilla.lab.v1.LabService")).value, { status: "SERVING" });
  assert.deepEqual((await check("lab")).value, { status: "SERVING" });
  assert.equal((await check("nope")).error?.code, grpc.status.NOT_FOUND);
  const list = await health.unary(
    "/grpc.health.v1.Health/List",
    "grpc.health.v1.HealthListRequest",
    "grpc.health.v1.HealthListResponse",
    {},
  );
  assert.deepEqual((list.value?.statuses as Record<string, unknown>)[""], { status: "SERVING" });

  const watch = health.stream(
    "/grpc.health.v1.Health/Watch",
    "grpc.health.v1.HealthCheckRequest",
    "grpc.health.v1.HealthCheckResponse",
    { service: "" },
  );
  assert.deepEqual((await watch.next()).value, { status: "SERVING" });

  // A call in flight holds the drain open.
  const slow = client.unary(
    `${LAB}/Slow`,
    "flotilla.lab.v1.SlowRequest",
    "flotilla.lab.v1.SlowResponse",
    {},
  );
  await lab.state.slowStarted;
  const stopping = lab.running.stop();
  assert.deepEqual((await watch.next()).value, { status: "NOT_SERVING" });
  assert.deepEqual((await check("")).value, { status: "NOT_SERVING" });
  const refused = await client.unary(
    `${LAB}/Greet`,
    "flotilla.lab.v1.GreetRequest",
    "flotilla.lab.v1.GreetResponse",
    { name: "late" },
  );
  assert.equal(refused.error?.code, grpc.status.UNAVAILABLE);
  assert.equal(fromGrpcStatus(refused.error!)?.code, "SERVICE_NOT_READY");

  lab.state.releaseSlow();
  assert.deepEqual((await slow).value, { done: true });
  await assert.rejects(watch.next(), (error: grpc.ServiceError) => {
    assert.equal(error.code, grpc.status.UNAVAILABLE);
    return true;
  });
  await stopping;
});

Deno.test("grpcTransport() answers server reflection: lists services and describes them", async () => {
  await using lab = await startLab();
  for (const version of ["v1", "v1alpha"] as const) {
    using reflection = new RawClient(lab.port, [reflectionProto(version)]);
    const request = reflection.type(`grpc.reflection.${version}.ServerReflectionRequest`);
    const response = reflection.type(`grpc.reflection.${version}.ServerReflectionResponse`);
    const stream = reflection.client.makeBidiStreamRequest(
      `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`,
      (value: Record<string, unknown>) =>
        Buffer.from(request.encode(request.fromObject(value)).finish()),
      (bytes: Buffer) => response.toObject(response.decode(bytes), { bytes: Array }),
    );
    const answers = stream[Symbol.asyncIterator]();
    stream.write({ host: "", listServices: "*" });
    const listed = (await answers.next()).value as {
      listServicesResponse: { service: Array<{ name: string }> };
    };
    assert.deepEqual(listed.listServicesResponse.service.map((s) => s.name).sort(), [
      "flotilla.json.v1.Json",
      "flotilla.lab.v1.LabService",
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
    ]);

    stream.write({ host: "", fileContainingSymbol: "flotilla.lab.v1.LabService" });
    const described = (await answers.next()).value as {
      fileDescriptorResponse: { fileDescriptorProto: number[][] };
    };
    // An independent protobuf runtime builds a registry from the answer: every import resolves.
    const files = described.fileDescriptorResponse.fileDescriptorProto.map((bytes) =>
      fromBinary(FileDescriptorProtoSchema, Uint8Array.from(bytes))
    );
    assert.deepEqual(files.map((file) => file.name), ["lab.proto", "google/protobuf/struct.proto"]);
    const registry = createFileRegistry(
      files[0]!,
      (name) => files.find((file) => file.name === name),
    );
    const service = registry.getService("flotilla.lab.v1.LabService");
    assert.deepEqual(service?.methods.map((method) => method.name), [
      "Greet",
      "Add",
      "Fail",
      "Slow",
      "WhoAmI",
      "History",
      "Ticks",
      "Feed",
    ]);
    assert.equal(service?.methods.find((m) => m.name === "Ticks")?.methodKind, "server_streaming");
    const add = registry.getMessage("flotilla.lab.v1.AddRequest");
    assert.equal(add?.field.amount?.proto.proto3Optional, true);
    assert.equal(
      registry.getMessage("flotilla.lab.v1.WhoAmIResponse")?.field.traceId?.jsonName,
      "traceId",
    );

    stream.write({ host: "", fileContainingSymbol: "no.such.Thing" });
    const missing = (await answers.next()).value as { errorResponse: { errorCode: number } };
    assert.equal(missing.errorResponse.errorCode, grpc.status.NOT_FOUND);
    stream.end();
    assert.equal((await answers.next()).done, true);
  }
});

Deno.test("grpcTransport() serves every action over the JSON fallback service", async () => {
  await using lab = await startLab();
  using json = new RawClient(lab.port, [JSON_PROTO.replace(/import .*\n/, ""), STRUCT_PROTO]);
  const greet = await json.unary(
    "/flotilla.json.v1.Json/Call",
    "flotilla.json.v1.JsonCall",
    "google.protobuf.Value",
    { action: "greet", input: { structValue: { fields: { name: { stringValue: "Ada" } } } } },
  );
  assert.deepEqual(greet.value, {
    structValue: { fields: { text: { stringValue: "Hello, Ada" } } },
  });
  const bad = await json.unary(
    "/flotilla.json.v1.Json/Call",
    "flotilla.json.v1.JsonCall",
    "google.protobuf.Value",
    { action: "add", input: { structValue: { fields: { amount: { stringValue: "ten" } } } } },
  );
  assert.equal(bad.error?.code, grpc.status.INVALID_ARGUMENT);
  assert.match(bad.error!.details, /amount/);
  const unknown = await json.unary(
    "/flotilla.json.v1.Json/Call",
    "flotilla.json.v1.JsonCall",
    "google.protobuf.Value",
    { action: "nope" },
  );
  assert.equal(unknown.error?.code, grpc.status.NOT_FOUND);
  const other = await json.unary(
    "/flotilla.json.v1.Json/Call",
    "flotilla.json.v1.JsonCall",
    "google.protobuf.Value",
    { service: "payment", action: "greet" },
  );
  assert.equal(fromGrpcStatus(other.error!)?.code, "UNKNOWN_SERVICE");
  const ticks = [];
  for await (
    const tick of json.stream(
      "/flotilla.json.v1.Json/Stream",
      "flotilla.json.v1.JsonCall",
      "google.protobuf.Value",
      { action: "ticks", input: { structValue: { fields: { count: { numberValue: 2 } } } } },
    )
  ) ticks.push(tick);
  assert.equal(ticks.length, 2);
  assert.equal(lab.state.adds, 0);
});

Deno.test("grpcTransport() streams a streaming action's items, validated, then ends", async () => {
  await using lab = await startLab();
  using client = labClient(lab.port);
  const ticks = [];
  for await (
    const tick of client.stream(
      `${LAB}/Ticks`,
      "flotilla.lab.v1.TicksRequest",
      "flotilla.lab.v1.Tick",
      { count: 4 },
    )
  ) ticks.push(tick);
  assert.deepEqual(ticks, [
    { n: 0, kind: "TICK_KIND_EVEN" },
    { n: 1, kind: "TICK_KIND_ODD" },
    { n: 2, kind: "TICK_KIND_EVEN" },
    { n: 3, kind: "TICK_KIND_ODD" },
  ]);
  const bad = client.stream(
    `${LAB}/Ticks`,
    "flotilla.lab.v1.TicksRequest",
    "flotilla.lab.v1.Tick",
    { count: -1 },
  );
  await assert.rejects(bad.next(), (error: grpc.ServiceError) => {
    assert.equal(error.code, grpc.status.INVALID_ARGUMENT);
    assert.match(error.details, /^count: /);
    return true;
  });
});

Deno.test("grpcTransport() aborts a live stream's handler when the caller stops reading", async () => {
  await using lab = await startLab();
  using client = labClient(lab.port);
  const seen = [];
  for await (
    const tick of client.stream(
      `${LAB}/Feed`,
      "flotilla.lab.v1.FeedRequest",
      "flotilla.lab.v1.Tick",
      {},
    )
  ) {
    seen.push(tick.n);
    if (seen.length === 3) break;
  }
  assert.deepEqual(seen, [0, 1, 2]);
  const reason = await lab.state.feedAborted;
  assert.equal((reason as { kind?: string }).kind, "CANCELLED");
});

Deno.test("grpcTransport() ends open streams with UNAVAILABLE when it stops", async () => {
  const lab = await startLab();
  using client = labClient(lab.port);
  const feed = client.stream(
    `${LAB}/Feed`,
    "flotilla.lab.v1.FeedRequest",
    "flotilla.lab.v1.Tick",
    {},
  );
  for (let i = 0; i < 3; i++) await feed.next();
  const stopping = lab.running.stop();
  await assert.rejects(feed.next(), (error: grpc.ServiceError) => {
    assert.equal(error.code, grpc.status.UNAVAILABLE);
    assert.equal(fromGrpcStatus(error)?.code, "SHUTTING_DOWN");
    return true;
  });
  await stopping;
  const reason = await lab.state.feedAborted;
  assert.equal((reason as { code?: string }).code, "SHUTTING_DOWN");
});

Deno.test("grpcTransport() serves a contract without a binding over the JSON fallback alone", async () => {
  const greeter = defineContract({
    name: "greeter",
    version: "1.0.0",
    actions: { hi: { input: z.strictObject({}), output: z.object({ text: z.string() }) } },
  });
  const running = await runService(defineService(greeter, { hi: () => ({ text: "hi" }) }), {
    logger: new Logger({ sink: new MemorySink() }),
    transports: [grpcTransport({ port: 0, reflection: false })],
    signals: [],
  });
  await using _ = running;
  using json = new RawClient(running.addresses.grpc!.port, [
    JSON_PROTO.replace(/import .*\n/, ""),
    STRUCT_PROTO,
  ]);
  const hi = await json.unary(
    "/flotilla.json.v1.Json/Call",
    "flotilla.json.v1.JsonCall",
    "google.protobuf.Value",
    { action: "hi" },
  );
  assert.deepEqual(hi.value, { structValue: { fields: { text: { stringValue: "hi" } } } });
});

Deno.test("grpcTransport() rejects invalid options and a binding of another contract", async () => {
  assert.throws(() => grpcTransport({ port: -1 }), RangeError);
  assert.throws(() => grpcTransport({ port: 0, healthPollMs: 0 }), /healthPollMs/);
  const other = defineContract({
    name: "other",
    version: "1.0.0",
    actions: {},
  });
  await assert.rejects(
    runService(defineService(other, {}), {
      logger: new Logger({ sink: new MemorySink() }),
      transports: [grpcTransport({ port: 0, binding: labBinding() })],
      signals: [],
    }),
    /binding is of "lab"/,
  );
  assert.equal(labContract.name, "lab");
});
