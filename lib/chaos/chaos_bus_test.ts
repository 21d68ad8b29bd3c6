import assert from "node:assert/strict";
import { type CloudEvent, createEvent, type Delivery, MemoryBus } from "@flotilla/bus";
import { FlotillaError } from "@flotilla/core";
import { ManualTimers } from "@flotilla/resilience";
import { waitFor } from "@flotilla/testing";
import { chaosBus } from "./chaos_bus.ts";
import { ChaosEngine } from "./chaos_engine.ts";
import { chaos, InstantTimers } from "./_test_util.ts";

function events(count: number, type = "order.created"): CloudEvent[] {
  return Array.from({ length: count }, (_, n) => createEvent(type, { n }, { source: "/test" }));
}

async function setup(rules: unknown[]) {
  const engine = new ChaosEngine({
    service: "notification",
    timers: new InstantTimers(),
    config: await chaos({ seed: 11, rules }),
  });
  return chaosBus(new MemoryBus(), engine);
}

async function consume(
  bus: MemoryBus | ReturnType<typeof chaosBus>,
  stream: string,
  fail?: (d: Delivery) => boolean,
) {
  const seen: Array<{ n: number; attempt: number }> = [];
  const subscription = await bus.subscribe(stream, (delivery) => {
    if (fail?.(delivery)) throw new Error("handler failed");
    seen.push({ n: (delivery.event.data as { n: number }).n, attempt: delivery.attempt });
  }, { group: "g", backoffMs: [1], ackWaitMs: 60_000 });
  return { seen, subscription };
}

Deno.test("chaosBus drops published events while answering as if stored", async () => {
  await using bus = await setup([{
    id: "lose",
    side: "bus-publish",
    percentage: 50,
    fault: { type: "drop" },
  }]);
  const batch = events(20);
  const receipts = await bus.publish("s", batch);
  assert.deepEqual(receipts.map((r) => r.id), batch.map((e) => e.id));
  const stored = await bus.read("s");
  const lost = receipts.filter((r) => r.position === "").length;
  assert.ok(lost > 0 && lost < 20);
  assert.equal(stored.length, 20 - lost);
});

Deno.test("chaosBus duplicates and drops deliveries on consume", async () => {
  await using bus = await setup([
    {
      id: "twice",
      side: "bus-consume",
      action: "order.created",
      fault: { type: "duplicate", copies: 1 },
    },
    { id: "lost", side: "bus-consume", action: "order.cancelled", fault: { type: "drop" } },
  ]);
  await bus.publish("s", [...events(3), ...events(2, "order.cancelled")]);
  const { seen, subscription } = await consume(bus, "s");
  await waitFor(() => seen.length >= 6, { what: "deliveries", timeoutMs: 5_000 });
  await subscription[Symbol.asyncDispose]();
  assert.deepEqual(seen.map((s) => s.n), [0, 0, 1, 1, 2, 2]);
});

Deno.test("chaosBus reorders: a held delivery is overtaken by later ones", async () => {
  const timers = new ManualTimers();
  const engine = new ChaosEngine({
    service: "notification",
    timers,
    config: await chaos({
      rules: [{
        id: "hold",
        side: "bus-consume",
        action: "order.held",
        fault: { type: "reorder", latency: { type: "fixed", ms: 500 } },
      }],
    }),
  });
  await using bus = chaosBus(new MemoryBus(), engine);
  await bus.publish("s", [...events(1, "order.held"), ...events(3)]);
  const { seen, subscription } = await consume(bus, "s");
  await waitFor(() => seen.length === 3, { what: "the three others", timeoutMs: 5_000 });
  assert.deepEqual(seen.map((s) => s.n), [0, 1, 2]); // the held one (also n=0) is not among them
  timers.advance(500);
  await bus.settled();
  await subscription[Symbol.asyncDispose]();
  assert.equal(seen.length, 4);
});

Deno.test("chaosBus injects consume errors: the delivery is redelivered like after a crash", async () => {
  await using bus = await setup([{
    id: "crash",
    side: "bus-consume",
    percentage: 50,
    fault: { type: "error", code: "INTERNAL" },
  }]);
  await bus.publish("s", events(10));
  const { seen, subscription } = await consume(bus, "s");
  await waitFor(() => new Set(seen.map((s) => s.n)).size === 10, {
    what: "all handled",
    timeoutMs: 10_000,
  });
  await subscription[Symbol.asyncDispose]();
  assert.ok(seen.some((s) => s.attempt > 1), "some were redelivered");
});

Deno.test("chaosBus refuses a whole publish with an error fault", async () => {
  await using bus = await setup([{
    id: "broker-down",
    side: "bus-publish",
    fault: { type: "error", status: 503 },
  }]);
  await assert.rejects(
    bus.publish("s", events(2)),
    (error: unknown) => error instanceof FlotillaError && error.code === "UNAVAILABLE",
  );
  assert.equal((await bus.read("s")).length, 0);
});
