import assert from "node:assert/strict";
import {
  type FlotillaError,
  newTrace,
  NotFoundError,
  type OutboundCall,
  UnavailableError,
} from "@flotilla/core";
import { ManualTimers, type PolicyConfig, resolvePolicy } from "@flotilla/resilience";
import type { PeerEndpoint } from "./endpoints.ts";
import type { PipelineEvent } from "./events.ts";
import { callPipeline, type EndpointTransport } from "./pipeline.ts";

function endpoint(id: string): PeerEndpoint {
  return {
    id,
    url: `http://${id}`,
    instance: { service: "payment", id, address: id, port: 1, metadata: {} },
  };
}

interface Setup {
  endpoints?: PeerEndpoint[];
  transport: EndpointTransport;
  policies?: PolicyConfig;
}

function setup({ endpoints = [endpoint("a"), endpoint("b")], transport, policies = {} }: Setup) {
  const timers = new ManualTimers();
  const events: PipelineEvent[] = [];
  const observed: Array<{ action: string; error: unknown }> = [];
  // Backoff sleeps run on the manual timers; let each one elapse as soon as it is scheduled.
  const autoTimers = {
    setTimeout(callback: () => void, ms: number) {
      const id = timers.setTimeout(callback, ms);
      queueMicrotask(() => timers.advance(ms));
      return id;
    },
    clearTimeout: (id: number) => timers.clearTimeout(id),
  };
  const pipeline = callPipeline({
    service: "payment",
    endpoints: { current: () => endpoints },
    transport,
    policy: (action) => resolvePolicy(policies, "payment", action),
    clock: timers,
    timers: autoTimers,
    random: () => 0.5,
    onEvent: (event) => events.push(event),
    observer: {
      start: (call) => ({ end: (error) => observed.push({ action: call.action, error }) }),
    },
  });
  const call = (action: string, extra: Partial<OutboundCall> = {}): Promise<unknown> =>
    pipeline({
      service: "payment",
      action,
      input: {},
      idempotent: true,
      deadline: timers.now() + 60_000,
      trace: newTrace(),
      caller: "test",
      idempotencyKey: undefined,
      signal: new AbortController().signal,
      clock: timers,
      ...extra,
    });
  return { pipeline, call, timers, events, observed };
}

const unavailable = () => new UnavailableError("down", { code: "CONNECTION_FAILED" });

Deno.test("callPipeline() sends a call to one endpoint and reports it to the observer", async () => {
  const seen: string[] = [];
  const { call, observed } = setup({
    transport: (endpoint) => {
      seen.push(endpoint.id);
      return Promise.resolve({ ok: true });
    },
  });
  assert.deepEqual(await call("charge"), { ok: true });
  assert.equal(seen.length, 1);
  assert.deepEqual(observed, [{ action: "charge", error: undefined }]);
});

Deno.test("callPipeline() fails fast with NO_ENDPOINTS when discovery knows none", async () => {
  let sent = 0;
  const { call } = setup({ endpoints: [], transport: () => Promise.resolve(sent++) });
  await assert.rejects(call("charge"), (e: FlotillaError) => e.code === "NO_ENDPOINTS");
  assert.equal(sent, 0);
});

Deno.test("callPipeline() retries an idempotent call on another endpoint", async () => {
  const seen: string[] = [];
  const { call, events } = setup({
    transport: (endpoint) => {
      seen.push(endpoint.id);
      return seen.length === 1 ? Promise.reject(unavailable()) : Promise.resolve("done");
    },
  });
  assert.equal(await call("charge"), "done");
  assert.equal(seen.length, 2);
  assert.notEqual(seen[0], seen[1]);
  assert.ok(events.some((e) => e.type === "retry"));
});

Deno.test("callPipeline() does not retry a non-idempotent call that may have reached the callee", async () => {
  let sent = 0;
  const { call } = setup({
    transport: () => {
      sent++;
      return Promise.reject(unavailable());
    },
  });
  await assert.rejects(
    call("placeOrder", { idempotent: false }),
    (e: FlotillaError) => e.code === "CONNECTION_FAILED",
  );
  assert.equal(sent, 1);
});

Deno.test("callPipeline() retries a non-idempotent call that carries an idempotency key", async () => {
  let sent = 0;
  const { call } = setup({
    transport: () => ++sent === 1 ? Promise.reject(unavailable()) : Promise.resolve("ok"),
  });
  assert.equal(await call("placeOrder", { idempotent: false, idempotencyKey: "k-1" }), "ok");
  assert.equal(sent, 2);
});

Deno.test("callPipeline() retries any call whose request was never sent", async () => {
  let sent = 0;
  const { call } = setup({
    transport: () =>
      ++sent === 1
        ? Promise.reject(new UnavailableError("refused", { code: "CONNECTION_REFUSED" }))
        : Promise.resolve("ok"),
  });
  assert.equal(await call("placeOrder", { idempotent: false }), "ok");
});

Deno.test("callPipeline() neither retries nor counts a caller's mistake against the endpoint", async () => {
  let sent = 0;
  const { call, pipeline } = setup({
    endpoints: [endpoint("a")],
    transport: () => {
      sent++;
      return Promise.reject(new NotFoundError("ORDER_NOT_FOUND", "no such order"));
    },
    policies: {
      defaults: { breaker: { minimumNumberOfCalls: 2, slidingWindow: { type: "count", size: 4 } } },
    },
  });
  for (let i = 0; i < 10; i++) {
    await assert.rejects(call("getOrder"), (e: FlotillaError) => e.code === "ORDER_NOT_FOUND");
  }
  assert.equal(sent, 10);
  assert.deepEqual(pipeline.breakers(), { a: "closed" });
});

Deno.test("callPipeline() opens the breaker, fails fast, then closes it through half-open", async () => {
  let healthy = false;
  let sent = 0;
  const { call, pipeline, timers, events } = setup({
    endpoints: [endpoint("a")],
    transport: () => {
      sent++;
      return healthy ? Promise.resolve("ok") : Promise.reject(unavailable());
    },
    policies: {
      defaults: {
        retry: false,
        outlier: false,
        breaker: {
          minimumNumberOfCalls: 4,
          slidingWindow: { type: "count", size: 4 },
          waitDurationInOpenMs: 5_000,
          permittedCallsInHalfOpen: 2,
        },
      },
    },
  });
  for (let i = 0; i < 4; i++) await assert.rejects(call("charge"));
  assert.deepEqual(pipeline.breakers(), { a: "open" });
  const sentWhenOpened = sent;
  await assert.rejects(call("charge"), (e: FlotillaError) => e.code === "CIRCUIT_OPEN");
  assert.equal(sent, sentWhenOpened, "an open breaker sends nothing");

  healthy = true;
  timers.advance(5_000);
  assert.equal(await call("charge"), "ok");
  assert.equal(pipeline.breakers().a, "half_open");
  assert.equal(await call("charge"), "ok");
  assert.deepEqual(pipeline.breakers(), { a: "closed" });
  const transitions = events.filter((e) => e.type === "breaker").map((e) =>
    e.type === "breaker" && e.to
  );
  assert.deepEqual(transitions, ["open", "half_open", "closed"]);
});

Deno.test("callPipeline() keeps retries within the budget during a storm of failures", async () => {
  let sent = 0;
  const { call } = setup({
    endpoints: [endpoint("a"), endpoint("b"), endpoint("c")],
    transport: () => {
      sent++;
      return Promise.reject(unavailable());
    },
    policies: {
      defaults: {
        breaker: false,
        outlier: false,
        retry: { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 1 },
      },
    },
  });
  const calls = 500;
  for (let i = 0; i < calls; i++) await assert.rejects(call("charge"));
  const retries = sent - calls;
  // Within one 10 s window: 20 % of the calls, plus the floor of 10 retries a second.
  assert.ok(retries <= calls * 0.2 + 10 * 10, `${retries} retries for ${calls} calls`);
  assert.ok(retries > 0);
});

Deno.test("callPipeline() ends a hanging call at the policy's timeout", async () => {
  const { call } = setup({
    endpoints: [endpoint("a")],
    transport: (_endpoint, c) =>
      new Promise((_resolve, reject) =>
        c.signal.addEventListener("abort", () => reject(c.signal.reason))
      ),
    policies: { defaults: { timeoutMs: 20, retry: false } },
  });
  await assert.rejects(call("charge"), (e: FlotillaError) => e.kind === "DEADLINE_EXCEEDED");
});

Deno.test("callPipeline() ejects an endpoint after consecutive failures", async () => {
  const seen: string[] = [];
  const { call, events } = setup({
    endpoints: [endpoint("a"), endpoint("b"), endpoint("c"), endpoint("d")],
    transport: (e) => {
      seen.push(e.id);
      return e.id === "a" ? Promise.reject(unavailable()) : Promise.resolve("ok");
    },
    policies: {
      defaults: {
        balancer: "round_robin",
        breaker: false,
        retry: false,
        outlier: { consecutiveFailures: 3 },
      },
    },
  });
  for (let i = 0; i < 200; i++) await call("charge").catch(() => {});
  assert.ok(events.some((e) => e.type === "ejected" && e.endpoint === "a"));
  assert.equal(seen.filter((id) => id === "a").length, 3);
});

Deno.test("callPipeline() rejects with BULKHEAD_FULL beyond the endpoint's concurrency", async () => {
  const gates: Array<() => void> = [];
  const { call } = setup({
    endpoints: [endpoint("a")],
    transport: () => new Promise((resolve) => gates.push(() => resolve("ok"))),
    policies: { defaults: { retry: false, bulkhead: { maxConcurrent: 2, maxQueue: 0 } } },
  });
  const first = call("charge");
  const second = call("charge");
  await assert.rejects(call("charge"), (e: FlotillaError) => e.code === "BULKHEAD_FULL");
  while (gates.length < 2) await Promise.resolve();
  gates.forEach((open) => open());
  assert.deepEqual(await Promise.all([first, second]), ["ok", "ok"]);
});

Deno.test("callPipeline() gives up an attempt after attemptTimeoutMs and retries it elsewhere", async () => {
  const seen: string[] = [];
  const { call, events } = setup({
    policies: { defaults: { attemptTimeoutMs: 20 } },
    transport: (endpoint, attempt) => {
      seen.push(endpoint.id);
      // The first endpoint died silently: it never answers (as over a broker).
      if (seen.length === 1) {
        return new Promise((_, reject) =>
          attempt.signal.addEventListener("abort", () => reject(attempt.signal.reason))
        );
      }
      return Promise.resolve("done");
    },
  });
  assert.equal(await call("charge"), "done");
  assert.equal(seen.length, 2);
  assert.notEqual(seen[0], seen[1]);
  const retry = events.find((e) => e.type === "retry") as { error: FlotillaError } | undefined;
  assert.equal(retry?.error.code, "ATTEMPT_TIMEOUT");
});

Deno.test("callPipeline() does not retry an attempt that timed out when the call may not be repeated", async () => {
  let sent = 0;
  const { call } = setup({
    policies: { defaults: { attemptTimeoutMs: 20 } },
    transport: (_, attempt) => {
      sent++;
      return new Promise((_, reject) =>
        attempt.signal.addEventListener("abort", () => reject(attempt.signal.reason))
      );
    },
  });
  await assert.rejects(
    call("placeOrder", { idempotent: false }),
    (e: FlotillaError) => e.code === "ATTEMPT_TIMEOUT",
  );
  assert.equal(sent, 1);
});
