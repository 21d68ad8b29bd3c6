import assert from "node:assert/strict";
import {
  type CallHandler,
  FlotillaError,
  newTrace,
  type OutboundCall,
  systemClock,
  UnavailableError,
} from "@flotilla/core";
import { callPipeline, type PeerEndpoint } from "@flotilla/client";
import { isUnsentError, resolvePolicy } from "@flotilla/resilience";
import { chaosCallHandler, chaosEndpointTransport } from "./chaos_call_handler.ts";
import { ChaosEngine } from "./chaos_engine.ts";
import { chaos, InstantTimers } from "./_test_util.ts";

function call(overrides: Partial<OutboundCall> = {}): OutboundCall {
  return {
    service: "payment",
    action: "charge",
    input: { amount: 1 },
    idempotent: false,
    deadline: Date.now() + 60_000,
    trace: newTrace(),
    caller: "order",
    idempotencyKey: undefined,
    signal: new AbortController().signal,
    clock: systemClock,
    ...overrides,
  };
}

async function engineWith(rules: unknown[], timers = new InstantTimers()) {
  return new ChaosEngine({ service: "order", timers, config: await chaos({ seed: 1, rules }) });
}

Deno.test("chaosCallHandler() passes calls through when no rule fires", async () => {
  const engine = await engineWith([{
    id: "other",
    peer: "inventory",
    fault: { type: "error", status: 500 },
  }]);
  const handler = chaosCallHandler(engine, () => Promise.resolve("ok"));
  assert.equal(await handler(call()), "ok");
});

Deno.test("chaosCallHandler() injects an error fault as a FlotillaError without sending", async () => {
  let sent = 0;
  const engine = await engineWith([{ id: "e", fault: { type: "error", status: 503 } }]);
  const handler = chaosCallHandler(engine, () => Promise.resolve(++sent));
  await assert.rejects(
    handler(call()),
    (error: unknown) =>
      error instanceof FlotillaError && error.code === "UNAVAILABLE" && error.httpStatus === 503 &&
      error.retryable,
  );
  assert.equal(sent, 0);
});

Deno.test("chaosCallHandler() abort before sending is CONNECTION_REFUSED (never sent), after sending CONNECTION_FAILED", async () => {
  let sent = 0;
  const inner: CallHandler = () => Promise.resolve(++sent);
  const before = chaosCallHandler(
    await engineWith([{ id: "a", fault: { type: "abort", phase: "before_send" } }]),
    inner,
  );
  await assert.rejects(
    before(call()),
    (error: unknown) =>
      error instanceof UnavailableError && error.code === "CONNECTION_REFUSED" &&
      isUnsentError(error),
  );
  assert.equal(sent, 0);
  const after = chaosCallHandler(
    await engineWith([{ id: "a", fault: { type: "abort", phase: "after_send" } }]),
    inner,
  );
  await assert.rejects(
    after(call()),
    (error: unknown) =>
      error instanceof UnavailableError && error.code === "CONNECTION_FAILED" &&
      !isUnsentError(error),
  );
  assert.equal(sent, 1, "the callee did the work");
});

Deno.test("chaosCallHandler() waits the injected latency on the engine's timers, and the call's signal cuts it", async () => {
  const timers = new InstantTimers();
  const engine = await engineWith(
    [{ id: "slow", fault: { type: "latency", latency: { type: "fixed", ms: 250 } } }],
    timers,
  );
  const handler = chaosCallHandler(engine, () => Promise.resolve("late"));
  assert.equal(await handler(call()), "late");
  assert.deepEqual(timers.delays, [250]);

  const controller = new AbortController();
  controller.abort(new DOMException("deadline", "TimeoutError"));
  await assert.rejects(
    handler(call({ signal: controller.signal })),
    (error: unknown) => error instanceof FlotillaError && error.code === "DEADLINE_EXCEEDED",
  );
});

Deno.test("chaosEndpointTransport() in the call pipeline: a refused instance is retried elsewhere, a lost answer is not", async () => {
  const endpoints: PeerEndpoint[] = ["payment-1", "payment-2"].map((id) => ({
    id,
    url: `http://${id}`,
    instance: { service: "payment", id, address: "127.0.0.1", port: 1, metadata: {} },
  }));
  const handled: string[] = [];
  const pipelineWith = async (rules: unknown[]) =>
    callPipeline({
      service: "payment",
      endpoints: { current: () => endpoints },
      transport: chaosEndpointTransport(await engineWith(rules), (endpoint: PeerEndpoint) => {
        handled.push(endpoint.id);
        return Promise.resolve({ by: endpoint.id });
      }),
      policy: (action) => resolvePolicy({}, "payment", action),
      timers: new InstantTimers(),
    });

  // Refused by payment-1 before sending: a non-idempotent call still moves on to payment-2.
  const refused = await pipelineWith([
    { id: "p1-down", instance: "payment-1", fault: { type: "abort", phase: "before_send" } },
  ]);
  for (let i = 0; i < 5; i++) assert.deepEqual(await refused(call()), { by: "payment-2" });
  assert.ok(handled.every((id) => id === "payment-2"));

  // Reset after sending: the outcome is unknown, so a non-idempotent call is not retried.
  handled.length = 0;
  const reset = await pipelineWith([{
    id: "reset",
    fault: { type: "abort", phase: "after_send" },
  }]);
  await assert.rejects(
    reset(call()),
    (error: unknown) => error instanceof FlotillaError && error.code === "CONNECTION_FAILED",
  );
  assert.equal(handled.length, 1);
});
