import assert from "node:assert/strict";
import {
  createClient,
  createContext,
  FlotillaError,
  localCallHandler,
  ManualClock,
} from "@flotilla/core";
import { paymentContract } from "../../contracts/mod.ts";
import { MemoryPaymentStore } from "../infra/memory_payment_store.ts";
import { recordingEmitter } from "./_recording_emitter.ts";
import { HOLD_TIMEOUT_MS, PaymentHolds } from "./payment_holds.ts";
import { createPaymentService } from "./service.ts";

function setup() {
  const store = new MemoryPaymentStore([
    { id: "alice", name: "Alice", balance: 1_000 },
    { id: "carol", name: "Carol", balance: 100 },
  ]);
  const clock = new ManualClock(0);
  const recorder = recordingEmitter();
  const holds = new PaymentHolds({ store, emit: recorder.emit, clock });
  const service = createPaymentService({ store, emit: recorder.emit, holds });
  const client = createClient(paymentContract, localCallHandler(service), { caller: "order" });
  const balance = (customerId: string) => store.getCustomer(customerId)?.balance;
  const hold = (txId: string) => store.transaction((tx) => tx.getHold(txId));
  const emitted = () => recorder.events.map(({ type, data }) => ({ type, data }));
  return { store, clock, holds, client, balance, hold, emitted, events: recorder.events };
}

async function rejects(promise: Promise<unknown>, code: string): Promise<FlotillaError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof FlotillaError, `expected ${code}, got ${String(error)}`);
  assert.equal(error.code, code);
  return error;
}

const alice300 = { txId: "o-1", customerId: "alice", amount: 300 };

Deno.test("payment.tryCharge() holds the amount and emits payment.held", async () => {
  const { client, balance, hold, emitted, events } = setup();
  using ctx = createContext({ service: "order", action: "placeOrder" });
  assert.deepEqual(await client.call("tryCharge", alice300, { ctx }), { status: "TRIED" });
  assert.equal(balance("alice"), 700);
  assert.deepEqual(hold("o-1"), { ...alice300, status: "HELD" });
  assert.deepEqual(emitted(), [{
    type: "payment.held",
    data: { orderId: "o-1", customerId: "alice", amount: 300, balance: 700, version: 1 },
  }]);
  assert.equal(events[0]?.subject, "o-1");
  assert.equal(events[0]?.trace?.traceId, ctx.trace.traceId);
});

Deno.test("payment.tryCharge() beyond the balance is INSUFFICIENT_FUNDS and holds nothing", async () => {
  const { client, balance, hold, emitted } = setup();
  const error = await rejects(
    client.call("tryCharge", { txId: "o-1", customerId: "carol", amount: 101 }),
    "INSUFFICIENT_FUNDS",
  );
  assert.equal(error.kind, "FAILED_PRECONDITION");
  assert.equal(error.retryable, false);
  assert.equal(balance("carol"), 100);
  assert.equal(hold("o-1"), undefined);
  assert.deepEqual(emitted(), []);
  // No barrier was kept: the same transaction may try again.
  assert.deepEqual(
    await client.call("tryCharge", { txId: "o-1", customerId: "carol", amount: 100 }),
    { status: "TRIED" },
  );
  assert.equal(balance("carol"), 0);
});

Deno.test("payment.tryCharge() of an unknown customer is UNKNOWN_CUSTOMER at /customerId", async () => {
  const { client } = setup();
  const error = await rejects(
    client.call("tryCharge", { txId: "o-1", customerId: "mallory", amount: 1 }),
    "UNKNOWN_CUSTOMER",
  );
  assert.equal(error.kind, "FAILED_PRECONDITION");
  assert.equal(error.issues?.[0]?.pointer, "/customerId");
});

Deno.test("payment.confirmCharge() charges the hold and emits payment.charged", async () => {
  const { client, balance, hold, emitted } = setup();
  await client.call("tryCharge", alice300);
  assert.deepEqual(await client.call("confirmCharge", { txId: "o-1" }), { status: "CONFIRMED" });
  assert.equal(balance("alice"), 700);
  assert.equal(hold("o-1")?.status, "CHARGED");
  assert.deepEqual(emitted()[1], {
    type: "payment.charged",
    data: { orderId: "o-1", customerId: "alice", amount: 300, balance: 700, version: 1 },
  });
});

Deno.test("payment.cancelCharge() gives the held amount back and emits payment.released", async () => {
  const { client, balance, hold, emitted } = setup();
  await client.call("tryCharge", alice300);
  assert.deepEqual(await client.call("cancelCharge", { txId: "o-1" }), { status: "CANCELLED" });
  assert.equal(balance("alice"), 1_000);
  assert.equal(hold("o-1")?.status, "RELEASED");
  assert.deepEqual(emitted().map((e) => e.type), ["payment.held", "payment.released"]);
  assert.deepEqual(emitted()[1]?.data, {
    orderId: "o-1",
    customerId: "alice",
    amount: 300,
    balance: 1_000,
    version: 2,
  });
});

Deno.test("payment TCC replays (x3) of Try, Confirm and Cancel change nothing", async () => {
  const { client, balance, emitted } = setup();
  for (let i = 0; i < 3; i++) {
    const { status } = await client.call("tryCharge", alice300);
    assert.equal(status, i === 0 ? "TRIED" : "REPLAYED");
  }
  for (let i = 0; i < 3; i++) {
    const { status } = await client.call("confirmCharge", { txId: "o-1" });
    assert.equal(status, i === 0 ? "CONFIRMED" : "REPLAYED");
  }
  await client.call("tryCharge", { txId: "o-2", customerId: "alice", amount: 100 });
  for (let i = 0; i < 3; i++) {
    const { status } = await client.call("cancelCharge", { txId: "o-2" });
    assert.equal(status, i === 0 ? "CANCELLED" : "REPLAYED");
  }
  assert.equal(balance("alice"), 700);
  assert.deepEqual(emitted().map((e) => e.type), [
    "payment.held",
    "payment.charged",
    "payment.held",
    "payment.released",
  ]);
});

Deno.test("payment.cancelCharge() before any Try is an empty rollback; the late Try is refused", async () => {
  const { client, balance, hold, emitted } = setup();
  assert.deepEqual(await client.call("cancelCharge", { txId: "o-1" }), {
    status: "EMPTY_ROLLBACK",
  });
  const error = await rejects(client.call("tryCharge", alice300), "TCC_TRY_AFTER_CANCEL");
  assert.equal(error.kind, "FAILED_PRECONDITION");
  assert.equal(error.retryable, false);
  assert.equal(balance("alice"), 1_000);
  assert.equal(hold("o-1"), undefined);
  assert.deepEqual(emitted(), []);
});

Deno.test("payment.confirmCharge() after a Cancel is TCC_CONFIRM_AFTER_CANCEL", async () => {
  const { client, balance } = setup();
  await client.call("tryCharge", alice300);
  await client.call("cancelCharge", { txId: "o-1" });
  const error = await rejects(
    client.call("confirmCharge", { txId: "o-1" }),
    "TCC_CONFIRM_AFTER_CANCEL",
  );
  assert.equal(error.kind, "FAILED_PRECONDITION");
  assert.equal(error.retryable, false);
  assert.equal(balance("alice"), 1_000);
});

Deno.test("payment.confirmCharge() without a Try is TCC_CONFIRM_WITHOUT_TRY", async () => {
  const { client } = setup();
  await rejects(client.call("confirmCharge", { txId: "o-1" }), "TCC_CONFIRM_WITHOUT_TRY");
});

Deno.test("payment.cancelCharge() after a Confirm is TCC_CANCEL_AFTER_CONFIRM, the charge kept", async () => {
  const { client, balance, hold } = setup();
  await client.call("tryCharge", alice300);
  await client.call("confirmCharge", { txId: "o-1" });
  await rejects(client.call("cancelCharge", { txId: "o-1" }), "TCC_CANCEL_AFTER_CONFIRM");
  assert.equal(balance("alice"), 700);
  assert.equal(hold("o-1")?.status, "CHARGED");
});

Deno.test("PaymentHolds.expireStale() releases holds past the timeout; a late Confirm is refused", async () => {
  const { client, clock, holds, balance, hold, emitted } = setup();
  await client.call("tryCharge", alice300);
  clock.advance(HOLD_TIMEOUT_MS - 1);
  await client.call("tryCharge", { txId: "o-2", customerId: "alice", amount: 100 });
  assert.deepEqual(holds.expireStale(), []);
  clock.advance(1);
  assert.deepEqual(holds.expireStale(), ["o-1"]);
  assert.deepEqual(holds.expireStale(), []);
  assert.equal(balance("alice"), 900);
  assert.equal(hold("o-1")?.status, "RELEASED");
  assert.equal(emitted().at(-1)?.type, "payment.released");
  await rejects(client.call("confirmCharge", { txId: "o-1" }), "TCC_CONFIRM_AFTER_CANCEL");
  assert.deepEqual(await client.call("confirmCharge", { txId: "o-2" }), { status: "CONFIRMED" });
  clock.advance(HOLD_TIMEOUT_MS);
  assert.deepEqual(holds.expireStale(), []); // a charged hold never expires
  assert.equal(balance("alice"), 900);
});

Deno.test("payment TCC keeps nothing when the emitter throws", async () => {
  let failing = false;
  const store = new MemoryPaymentStore([{ id: "alice", name: "Alice", balance: 1_000 }]);
  const emit = () => {
    if (failing) throw new Error("outbox is full");
  };
  const service = createPaymentService({ store, emit });
  const client = createClient(paymentContract, localCallHandler(service), { caller: "order" });
  await client.call("tryCharge", alice300);
  failing = true;
  await rejects(
    client.call("tryCharge", { txId: "o-2", customerId: "alice", amount: 100 }),
    "INTERNAL",
  );
  await rejects(client.call("cancelCharge", { txId: "o-1" }), "INTERNAL");
  await rejects(client.call("confirmCharge", { txId: "o-1" }), "INTERNAL");
  failing = false;
  assert.equal(store.getCustomer("alice")?.balance, 700);
  assert.deepEqual(
    await client.call("tryCharge", { txId: "o-2", customerId: "alice", amount: 100 }),
    { status: "TRIED" },
  );
  assert.deepEqual(await client.call("cancelCharge", { txId: "o-1" }), { status: "CANCELLED" });
  assert.equal(store.getCustomer("alice")?.balance, 900);
});

Deno.test("PaymentHolds refuses a timeout that is not positive", () => {
  assert.throws(
    () => new PaymentHolds({ store: new MemoryPaymentStore(), timeoutMs: -1 }),
    RangeError,
  );
});
