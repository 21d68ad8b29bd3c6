import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import type { Buffer } from "node:buffer";
import {
  createClient,
  createContext,
  FlotillaError,
  Logger,
  MemorySink,
  newTrace,
  type OutboundCall,
  runService,
  systemClock,
  UnavailableError,
} from "@flotilla/core";
import { callPipeline, type PeerEndpoint, type PipelineEvent } from "@flotilla/client";
import { isUnsentError, resolvePolicy } from "@flotilla/resilience";
import { freePort, waitFor } from "@flotilla/testing";
import { grpcAddressOf, grpcCaller, jsonBinding } from "./mod.ts";
import { createLab, endpointAt, labBinding, labContract, startLab } from "./testdata/lab.ts";
import { grpcTransport } from "./mod.ts";

function labClient(caller: ReturnType<typeof grpcCaller>, endpoint: PeerEndpoint) {
  return createClient(labContract, (call) => caller(endpoint, call), { caller: "tester" });
}

Deno.test("grpcCaller() calls a peer over its binding and returns the contract's values", async () => {
  await using lab = await startLab();
  await using caller = grpcCaller({ bindings: [labBinding()] });
  const client = labClient(caller, lab.endpoint);
  assert.deepEqual(await client.call("greet", { name: "Ada" }), { text: "Hello, Ada" });
  await client.call("add", { amount: 2, tags: [{ label: "a", weight: 0 }] });
  assert.deepEqual(await client.call("add", { amount: 5, tags: [] }), { total: 7 });
  assert.deepEqual(await client.call("history", {}), [2, 7]);
});

Deno.test("grpcCaller() reaches a peer without a binding over the JSON fallback", async () => {
  await using lab = await startLab();
  await using caller = grpcCaller();
  const client = labClient(caller, lab.endpoint);
  assert.deepEqual(await client.call("greet", { name: "Bo" }), { text: "Hello, Bo" });
  assert.deepEqual(await client.call("add", { amount: 3, tags: [] }), { total: 3 });
  assert.deepEqual(await client.call("history", {}), [3]);
});

Deno.test("grpcCaller() rebuilds the peer's typed errors with their code, kind, data and issues", async () => {
  await using lab = await startLab();
  await using caller = grpcCaller({ bindings: [labBinding()] });
  const client = labClient(caller, lab.endpoint);
  const kinds = [
    "INVALID_ARGUMENT",
    "NOT_FOUND",
    "FAILED_PRECONDITION",
    "ALREADY_EXISTS",
    "ABORTED",
    "UNAVAILABLE",
    "RESOURCE_EXHAUSTED",
    "UNAUTHENTICATED",
    "PERMISSION_DENIED",
  ] as const;
  for (const kind of kinds) {
    await assert.rejects(client.call("fail", { kind, code: `MY_${kind}` }), (error: unknown) => {
      assert.ok(error instanceof FlotillaError);
      // A relayed error is never mistaken for this side's own connection errors.
      assert.ok(!(error instanceof UnavailableError));
      assert.equal(error.code, `MY_${kind}`);
      assert.equal(error.kind, kind);
      assert.equal(error.message, `failing with ${kind}`);
      assert.deepEqual(error.data, { asked: kind });
      assert.equal(
        error.retryable,
        ["UNAVAILABLE", "RESOURCE_EXHAUSTED", "ABORTED"].includes(kind),
      );
      return true;
    });
  }
  await assert.rejects(client.call("fail", { kind: "INVALID_ARGUMENT", code: "X" }), {
    issues: [{ pointer: "/items/0/sku", message: "unknown sku" }],
  });
  await assert.rejects(client.call("fail", { kind: "PLAIN", code: "x" }), {
    code: "INTERNAL",
    kind: "INTERNAL",
    message: "Internal error",
  });
});

Deno.test("grpcCaller() maps the statuses of other gRPC servers by their code", async () => {
  const server = new grpc.Server();
  const codes = [grpc.status.NOT_FOUND, grpc.status.RESOURCE_EXHAUSTED, grpc.status.UNIMPLEMENTED];
  let next = 0;
  server.register(
    "/flotilla.json.v1.Json/Call",
    (_call: unknown, callback: grpc.sendUnaryData<Buffer>) =>
      callback({ code: codes[next++]!, details: "from elsewhere" }),
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
  await using caller = grpcCaller();
  const client = labClient(caller, endpointAt(port));
  for (const kind of ["NOT_FOUND", "RESOURCE_EXHAUSTED", "UNIMPLEMENTED"]) {
    await assert.rejects(client.call("greet", { name: "x" }), {
      code: kind,
      kind,
      message: "from elsewhere",
    });
  }
  server.forceShutdown();
});

Deno.test("grpcCaller() sends the deadline, trace, caller and idempotency key", async () => {
  await using lab = await startLab();
  await using caller = grpcCaller({ bindings: [labBinding()] });
  const client = labClient(caller, lab.endpoint);
  using ctx = createContext({
    service: "tester",
    action: "test",
    logger: new Logger({ sink: new MemorySink() }),
  });
  const who = await client.call("whoAmI", {}, { ctx, idempotencyKey: "k-1", timeoutMs: 30_000 });
  assert.equal(who.caller, "tester");
  assert.equal(who.key, "k-1");
  assert.equal(who.traceId, ctx.trace.traceId);
  assert.ok(who.remainingMs > 0 && who.remainingMs <= 30_000);
});

Deno.test("grpcCaller() gives DEADLINE_EXCEEDED when the deadline passes, and the callee's handler is aborted", async () => {
  await using lab = await startLab();
  await using caller = grpcCaller({ bindings: [labBinding()] });
  const client = labClient(caller, lab.endpoint);
  await assert.rejects(client.call("slow", {}, { timeoutMs: 150 }), {
    kind: "DEADLINE_EXCEEDED",
  });
  const reason = await lab.state.slowAborted;
  assert.ok(reason instanceof FlotillaError);
});

Deno.test("grpcCaller() cancels the call when the caller's signal aborts", async () => {
  await using lab = await startLab();
  await using caller = grpcCaller({ bindings: [labBinding()] });
  const client = labClient(caller, lab.endpoint);
  const controller = new AbortController();
  const call = client.call("slow", {}, { signal: controller.signal });
  await lab.state.slowStarted;
  controller.abort(new Error("enough"));
  await assert.rejects(call, { kind: "CANCELLED" });
  assert.equal((await lab.state.slowAborted as FlotillaError).kind, "CANCELLED");
});

Deno.test("grpcCaller() reports a port nobody listens on as CONNECTION_REFUSED, safe to retry", async () => {
  await using caller = grpcCaller({ bindings: [labBinding()] });
  const client = labClient(caller, endpointAt(freePort()));
  await assert.rejects(client.call("add", { amount: 1, tags: [] }), (error: unknown) => {
    assert.ok(error instanceof UnavailableError);
    assert.equal(error.code, "CONNECTION_REFUSED");
    assert.ok(isUnsentError(error));
    return true;
  });
});

Deno.test("grpcCaller() reports a connection lost after sending as CONNECTION_FAILED, not safe to retry", async () => {
  const server = new grpc.Server();
  let received!: () => void;
  const arrived = new Promise<void>((resolve) => received = resolve);
  server.register(
    "/flotilla.lab.v1.LabService/Add",
    () => received(),
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
  await using caller = grpcCaller({ bindings: [labBinding()] });
  const client = labClient(caller, endpointAt(port));
  const call = client.call("add", { amount: 1, tags: [] });
  await arrived;
  server.forceShutdown();
  await assert.rejects(call, (error: unknown) => {
    assert.ok(error instanceof UnavailableError);
    assert.equal(error.code, "CONNECTION_FAILED");
    assert.ok(!isUnsentError(error));
    return true;
  });
});

Deno.test("grpcCaller() streams a streaming action: the call resolves to its validated items", async () => {
  await using lab = await startLab();
  await using caller = grpcCaller({ bindings: [labBinding()] });
  const client = labClient(caller, lab.endpoint);
  const ticks = [];
  for await (const tick of await client.call("ticks", { count: 3 })) ticks.push(tick);
  assert.deepEqual(ticks, [
    { n: 0, kind: "EVEN" },
    { n: 1, kind: "ODD" },
    { n: 2, kind: "EVEN" },
  ]);
  const seen = [];
  for await (const tick of await client.call("feed", {}, { timeoutMs: 60_000 })) {
    seen.push(tick.n);
    if (seen.length === 3) break;
  }
  assert.deepEqual(seen, [0, 1, 2]);
  assert.equal((await lab.state.feedAborted as FlotillaError).kind, "CANCELLED");
  // A stream refused before it starts rejects the call itself.
  await assert.rejects(client.call("ticks", { count: 5_000 } as { count: number }), {
    kind: "INVALID_ARGUMENT",
  });
});

Deno.test("grpcCaller() streams over the JSON fallback with a jsonBinding()", async () => {
  await using lab = await startLab();
  await using caller = grpcCaller({ bindings: [jsonBinding(labContract)] });
  const client = labClient(caller, lab.endpoint);
  const ticks = [];
  for await (const tick of await client.call("ticks", { count: 2 })) ticks.push(tick);
  assert.deepEqual(ticks, [{ n: 0, kind: "EVEN" }, { n: 1, kind: "ODD" }]);
});

Deno.test("grpcAddressOf() reads the grpc_port of an announced instance, a grpc:// URL, or a grpc protocol", () => {
  const endpoint = (
    url: string,
    address: string,
    port: number,
    metadata: Record<string, string>,
  ): PeerEndpoint => ({
    id: url,
    url,
    instance: { service: "s", id: url, address, port, metadata },
  });
  assert.equal(
    grpcAddressOf(endpoint("http://10.0.0.5:7001", "10.0.0.5", 7001, { grpc_port: "7002" })),
    "10.0.0.5:7002",
  );
  assert.equal(
    grpcAddressOf(endpoint("grpc://127.0.0.1:9000", "127.0.0.1", 9000, {})),
    "127.0.0.1:9000",
  );
  assert.equal(
    grpcAddressOf(endpoint("http://127.0.0.1:9001", "127.0.0.1", 9001, { protocol: "grpc" })),
    "127.0.0.1:9001",
  );
  assert.equal(grpcAddressOf(endpoint("http://[::1]:1", "::1", 1, { grpc_port: "2" })), "[::1]:2");
  assert.equal(grpcAddressOf(endpoint("http://127.0.0.1:1", "127.0.0.1", 1, {})), undefined);
});

Deno.test("grpcCaller() refuses an endpoint without a gRPC address", async () => {
  await using caller = grpcCaller();
  const endpoint: PeerEndpoint = {
    id: "x",
    url: "http://127.0.0.1:1",
    instance: { service: "lab", id: "x", address: "127.0.0.1", port: 1, metadata: {} },
  };
  const call: OutboundCall = {
    service: "lab",
    action: "greet",
    input: { name: "x" },
    idempotent: true,
    deadline: Date.now() + 1_000,
    trace: newTrace(),
    caller: "tester",
    idempotencyKey: undefined,
    signal: new AbortController().signal,
    clock: systemClock,
  };
  await assert.rejects(caller(endpoint, call), { code: "NO_GRPC_ADDRESS", kind: "UNAVAILABLE" });
  assert.throws(() => grpcCaller({ maxChannels: 0 }), RangeError);
});

Deno.test("callPipeline() with grpcCaller() as its transport retries a refused endpoint on another", async () => {
  await using lab = await startLab();
  await using caller = grpcCaller({ bindings: [labBinding()] });
  const dead = endpointAt(freePort(), "dead");
  let lookups = 0;
  const events: PipelineEvent[] = [];
  const pipeline = callPipeline({
    service: "lab",
    // The first attempt sees only the dead instance; the retry sees both and avoids it.
    endpoints: { current: () => lookups++ === 0 ? [dead] : [dead, lab.endpoint] },
    transport: caller,
    policy: (action) => resolvePolicy({}, "lab", action),
    onEvent: (event) => events.push(event),
  });
  const client = createClient(labContract, pipeline, { caller: "order" });
  // `add` is not idempotent: only a refusal (nothing sent) lets the pipeline retry it.
  assert.deepEqual(await client.call("add", { amount: 4, tags: [] }), { total: 4 });
  assert.equal(lab.state.adds, 1);
  assert.deepEqual(events.map((event) => event.type), ["retry"]);
  assert.deepEqual(await client.call("history", {}), [4]);
});

Deno.test("grpcCaller() reaches an instance again once it is back on the same port", async () => {
  const lab = await startLab();
  await using caller = grpcCaller({ bindings: [labBinding()] });
  const client = labClient(caller, lab.endpoint);
  assert.deepEqual(await client.call("greet", { name: "A" }), { text: "Hello, A" });
  await lab.running.stop();
  await assert.rejects(client.call("greet", { name: "B" }), { code: "CONNECTION_REFUSED" });
  const { service } = createLab();
  const again = await runService(service, {
    logger: new Logger({ sink: new MemorySink() }),
    transports: [grpcTransport({ port: lab.port, binding: labBinding() })],
    signals: [],
  });
  await using _ = again;
  // The channel reconnects on its own (backoff of at most 2 s): no new caller is needed.
  const answer = await waitFor(() => client.call("greet", { name: "C" }), {
    what: "the restarted instance",
    timeoutMs: 30_000,
  });
  assert.deepEqual(answer, { text: "Hello, C" });
});
