import assert from "node:assert/strict";
import { z } from "zod";
import { defineContract, defineService, FlotillaError, ServiceHost } from "@flotilla/core";
import { createHttpApp } from "@flotilla/http";
import { ChaosEngine } from "./chaos_engine.ts";
import { chaosInvoke, chaosService } from "./chaos_invoke.ts";
import { chaos, InstantTimers } from "./_test_util.ts";

const contract = defineContract({
  name: "payment",
  version: "1.0.0",
  actions: {
    charge: {
      input: z.object({ amount: z.number() }),
      output: z.object({ ok: z.boolean() }),
      http: { method: "POST", path: "/charges" },
    },
    ping: { input: z.object({}), output: z.object({ pong: z.boolean() }) },
  },
});

function counting() {
  const calls: string[] = [];
  const service = defineService(contract, {
    charge: () => {
      calls.push("charge");
      return { ok: true };
    },
    ping: () => {
      calls.push("ping");
      return { pong: true };
    },
  });
  return { calls, service };
}

async function engineWith(rules: unknown[]) {
  return new ChaosEngine({
    service: "payment",
    timers: new InstantTimers(),
    config: await chaos({ seed: 1, rules }),
  });
}

Deno.test("chaosService() answers an injected error over HTTP as problem+json with its status and code", async () => {
  const { calls, service } = counting();
  const engine = await engineWith([
    {
      id: "busy",
      side: "server",
      peer: "order",
      action: "charge",
      fault: { type: "error", status: 503 },
    },
  ]);
  const host = new ServiceHost(chaosService(engine, service));
  host.markReady();
  const app = createHttpApp(host);
  const fromOrder = await app.request("/rpc/charge", {
    method: "POST",
    headers: { "content-type": "application/json", "flotilla-caller": "order" },
    body: JSON.stringify({ amount: 5 }),
  });
  assert.equal(fromOrder.status, 503);
  const problem = await fromOrder.json();
  assert.equal(problem.code, "UNAVAILABLE");
  assert.equal(problem.retryable, true);
  assert.deepEqual(problem.data.chaos, { rule: "busy", side: "server" });
  // Another caller, another action: untouched.
  const fromGateway = await app.request("/rpc/charge", {
    method: "POST",
    headers: { "content-type": "application/json", "flotilla-caller": "gateway" },
    body: JSON.stringify({ amount: 5 }),
  });
  assert.equal(fromGateway.status, 200);
  await fromGateway.body?.cancel();
  assert.deepEqual(calls, ["charge"]);
});

Deno.test("chaosInvoke() aborts before or after the handler ran with CONNECTION_RESET", async () => {
  for (const phase of ["before_send", "after_send"] as const) {
    const { calls, service } = counting();
    const host = new ServiceHost(service);
    host.markReady();
    const invoke = chaosInvoke(
      await engineWith([{ id: "cut", side: "server", fault: { type: "abort", phase } }]),
      host.invoke.bind(host),
    );
    await assert.rejects(
      invoke("ping", {}, { caller: { kind: "service", service: "order" } }),
      (error: unknown) =>
        error instanceof FlotillaError && error.code === "CONNECTION_RESET" &&
        error.data?.handled === (phase === "after_send"),
    );
    assert.deepEqual(calls, phase === "after_send" ? ["ping"] : []);
  }
});

Deno.test("chaosService() injects latency inside the host's deadline", async () => {
  const { service } = counting();
  const timers = new InstantTimers();
  const engine = new ChaosEngine({
    service: "payment",
    timers,
    config: await chaos({
      rules: [{
        id: "slow",
        side: "server",
        fault: { type: "latency", latency: { type: "fixed", ms: 75 } },
      }],
    }),
  });
  const host = new ServiceHost(chaosService(engine, service));
  host.markReady();
  const { output } = await host.invoke("ping", {}, {});
  assert.deepEqual(output, { pong: true });
  assert.deepEqual(timers.delays, [75]);
});
