import assert from "node:assert/strict";
import { connect, headers } from "@nats-io/transport-node";
import {
  createClient,
  FlotillaError,
  Logger,
  MemorySink,
  runService,
  ServiceHost,
} from "@flotilla/core";
import { callPipeline, type PeerEndpoint, Peers } from "@flotilla/client";
import { MemoryRegistry, registryAnnouncer } from "@flotilla/discovery";
import { httpTransport } from "@flotilla/http";
import { resolvePolicy } from "@flotilla/resilience";
import { startNats } from "@flotilla/testing";
import { natsRpcCaller } from "./nats_rpc_caller.ts";
import { natsRpcTransport } from "./nats_rpc_transport.ts";
import { natsRpcSubject } from "./subjects.ts";
import { calcContract, calcService, endpoint, outboundCall, startCalc } from "./_test_util.ts";

const decoder = new TextDecoder();

Deno.test("natsRpcTransport() rejects bad options with RangeError", () => {
  assert.throws(() => natsRpcTransport({}), /exactly one of 'servers' and 'nc'/);
  assert.throws(
    () => natsRpcTransport({ servers: "nats://127.0.0.1:1", subjectPrefix: "rpc.>" }),
    /subjectPrefix/,
  );
  assert.throws(
    () => natsRpcTransport({ servers: "nats://127.0.0.1:1", instanceId: "" }),
    RangeError,
  );
});

Deno.test("natsRpcTransport() answers the envelope on the queue and instance subjects", async () => {
  await using nats = await startNats();
  await using calc = await startCalc(nats.url, "calc-1");
  assert.deepEqual(calc.running.addresses.nats, { hostname: "127.0.0.1", port: nats.port });
  assert.equal(calc.transport.name, "nats");
  assert.equal(calc.transport.instanceId, "calc-1");
  const nc = await connect({ servers: nats.url });
  try {
    const request = async (subject: string, body: string, hdrs?: Record<string, string>) => {
      const h = headers();
      for (const [key, value] of Object.entries(hdrs ?? {})) h.set(key, value);
      const reply = await nc.request(subject, body, { timeout: 5_000, headers: h });
      return JSON.parse(decoder.decode(reply.data));
    };
    const input = JSON.stringify({ input: { a: 2, b: 5 } });
    assert.deepEqual(await request("flotilla.rpc.calc.add", input), {
      ok: true,
      output: { sum: 7, by: "calc-1" },
    });
    assert.deepEqual(await request("flotilla.rpc.calc.calc-1.add", input), {
      ok: true,
      output: { sum: 7, by: "calc-1" },
    });
    assert.deepEqual(await request(natsRpcSubject("calc", "nothing"), '{"input":{}}'), {
      ok: true,
    });

    const malformed = await request(natsRpcSubject("calc", "add"), "{not json");
    assert.equal(malformed.ok, false);
    assert.equal(malformed.error.code, "MALFORMED_JSON");
    assert.equal(malformed.error.kind, "INVALID_ARGUMENT");
    assert.equal(typeof malformed.error.traceId, "string");

    const badTimeout = await request(natsRpcSubject("calc", "add"), input, {
      "flotilla-timeout-ms": "soon",
    });
    assert.equal(badTimeout.error.code, "INVALID_TIMEOUT");
    // Header names are matched without regard to case, as other NATS clients canonicalise them.
    const canonical = await request(natsRpcSubject("calc", "add"), input, {
      "Flotilla-Timeout-Ms": "-1",
    });
    assert.equal(canonical.error.code, "INVALID_TIMEOUT");
    const badKey = await request(natsRpcSubject("calc", "add"), input, {
      "idempotency-key": "has spaces",
    });
    assert.equal(badKey.error.code, "INVALID_IDEMPOTENCY_KEY");
    assert.deepEqual(calc.probe.added, [{ a: 2, b: 5 }, { a: 2, b: 5 }]);
  } finally {
    await nc.close();
  }
});

Deno.test("natsRpcTransport() drains on stop: no new calls, in-flight ones finish", async () => {
  await using nats = await startNats();
  const calc = await startCalc(nats.url, "calc-1");
  await using caller = natsRpcCaller({ servers: nats.url });
  const first = caller(endpoint("calc-1"), outboundCall("gate", { id: 1 }));
  assert.equal(await calc.probe.gateEntered, 1);
  assert.equal(calc.transport.inFlight, 1);

  let stopped = false;
  const stopping = calc.running.stop().then(() => stopped = true);
  // A call that comes now is turned down unrun — refused while draining, or no responders
  // once the subscriptions are gone — so a caller may send it to another instance.
  try {
    await caller(endpoint("calc-1"), outboundCall("add", { a: 1, b: 1 }));
    assert.fail("expected the call to be refused");
  } catch (error) {
    assert.ok(error instanceof FlotillaError);
    assert.equal(error.code, "CONNECTION_REFUSED");
    assert.ok(["refused", "no_responders"].includes(String(error.data?.reason)));
  }
  assert.deepEqual(calc.probe.added, []);
  assert.equal(stopped, false, "stop() must wait for the call in flight");

  calc.probe.openGate();
  assert.deepEqual(await first, { id: 1 });
  await stopping;
  assert.equal(calc.transport.inFlight, 0);
  assert.equal(calc.running.host.state, "stopped");
  const after = await caller(endpoint("calc-1"), outboundCall("add", { a: 1, b: 1 })).then(
    () => undefined,
    (error: FlotillaError) => error,
  );
  assert.equal(after?.data?.reason, "no_responders");
});

Deno.test("natsRpcTransport() leaves a connection it was given open when stopped", async () => {
  await using nats = await startNats();
  const nc = await connect({ servers: nats.url });
  try {
    const { service } = calcService("calc-borrowed");
    const running = await runService(service, {
      transports: [natsRpcTransport({ nc, instanceId: "calc-b" })],
      signals: [],
      logger: new Logger({ sink: new MemorySink() }),
    });
    await using caller = natsRpcCaller({ nc });
    assert.deepEqual(await caller(endpoint("calc-b"), outboundCall("add", { a: 1, b: 2 })), {
      sum: 3,
      by: "calc-borrowed",
    });
    await running.stop();
    assert.equal(nc.isClosed(), false);
  } finally {
    await nc.close();
  }
});

Deno.test("natsRpcTransport() beside HTTP, announced with its instance id, is called through Peers", async () => {
  await using nats = await startNats();
  await using registry = new MemoryRegistry();
  const { service } = calcService("calc-x");
  const running = await runService(service, {
    transports: [
      httpTransport({ port: 0 }),
      natsRpcTransport({ servers: nats.url, instanceId: "calc-x" }),
    ],
    announcer: registryAnnouncer(registry, { instanceId: "calc-x" }),
    signals: [],
    logger: new Logger({ sink: new MemorySink() }),
  });
  try {
    assert.deepEqual((await registry.instances("calc")).map((instance) => instance.id), ["calc-x"]);
    await using transport = natsRpcCaller({ servers: nats.url });
    await using peers = new Peers({ caller: "tester", registry, transport });
    const calc = peers.client(calcContract);
    assert.deepEqual(await calc.call("add", { a: 20, b: 22 }), { sum: 42, by: "calc-x" });
  } finally {
    await running.stop();
  }
});

Deno.test("natsRpcTransport() refuses calls unrun until the host is ready, and starts once", async () => {
  await using nats = await startNats();
  const transport = natsRpcTransport({ servers: nats.url });
  const { service, probe } = calcService("calc");
  const host = new ServiceHost(service, { logger: new Logger({ sink: new MemorySink() }) });
  await transport.start(host);
  await using caller = natsRpcCaller({ servers: nats.url, addressing: "queue" });
  try {
    assert.match(transport.instanceId ?? "", /^calc-[0-9a-f]{8}$/);
    await assert.rejects(() => transport.start(host), /started before/);
    const refused = await caller(endpoint("calc"), outboundCall("add", { a: 1, b: 1 })).then(
      () => undefined,
      (error: FlotillaError) => error,
    );
    assert.equal(refused?.code, "CONNECTION_REFUSED");
    assert.equal(refused?.data?.reason, "refused");
    assert.deepEqual(probe.added, []);
    host.markReady();
    assert.deepEqual(await caller(endpoint("calc"), outboundCall("add", { a: 1, b: 1 })), {
      sum: 2,
      by: "calc",
    });
  } finally {
    await transport.stop(AbortSignal.timeout(5_000));
  }
});

/**
 * Runs `total` calls of the non-idempotent `add` (a = call number) from 16
 * workers through a pipeline with retries, stopping instance `calc-a` once
 * `stopAt` calls have started. Returns the outputs and what each instance ran.
 */
async function failover(addressing: "instance" | "queue") {
  await using nats = await startNats();
  await using a = await startCalc(nats.url, "calc-a");
  await using b = await startCalc(nats.url, "calc-b");
  await using caller = natsRpcCaller({ servers: nats.url, addressing });
  // Discovery is stale on purpose: calc-a stays listed after it has stopped.
  const endpoints: PeerEndpoint[] = addressing === "instance"
    ? [endpoint("calc-a"), endpoint("calc-b")]
    : [endpoint("calc", nats.url)];
  const pipeline = callPipeline({
    service: "calc",
    endpoints: { current: () => endpoints },
    transport: caller,
    policy: (action) =>
      resolvePolicy({ defaults: { retry: { maxAttempts: 5, baseDelayMs: 5 } } }, "calc", action),
  });
  const client = createClient(calcContract, pipeline, { caller: "tester" });
  const total = 3_000;
  const stopAt = 1_000;
  let next = 0;
  let stopping: Promise<void> | undefined;
  const outputs = new Map<number, string>();
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < total) {
      const i = next++;
      if (i === stopAt) stopping = a.running.stop();
      const output = await client.call("add", { a: i, b: 0 });
      assert.equal(output.sum, i);
      outputs.set(i, output.by);
    }
  }));
  await stopping;
  return { outputs, a: a.probe.added.map((x) => x.a), b: b.probe.added.map((x) => x.a), total };
}

for (const addressing of ["instance", "queue"] as const) {
  Deno.test(`natsRpcTransport() with ${addressing} addressing: stopping one of two instances mid-run loses no call and runs none twice`, async () => {
    const { outputs, a, b, total } = await failover(addressing);
    assert.equal(outputs.size, total);
    const ran = [...a, ...b].sort((x, y) => x - y);
    // Each call ran exactly once although `add` is not idempotent: only calls that certainly
    // did not run (refused while draining, no responders) were sent again.
    assert.deepEqual(ran, Array.from({ length: total }, (_, i) => i));
    assert.ok(a.length > 0, "calc-a took calls before it stopped");
    assert.ok(b.some((i) => i > 2_000), "calc-b took the calls after");
    for (const [i, by] of outputs) assert.equal(by, a.includes(i) ? "calc-a" : "calc-b");
  });
}
