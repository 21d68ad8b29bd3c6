import assert from "node:assert/strict";
import { z } from "zod";
import { ManualClock } from "./clock.ts";
import type { Context } from "./context.ts";
import { defineContract } from "./contract.ts";
import { FlotillaError, ValidationError } from "./errors.ts";
import { ServiceHost, type Transport } from "./host.ts";
import { Logger, MemorySink } from "./logger.ts";
import { defineService } from "./service.ts";
import { formatTraceparent, newTrace, type TraceContext } from "./trace.ts";
import type { StandardSchema } from "./schema.ts";
import { streamOf } from "./stream_of.ts";

const contract = defineContract({
  name: "calc",
  version: "1.0.0",
  actions: {
    add: {
      input: z.strictObject({ a: z.number().int(), b: z.number().int() }),
      output: z.object({ sum: z.number() }),
    },
    broken: { input: z.object({}), output: z.object({ ok: z.literal(true) }) },
    wait: { input: z.object({}), output: z.object({ done: z.boolean() }) },
  },
});

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => resolve = r);
  return { promise, resolve };
}

function setup(options: { drainTimeoutMs?: number } = {}) {
  const sink = new MemorySink();
  const gate = deferred();
  const started = deferred<Context>();
  let calls = 0;
  const service = defineService(contract, {
    add: ({ a, b }) => {
      calls++;
      return { sum: a + b };
    },
    broken: () => ({ ok: false as unknown as true }),
    wait: async (_input, ctx) => {
      started.resolve(ctx);
      await gate.promise;
      return { done: !ctx.signal.aborted };
    },
  });
  const host = new ServiceHost(service, {
    logger: new Logger({ sink, level: "debug" }),
    ...options,
  });
  return { host, sink, gate, started, calls: () => calls };
}

Deno.test("ServiceHost.invoke() refuses calls until it is ready", async () => {
  const { host } = setup();
  await assert.rejects(
    host.invoke("add", { a: 1, b: 2 }, {}),
    (e: FlotillaError) => e.kind === "UNAVAILABLE",
  );
  host.markReady();
  assert.deepEqual((await host.invoke("add", { a: 1, b: 2 }, {})).output, { sum: 3 });
});

Deno.test("ServiceHost.invoke() rejects bad input naming each field, without running the handler", async () => {
  const { host, calls } = setup();
  host.markReady();
  await assert.rejects(host.invoke("add", { a: "1", c: 2 }, {}), (error: unknown) => {
    assert.ok(error instanceof ValidationError);
    const pointers = error.issues.map((i) => i.pointer).sort();
    assert.deepEqual(pointers, ["", "/a", "/b"]);
    return true;
  });
  assert.equal(calls(), 0);
});

Deno.test("ServiceHost.invoke() turns output that breaks the contract into INTERNAL", async () => {
  const { host, sink } = setup();
  host.markReady();
  await assert.rejects(
    host.invoke("broken", {}, {}),
    (e: FlotillaError) => e.code === "INVALID_OUTPUT",
  );
  assert.ok(sink.records.some((r) => r.level === "error"));
});

Deno.test("ServiceHost.invoke() reports an unknown action as NOT_FOUND", async () => {
  const { host } = setup();
  host.markReady();
  await assert.rejects(
    host.invoke("nope", {}, {}),
    (e: FlotillaError) => e.code === "UNKNOWN_ACTION",
  );
});

Deno.test("ServiceHost.invoke() continues the caller's trace and logs with its ids", async () => {
  const { host, started, gate } = setup();
  host.markReady();
  const caller = newTrace();
  const call = host.invoke("wait", {}, {
    traceparent: formatTraceparent(caller),
    idempotencyKey: "k-1",
  });
  const ctx = await started.promise;
  gate.resolve();
  const { trace } = await call;
  assert.equal(trace.traceId, caller.traceId);
  assert.equal(trace.parentSpanId, caller.spanId);
  assert.equal(ctx.idempotencyKey, "k-1");
  assert.equal(ctx.caller.kind, "external");
});

Deno.test("ServiceHost.invoke() fails with DEADLINE_EXCEEDED when the deadline passes first", async () => {
  const { host, gate } = setup();
  host.markReady();
  await assert.rejects(
    host.invoke("wait", {}, { timeoutMs: 1 }),
    (e: FlotillaError) => e.kind === "DEADLINE_EXCEEDED",
  );
  gate.resolve();
});

Deno.test("ServiceHost.invoke() gives the handler the remaining time of the caller", async () => {
  const clock = new ManualClock(1_000);
  const service = defineService(contract, {
    add: (_input, ctx) => ({ sum: ctx.remaining() }),
    broken: () => ({ ok: true as const }),
    wait: () => ({ done: true }),
  });
  const host = new ServiceHost(service, { clock, logger: new Logger({ sink: new MemorySink() }) });
  host.markReady();
  assert.deepEqual((await host.invoke("add", { a: 0, b: 0 }, { timeoutMs: 250 })).output, {
    sum: 250,
  });
});

Deno.test("ServiceHost.stop() waits for in-flight calls, then refuses new ones", async () => {
  const { host, gate, started } = setup();
  host.markReady();
  const inFlight = host.invoke("wait", {}, {});
  await started.promise;
  let transportStopped = false;
  const transport: Transport = {
    name: "fake",
    start: () => Promise.resolve({ hostname: "x", port: 1 }),
    stop: () => {
      transportStopped = true;
      return Promise.resolve();
    },
  };
  const stopping = host.stop([transport]);
  assert.equal(host.state, "draining");
  assert.equal((await host.readiness()).ready, false);
  await assert.rejects(
    host.invoke("add", { a: 1, b: 1 }, {}),
    (e: FlotillaError) => e.kind === "UNAVAILABLE",
  );
  gate.resolve();
  assert.deepEqual((await inFlight).output, { done: true });
  await stopping;
  assert.equal(host.state, "stopped");
  assert.ok(transportStopped);
});

Deno.test("ServiceHost.stop() aborts calls still running after the drain timeout", async () => {
  const { host, started } = setup({ drainTimeoutMs: 1 });
  host.markReady();
  const inFlight = host.invoke("wait", {}, {});
  const ctx = await started.promise;
  const rejected = assert.rejects(inFlight, (e: FlotillaError) => e.code === "SHUTTING_DOWN");
  await host.stop();
  assert.ok(ctx.signal.aborted);
  await rejected;
});

Deno.test("ServiceHost.readiness() reports each check", async () => {
  let healthy = false;
  const service = defineService(contract, {
    add: () => ({ sum: 0 }),
    broken: () => ({ ok: true as const }),
    wait: () => ({ done: true }),
  }, { readiness: [{ name: "db", check: () => healthy }, { name: "throws", check: () => true }] });
  const host = new ServiceHost(service, { logger: new Logger({ sink: new MemorySink() }) });
  host.markReady();
  assert.deepEqual(await host.readiness(), {
    ready: false,
    state: "ready",
    checks: { db: false, throws: true },
  });
  healthy = true;
  assert.equal((await host.readiness()).ready, true);
});

Deno.test("ServiceHost rejects a non-positive timeout option", () => {
  const service = defineService(contract, {
    add: () => ({ sum: 0 }),
    broken: () => ({ ok: true as const }),
    wait: () => ({ done: true }),
  });
  assert.throws(() => new ServiceHost(service, { drainTimeoutMs: 0 }), RangeError);
});

Deno.test("ServiceHost.invoke() refuses a streaming action, whose stream would outlive the call", async () => {
  let ran = false;
  const feed = defineContract({
    name: "feed",
    version: "1.0.0",
    actions: { ticks: { input: z.object({}), output: streamOf(z.number()) } },
  });
  const host = new ServiceHost(
    defineService(feed, {
      ticks: async function* () {
        ran = true;
        yield 1;
      },
    }),
    { logger: new Logger({ sink: new MemorySink() }) },
  );
  host.markReady();
  await assert.rejects(
    host.invoke("ticks", {}, {}),
    (e: FlotillaError) => e.code === "STREAMING_ACTION" && e.kind === "UNIMPLEMENTED",
  );
  assert.equal(ran, false);
});

Deno.test("ServiceHost.invoke() reports each admitted call to its inbound observer and runs it in the observation's trace", async () => {
  const seen: Array<{ call: unknown; error: unknown }> = [];
  const decided = { ...newTrace(false) };
  const service = defineService(contract, {
    add: ({ a, b }, ctx) => ({ sum: ctx.trace === decided ? a + b : -1 }),
    broken: () => ({ ok: false as unknown as true }),
    wait: () => ({ done: true }),
  });
  const host = new ServiceHost(service, {
    logger: new Logger({ sink: new MemorySink() }),
    inbound: {
      start(call) {
        const entry = { call, error: null as unknown };
        seen.push(entry);
        return { trace: decided, end: (error) => entry.error = error };
      },
    },
  });
  host.markReady();
  const trace = newTrace();
  const { output, trace: ran } = await host.invoke("add", { a: 1, b: 2 }, {
    trace,
    transport: "grpc",
    caller: { kind: "service", service: "gateway" },
  });
  assert.deepEqual(output, { sum: 3 });
  assert.equal(ran, decided);
  await assert.rejects(host.invoke("add", { a: "x" }, {}), ValidationError);
  await assert.rejects(host.invoke("nope", {}, {}));
  assert.deepEqual(seen.map((s) => s.call), [
    { service: "calc", action: "add", transport: "grpc", trace, caller: "gateway" },
    {
      service: "calc",
      action: "add",
      transport: "http",
      trace: (seen[1]!.call as { trace: unknown }).trace,
      caller: undefined,
    },
  ]);
  assert.equal(seen[0]!.error, undefined);
  assert.ok(seen[1]!.error instanceof ValidationError, "ended with the normalized error");
});

/** An observer that records how each call ended, and how many times. */
function recordingObserver() {
  const ends: unknown[][] = [];
  return {
    ends,
    observer: {
      start: (call: { trace: TraceContext }) => {
        const mine: unknown[] = [];
        ends.push(mine);
        return { trace: call.trace, end: (error: unknown) => void mine.push(error) };
      },
    },
  };
}

Deno.test("ServiceHost.invoke() ends each call once, whether its handler returns, throws or rejects", async () => {
  const boom = new FlotillaError("BOOM", "boom", { kind: "FAILED_PRECONDITION" });
  const service = defineService(contract, {
    add: ({ a }) => {
      if (a === 0) throw boom;
      return { sum: a };
    },
    broken: () => ({ ok: false as unknown as true }),
    wait: () => Promise.reject(boom),
  });
  const { ends, observer } = recordingObserver();
  const host = new ServiceHost(service, {
    logger: new Logger({ sink: new MemorySink() }),
    inbound: observer,
  });
  host.markReady();
  assert.deepEqual((await host.invoke("add", { a: 2, b: 0 }, {})).output, { sum: 2 });
  await assert.rejects(host.invoke("add", { a: 0, b: 0 }, {}), (e) => e === boom);
  await assert.rejects(host.invoke("wait", {}, {}), (e) => e === boom);
  await assert.rejects(
    host.invoke("broken", {}, {}),
    (e: FlotillaError) => e.code === "INVALID_OUTPUT",
  );
  assert.equal(ends.length, 4);
  assert.deepEqual(ends.slice(0, 3), [[undefined], [boom], [boom]]);
  assert.equal(ends[3]!.length, 1);
  assert.equal((ends[3]![0] as FlotillaError).code, "INVALID_OUTPUT");
  assert.equal(host.inFlight, 0);
});

Deno.test("ServiceHost.invoke() validates with async schemas both ways", async () => {
  const later = <T>(schema: z.ZodType<T>): StandardSchema<T> => ({
    "~standard": {
      version: 1,
      vendor: "test",
      validate: (value) => Promise.resolve(schema["~standard"].validate(value)),
    },
  });
  const asyncContract = defineContract({
    name: "async",
    version: "1.0.0",
    actions: {
      echo: {
        input: later(z.object({ n: z.number() })),
        output: later(z.object({ n: z.number() })),
      },
    },
  });
  const service = defineService(asyncContract, {
    echo: ({ n }) => (n < 0 ? { n: "negative" as unknown as number } : { n }),
  });
  const host = new ServiceHost(service, { logger: new Logger({ sink: new MemorySink() }) });
  host.markReady();
  assert.deepEqual((await host.invoke("echo", { n: 1 }, {})).output, { n: 1 });
  await assert.rejects(host.invoke("echo", { n: "x" }, {}), ValidationError);
  await assert.rejects(
    host.invoke("echo", { n: -1 }, {}),
    (e: FlotillaError) => e.code === "INVALID_OUTPUT",
  );
});

Deno.test("ServiceHost.inFlight counts a handler past its deadline until it settles", async () => {
  const { host, gate, started } = setup();
  host.markReady();
  const call = host.invoke("wait", {}, { timeoutMs: 1 });
  const ctx = await started.promise;
  assert.equal(host.inFlight, 1);
  await assert.rejects(call, (e: FlotillaError) => e.kind === "DEADLINE_EXCEEDED");
  assert.ok(ctx.signal.aborted);
  assert.equal(host.inFlight, 1, "the handler still runs: a drain waits for it");
  gate.resolve();
  while (host.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 1));
});
