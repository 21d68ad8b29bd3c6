import assert from "node:assert/strict";
import { type OutboundCall, systemClock, type TraceContext, ValidationError } from "@flotilla/core";
import { StaticRegistry } from "@flotilla/discovery";
import { Peers } from "./peers.ts";
import type { PeerEndpoint } from "./endpoints.ts";

const NOW = 1_000_000;
const clock = { now: () => NOW };

function call(action = "charge"): OutboundCall {
  return {
    service: "payment",
    action,
    input: {},
    idempotent: false,
    deadline: NOW + 60_000,
    trace: { traceId: "0".repeat(31) + "1", spanId: "0".repeat(15) + "1" } as TraceContext,
    caller: "order",
    idempotencyKey: undefined,
    signal: new AbortController().signal,
    clock: systemClock,
  };
}

/** A transport that records each attempt's deadline and answers when told to. */
function recordingTransport() {
  const deadlines: number[] = [];
  const held: Array<() => void> = [];
  let hold = false;
  return {
    deadlines,
    hold: (on: boolean) => void (hold = on),
    release: () => held.splice(0).forEach((resume) => resume()),
    transport: async (_endpoint: PeerEndpoint, attempt: OutboundCall) => {
      deadlines.push(attempt.deadline - NOW);
      if (hold) await new Promise<void>((resume) => held.push(resume));
      return { ok: true };
    },
  };
}

Deno.test("Peers.setPolicies() applies new policies to new calls through the same pipeline", async () => {
  await using registry = new StaticRegistry({ payment: ["http://127.0.0.1:7001"] });
  const recorder = recordingTransport();
  await using peers = new Peers({
    caller: "order",
    registry,
    clock,
    transport: recorder.transport,
    policies: { peers: { payment: { timeoutMs: 1_000 } } },
  });
  const pipeline = peers.pipeline("payment");
  await pipeline(call());
  peers.setPolicies({ peers: { payment: { timeoutMs: 2_000, breaker: false } } });
  assert.equal(peers.pipeline("payment"), pipeline);
  await pipeline(call());
  assert.deepEqual(recorder.deadlines, [1_000, 2_000]);
  assert.deepEqual(pipeline.breakers(), { "127.0.0.1:7001": "disabled" }, "no breaker now");
  assert.deepEqual(peers.policies, { peers: { payment: { timeoutMs: 2_000, breaker: false } } });
});

Deno.test("Peers.setPolicies() leaves a call in flight on the policies it started with", async () => {
  await using registry = new StaticRegistry({ payment: ["http://127.0.0.1:7001"] });
  const recorder = recordingTransport();
  await using peers = new Peers({
    caller: "order",
    registry,
    clock,
    transport: recorder.transport,
    policies: { defaults: { timeoutMs: 1_000 } },
  });
  const pipeline = peers.pipeline("payment");
  recorder.hold(true);
  const first = pipeline(call());
  while (recorder.deadlines.length === 0) await Promise.resolve();
  peers.setPolicies({ defaults: { timeoutMs: 3_000 } });
  recorder.hold(false);
  await pipeline(call());
  recorder.release();
  assert.deepEqual(await first, { ok: true });
  assert.deepEqual(recorder.deadlines, [1_000, 3_000]);
});

Deno.test("Peers.setPolicies() keeps the pipeline of a peer whose policy did not change", async () => {
  await using registry = new StaticRegistry({
    payment: ["http://127.0.0.1:7001"],
    inventory: ["http://127.0.0.1:7002"],
  });
  const recorder = recordingTransport();
  await using peers = new Peers({
    caller: "order",
    registry,
    clock,
    transport: recorder.transport,
  });
  const payment = peers.pipeline("payment");
  await payment(call());
  assert.deepEqual(payment.breakers(), { "127.0.0.1:7001": "closed" });
  peers.setPolicies({ peers: { inventory: { timeoutMs: 500 } } });
  assert.deepEqual(payment.breakers(), { "127.0.0.1:7001": "closed" }, "state kept");
});

Deno.test("Peers.setPolicies() refuses invalid policies and keeps the ones in force", async () => {
  await using registry = new StaticRegistry({ payment: ["http://127.0.0.1:7001"] });
  const recorder = recordingTransport();
  await using peers = new Peers({
    caller: "order",
    registry,
    clock,
    transport: recorder.transport,
    policies: { defaults: { timeoutMs: 1_000 } },
  });
  const pipeline = peers.pipeline("payment");
  assert.throws(
    () => peers.setPolicies({ defaults: { timeoutMs: -1 } }),
    (error) => error instanceof ValidationError && error.code === "INVALID_POLICY",
  );
  await pipeline(call());
  assert.deepEqual(recorder.deadlines, [1_000]);
  assert.deepEqual(peers.policies, { defaults: { timeoutMs: 1_000 } });
});
