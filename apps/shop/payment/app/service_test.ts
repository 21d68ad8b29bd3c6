import assert from "node:assert/strict";
import { createClient, createContext, FlotillaError, localCallHandler } from "@flotilla/core";
import { paymentContract } from "../../contracts/mod.ts";
import { MemoryPaymentStore } from "../infra/memory_payment_store.ts";
import type { Emit } from "./ports.ts";
import { recordingEmitter } from "./_recording_emitter.ts";
import { createPaymentService } from "./service.ts";

function setup(options: { emit?: Emit } = {}) {
  const store = new MemoryPaymentStore([
    { id: "alice", name: "Alice", balance: 1_000 },
    { id: "carol", name: "Carol", balance: 100 },
  ]);
  const recorder = recordingEmitter();
  const service = createPaymentService({ store, emit: options.emit ?? recorder.emit });
  const client = createClient(paymentContract, localCallHandler(service), { caller: "test" });
  const balance = async (customerId: string) =>
    (await client.call("getCustomer", { customerId })).balance;
  /** The types and payloads emitted so far. */
  const emitted = () => recorder.events.map(({ type, data }) => ({ type, data }));
  return { store, service, client, balance, events: recorder.events, emitted };
}

async function rejects(promise: Promise<unknown>, code: string): Promise<FlotillaError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof FlotillaError, `expected ${code}, got ${String(error)}`);
  assert.equal(error.code, code);
  return error;
}

Deno.test("payment.listCustomers() returns every customer with their balance", async () => {
  const { client } = setup();
  assert.deepEqual(await client.call("listCustomers", {}), [
    { id: "alice", name: "Alice", balance: 1_000 },
    { id: "carol", name: "Carol", balance: 100 },
  ]);
});

Deno.test("payment.getCustomer() of an unknown customer is CUSTOMER_NOT_FOUND (404)", async () => {
  const { client } = setup();
  const error = await rejects(
    client.call("getCustomer", { customerId: "mallory" }),
    "CUSTOMER_NOT_FOUND",
  );
  assert.equal(error.kind, "NOT_FOUND");
  assert.equal(error.httpStatus, 404);
});

Deno.test("payment.charge() debits the wallet once per order", async () => {
  const { client, balance } = setup();
  const request = { orderId: "o-1", customerId: "alice", amount: 850 };
  assert.deepEqual(await client.call("charge", request), { status: "CHARGED" });
  assert.deepEqual(await client.call("charge", request), { status: "CHARGED" });
  assert.equal(await balance("alice"), 150);
});

Deno.test("payment.charge() declines a short balance, records it and replays it", async () => {
  const { client, store, balance } = setup();
  const request = { orderId: "o-1", customerId: "carol", amount: 101 };
  const declined = { status: "DECLINED", reason: "INSUFFICIENT_FUNDS" };
  assert.deepEqual(await client.call("charge", request), declined);
  assert.equal(await balance("carol"), 100);
  // Even once the balance would cover it, the recorded outcome is replayed.
  store.transaction((tx) => tx.setBalance("carol", { balance: 1_000, version: 1 }));
  assert.deepEqual(await client.call("charge", request), declined);
  assert.equal(await balance("carol"), 1_000);
});

Deno.test("payment.charge() of an unknown customer is UNKNOWN_CUSTOMER at /customerId", async () => {
  const { client } = setup();
  const error = await rejects(
    client.call("charge", { orderId: "o-1", customerId: "mallory", amount: 1 }),
    "UNKNOWN_CUSTOMER",
  );
  assert.equal(error.kind, "FAILED_PRECONDITION");
  assert.deepEqual(error.issues.map((i) => i.pointer), ["/customerId"]);
});

Deno.test("payment.charge() of the same order with other terms is PAYMENT_MISMATCH", async () => {
  const { client, balance } = setup();
  await client.call("charge", { orderId: "o-1", customerId: "alice", amount: 100 });
  await rejects(
    client.call("charge", { orderId: "o-1", customerId: "alice", amount: 200 }),
    "PAYMENT_MISMATCH",
  );
  await rejects(
    client.call("charge", { orderId: "o-1", customerId: "carol", amount: 100 }),
    "PAYMENT_MISMATCH",
  );
  assert.equal(await balance("alice"), 900);
});

Deno.test("payment.refund() credits a charge back once", async () => {
  const { client, balance } = setup();
  await client.call("charge", { orderId: "o-1", customerId: "alice", amount: 850 });
  assert.deepEqual(await client.call("refund", { orderId: "o-1" }), { status: "REFUNDED" });
  assert.deepEqual(await client.call("refund", { orderId: "o-1" }), { status: "REFUNDED" });
  assert.equal(await balance("alice"), 1_000);
});

Deno.test("payment.charge() after a refund is PAYMENT_VOIDED", async () => {
  const { client, balance } = setup();
  const request = { orderId: "o-1", customerId: "alice", amount: 850 };
  await client.call("charge", request);
  await client.call("refund", { orderId: "o-1" });
  const error = await rejects(client.call("charge", request), "PAYMENT_VOIDED");
  assert.equal(error.kind, "ABORTED");
  assert.equal(await balance("alice"), 1_000);
});

Deno.test("payment.refund() of an order never charged voids it so a late charge is refused", async () => {
  const { client, balance } = setup();
  assert.deepEqual(await client.call("refund", { orderId: "o-late" }), { status: "VOIDED" });
  assert.deepEqual(await client.call("refund", { orderId: "o-late" }), { status: "VOIDED" });
  await rejects(
    client.call("charge", { orderId: "o-late", customerId: "alice", amount: 1 }),
    "PAYMENT_VOIDED",
  );
  assert.equal(await balance("alice"), 1_000);
});

Deno.test("payment.refund() of a declined order voids it", async () => {
  const { client, balance } = setup();
  await client.call("charge", { orderId: "o-1", customerId: "carol", amount: 500 });
  assert.deepEqual(await client.call("refund", { orderId: "o-1" }), { status: "VOIDED" });
  assert.equal(await balance("carol"), 100);
});

Deno.test("payment service is ready while its store is open and closes it on stop", async () => {
  const { store, service } = setup();
  assert.equal(await service.readiness[0]?.check(), true);
  await service.onStop?.();
  assert.equal(store.ping(), false);
});

Deno.test("payment.charge() emits payment.charged once, with the balance left, about the order", async () => {
  const { client, events, emitted } = setup();
  const request = { orderId: "o-1", customerId: "alice", amount: 850 };
  using ctx = createContext({ service: "order", action: "placeOrder" });
  await client.call("charge", request, { ctx });
  await client.call("charge", request, { ctx }); // a replay changes nothing
  assert.deepEqual(emitted(), [{
    type: "payment.charged",
    data: { orderId: "o-1", customerId: "alice", amount: 850, balance: 150, version: 1 },
  }]);
  assert.equal(events[0]?.subject, "o-1");
  assert.equal(events[0]?.trace?.traceId, ctx.trace.traceId);
});

Deno.test("payment.charge() that is declined, mismatched, unknown or voided emits nothing", async () => {
  const { client, emitted } = setup();
  await client.call("charge", { orderId: "o-1", customerId: "carol", amount: 101 });
  await client.call("charge", { orderId: "o-1", customerId: "carol", amount: 101 });
  await rejects(
    client.call("charge", { orderId: "o-2", customerId: "mallory", amount: 1 }),
    "UNKNOWN_CUSTOMER",
  );
  await client.call("refund", { orderId: "o-3" }); // void
  await rejects(
    client.call("charge", { orderId: "o-3", customerId: "alice", amount: 1 }),
    "PAYMENT_VOIDED",
  );
  assert.deepEqual(emitted(), []);
  await client.call("charge", { orderId: "o-4", customerId: "alice", amount: 1 });
  await rejects(
    client.call("charge", { orderId: "o-4", customerId: "alice", amount: 2 }),
    "PAYMENT_MISMATCH",
  );
  assert.deepEqual(emitted().map((e) => e.type), ["payment.charged"]);
});

Deno.test("payment.refund() emits payment.refunded once, only when it credited", async () => {
  const { client, events, emitted } = setup();
  await client.call("charge", { orderId: "o-1", customerId: "alice", amount: 850 });
  await client.call("charge", { orderId: "o-2", customerId: "carol", amount: 500 }); // declined
  using ctx = createContext({ service: "order", action: "placeOrder" });
  await client.call("refund", { orderId: "o-1" }, { ctx });
  await client.call("refund", { orderId: "o-1" }, { ctx }); // already refunded
  await client.call("refund", { orderId: "o-2" }, { ctx }); // voids a decline
  await client.call("refund", { orderId: "o-3" }, { ctx }); // voids a never-charged order
  assert.deepEqual(emitted(), [
    {
      type: "payment.charged",
      data: { orderId: "o-1", customerId: "alice", amount: 850, balance: 150, version: 1 },
    },
    {
      type: "payment.refunded",
      data: { orderId: "o-1", customerId: "alice", amount: 850, balance: 1_000, version: 2 },
    },
  ]);
  assert.equal(events[1]?.subject, "o-1");
  assert.equal(events[1]?.trace?.traceId, ctx.trace.traceId);
});

Deno.test("payment events number each customer's balances: every change one version up", async () => {
  const { client, emitted } = setup();
  await client.call("charge", { orderId: "o-1", customerId: "alice", amount: 100 });
  await client.call("charge", { orderId: "o-1", customerId: "alice", amount: 100 }); // replay
  await client.call("tryCharge", { txId: "o-2", customerId: "alice", amount: 200 });
  await client.call("confirmCharge", { txId: "o-2" }); // moves no balance: same version
  await client.call("tryCharge", { txId: "o-3", customerId: "alice", amount: 300 });
  await client.call("cancelCharge", { txId: "o-3" });
  await client.call("refund", { orderId: "o-1" });
  const figures = emitted().map((e) => {
    const { balance, version } = e.data as { balance: number; version: number };
    return [e.type, balance, version];
  });
  assert.deepEqual(figures, [
    ["payment.charged", 900, 1],
    ["payment.held", 700, 2],
    ["payment.charged", 700, 2],
    ["payment.held", 400, 3],
    ["payment.released", 700, 4],
    ["payment.refunded", 800, 5],
  ]);
});

Deno.test("payment.charge() and refund() keep nothing when the emitter throws", async () => {
  let failing = false;
  const { client, balance, store } = setup({
    emit: () => {
      if (failing) throw new Error("outbox is full");
    },
  });
  await client.call("charge", { orderId: "o-1", customerId: "alice", amount: 100 });
  failing = true;
  await rejects(
    client.call("charge", { orderId: "o-2", customerId: "alice", amount: 200 }),
    "INTERNAL",
  );
  await rejects(client.call("refund", { orderId: "o-1" }), "INTERNAL");
  assert.equal(await balance("alice"), 900);
  assert.equal(store.transaction((tx) => tx.getPayment("o-2")), undefined);
  assert.equal(store.transaction((tx) => tx.getPayment("o-1"))?.status, "CHARGED");
});
