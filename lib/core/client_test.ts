import assert from "node:assert/strict";
import { z } from "zod";
import { createClient, type OutboundCall } from "./client.ts";
import { ManualClock } from "./clock.ts";
import { createContext } from "./context.ts";
import { defineContract } from "./contract.ts";
import { type FlotillaError, ValidationError } from "./errors.ts";
import { Logger, MemorySink } from "./logger.ts";

const contract = defineContract({
  name: "payment",
  version: "1.0.0",
  actions: {
    charge: {
      input: z.strictObject({ amount: z.number().int().min(1) }),
      output: z.object({ status: z.literal("CHARGED") }),
      idempotent: true,
    },
  },
});

Deno.test("createClient() passes the caller's remaining time and a child span", async () => {
  const clock = new ManualClock(10_000);
  const seen: OutboundCall[] = [];
  const client = createClient(contract, (call) => {
    seen.push(call);
    return Promise.resolve({ status: "CHARGED" });
  }, { caller: "order", clock });
  using ctx = createContext({
    service: "order",
    action: "placeOrder",
    deadline: 10_500,
    clock,
    logger: new Logger({ sink: new MemorySink() }),
  });
  const result = await client.call("charge", { amount: 5 }, { ctx, idempotencyKey: "k" });
  assert.deepEqual(result, { status: "CHARGED" });
  const [call] = seen;
  assert.equal(call?.deadline, 10_500);
  assert.equal(call?.trace.traceId, ctx.trace.traceId);
  assert.equal(call?.trace.parentSpanId, ctx.trace.spanId);
  assert.equal(call?.caller, "order");
  assert.equal(call?.idempotent, true);
  assert.equal(call?.idempotencyKey, "k");
});

Deno.test("createClient() caps the deadline by the call's own timeout", async () => {
  const clock = new ManualClock(0);
  let deadline = 0;
  const client = createClient(contract, (call) => {
    deadline = call.deadline;
    return Promise.resolve({ status: "CHARGED" });
  }, { caller: "order", clock, defaultTimeoutMs: 2_000 });
  await client.call("charge", { amount: 1 });
  assert.equal(deadline, 2_000);
  await client.call("charge", { amount: 1 }, { timeoutMs: 300 });
  assert.equal(deadline, 300);
});

Deno.test("createClient() validates input before calling and output after", async () => {
  let called = false;
  const client = createClient(contract, () => {
    called = true;
    return Promise.resolve({ status: "NOPE" });
  }, { caller: "order" });
  await assert.rejects(client.call("charge", { amount: 0 }), ValidationError);
  assert.equal(called, false);
  await assert.rejects(
    client.call("charge", { amount: 1 }),
    (e: FlotillaError) => e.code === "BAD_RESPONSE",
  );
});

Deno.test("createClient() fails fast when the caller has no time left", async () => {
  const clock = new ManualClock(1_000);
  const client = createClient(contract, () => Promise.resolve({ status: "CHARGED" }), {
    caller: "o",
    clock,
  });
  using ctx = createContext({
    service: "o",
    action: "a",
    deadline: 1_000,
    clock,
    logger: new Logger({ sink: new MemorySink() }),
  });
  await assert.rejects(
    client.call("charge", { amount: 1 }, { ctx }),
    (e: FlotillaError) => e.kind === "DEADLINE_EXCEEDED",
  );
});
