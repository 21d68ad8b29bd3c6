import assert from "node:assert/strict";
import { UnavailableError } from "@flotilla/core";
import { OrderRecovery } from "./order_recovery.ts";
import { OrderSaga } from "./order_saga.ts";
import { fixture, pendingOrder } from "./_fixture.ts";

async function setup() {
  const f = await fixture();
  const saga = new OrderSaga(f);
  const recovery = new OrderRecovery({ ...f, saga });
  return { ...f, saga, recovery };
}

Deno.test("OrderRecovery.resumePending() drives every pending order and counts the outcomes", async () => {
  await using f = await setup();
  const { recovery, sink, views } = f;
  await pendingOrder(f, "ok", "alice", [{ sku: "TEA", quantity: 1 }]);
  await pendingOrder(f, "short", "alice", [{ sku: "POT", quantity: 1 }]);
  await pendingOrder(f, "poor", "carol", [{ sku: "MUG", quantity: 1 }]);
  assert.deepEqual(await recovery.resumePending(), {
    found: 3,
    confirmed: 1,
    cancelled: 2,
    failed: 0,
  });
  assert.equal(views.listPending().length, 0);
  const resumed = sink.records.filter((r) => r.msg === "resumed order").map((r) => r.orderId);
  assert.deepEqual(resumed.sort(), ["ok", "poor", "short"]);
  assert.ok(sink.records.every((r) => typeof r.trace_id === "string" || r.msg !== "resumed order"));
});

Deno.test("OrderRecovery stopped during an outage counts the drive failed, and a later pass finishes it", async () => {
  await using f = await setup();
  const { recovery, payments, sink } = f;
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 1 }]);
  payments.fail("charge", { error: new UnavailableError("payment is down") }, 1_000_000);
  const charging = payments.called("charge");
  const pass = recovery.resumePending();
  await charging;
  await recovery.stop();
  assert.deepEqual(await pass, { found: 1, confirmed: 0, cancelled: 0, failed: 1 });
  assert.ok(sink.records.some((r) => r.level === "warn" && r.msg.startsWith("could not resume")));

  payments.heal("charge");
  const later = new OrderRecovery({ ...f, saga: f.saga });
  assert.deepEqual(await later.resumePending(), {
    found: 1,
    confirmed: 1,
    cancelled: 0,
    failed: 0,
  });
});
Deno.test("OrderRecovery.resumePending() skips orders younger than minAgeMs", async () => {
  await using f = await setup();
  const { recovery, clock } = f;
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 1 }]);
  clock.advance(5_000);
  assert.equal((await recovery.resumePending({ minAgeMs: 10_000 })).found, 0);
  clock.advance(5_000);
  assert.equal((await recovery.resumePending({ minAgeMs: 10_000 })).confirmed, 1);
});

Deno.test("OrderRecovery.start() runs a first pass at once and stop() waits for it", async () => {
  await using f = await setup();
  const { recovery, store, inventory } = f;
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 1 }]);
  const reserving = inventory.called("reserve");
  recovery.start({ intervalMs: 3_600_000 });
  recovery.start(); // a second start is a no-op
  await reserving;
  await recovery.stop();
  // The pass was either finished or aborted; either way nothing runs on.
  const order = (await store.get("o-1"))!;
  assert.ok(order.status === "CONFIRMED" || order.status === "PENDING");
  recovery.start(); // no restart after stop
});

Deno.test("OrderRecovery.start() refuses a bad interval", async () => {
  await using f = await setup();
  const { recovery } = f;
  assert.throws(() => recovery.start({ intervalMs: 0 }), RangeError);
});
