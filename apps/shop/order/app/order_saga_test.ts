import assert from "node:assert/strict";
import { DeadlineExceededError, FlotillaError, UnavailableError } from "@flotilla/core";
import { OrderSaga } from "./order_saga.ts";
import { EventSourcedOrderStore } from "../infra/event_sourced_order_store.ts";
import { fixture, pendingOrder, testContext } from "./_fixture.ts";

async function setup() {
  const f = await fixture();
  const saga = new OrderSaga(f);
  return { ...f, saga };
}

Deno.test("OrderSaga.drive() reserves, charges and confirms", async () => {
  await using f = await setup();
  const { saga, store, inventory, payments, logger, clock } = f;
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 2 }, { sku: "MUG", quantity: 1 }]);
  clock.advance(1_000);
  using ctx = testContext(logger);
  const order = await saga.drive("o-1", ctx);
  assert.equal(order.status, "CONFIRMED");
  assert.equal(order.updatedAt, "2025-01-01T00:00:01.000Z");
  assert.deepEqual(await store.get("o-1"), order);
  assert.equal(inventory.stock("TEA"), 8);
  assert.equal(inventory.stock("MUG"), 1);
  assert.equal(payments.balance("alice"), 50_000 - 3_500);
  assert.deepEqual(inventory.log, ["reserve:o-1"]);
  assert.deepEqual(payments.log, ["charge:o-1"]);
});

Deno.test("OrderSaga.drive() cancels OUT_OF_STOCK, voids the payment and tombstones the stock", async () => {
  await using f = await setup();
  const { saga, inventory, payments, logger } = f;
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 1 }, { sku: "MUG", quantity: 3 }]);
  using ctx = testContext(logger);
  const order = await saga.drive("o-1", ctx);
  assert.equal(order.status, "CANCELLED");
  assert.equal(order.reason, "OUT_OF_STOCK");
  assert.equal(inventory.stock("TEA"), 10);
  assert.equal(payments.balance("alice"), 50_000);
  assert.deepEqual(payments.log, ["refund:o-1"]);
  assert.equal(payments.payments.get("o-1")?.status, "VOIDED");
  assert.equal(inventory.reservations.get("o-1")?.status, "TOMBSTONE");
});

Deno.test("OrderSaga.drive() cancels INSUFFICIENT_FUNDS and gives the stock back", async () => {
  await using f = await setup();
  const { saga, inventory, payments, logger } = f;
  await pendingOrder(f, "o-1", "carol", [{ sku: "MUG", quantity: 1 }]);
  using ctx = testContext(logger);
  const order = await saga.drive("o-1", ctx);
  assert.equal(order.status, "CANCELLED");
  assert.equal(order.reason, "INSUFFICIENT_FUNDS");
  assert.equal(inventory.stock("MUG"), 2);
  assert.equal(payments.balance("carol"), 1_000);
  assert.deepEqual(inventory.log, ["reserve:o-1", "release:o-1"]);
  assert.deepEqual(payments.log, ["charge:o-1", "refund:o-1"]);
});

Deno.test("OrderSaga.drive() returns a terminal order without calling anyone", async () => {
  await using f = await setup();
  const { saga, inventory, payments, logger } = f;
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 1 }]);
  using ctx = testContext(logger);
  const first = await saga.drive("o-1", ctx);
  const second = await saga.drive("o-1", ctx);
  assert.deepEqual(second, first);
  assert.equal(inventory.log.length + payments.log.length, 2);
});

Deno.test("OrderSaga.drive() of an unknown order is ORDER_NOT_FOUND", async () => {
  await using f = await setup();
  const { saga, logger } = f;
  using ctx = testContext(logger);
  await assert.rejects(
    saga.drive("nope", ctx),
    (e: unknown) => e instanceof FlotillaError && e.code === "ORDER_NOT_FOUND",
  );
});

Deno.test("OrderSaga.drive() leaves the order PENDING on a peer failure, compensates nothing, and resumes", async () => {
  await using f = await setup();
  const { saga, store, inventory, payments, logger, sink } = f;
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 2 }]);
  payments.fail("charge", { error: new UnavailableError("payment is down") });
  using ctx = testContext(logger);
  await assert.rejects(saga.drive("o-1", ctx), UnavailableError);
  assert.equal((await store.get("o-1"))?.status, "PENDING");
  assert.equal(inventory.stock("TEA"), 8, "the stock stays reserved for the pending order");
  assert.deepEqual(payments.log, ["charge:o-1"]);
  assert.ok(sink.records.some((r) => r.level === "warn" && r.orderId === "o-1"));

  const order = await saga.drive("o-1", ctx);
  assert.equal(order.status, "CONFIRMED");
  assert.equal(inventory.stock("TEA"), 8);
  assert.equal(payments.balance("alice"), 50_000 - 1_700);
});

Deno.test("OrderSaga.drive() after a lost charge reply charges once", async () => {
  await using f = await setup();
  const { saga, payments, logger } = f;
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 2 }]);
  payments.fail("charge", { error: new DeadlineExceededError(), after: true });
  using ctx = testContext(logger);
  await assert.rejects(saga.drive("o-1", ctx), DeadlineExceededError);
  assert.equal(payments.balance("alice"), 50_000 - 1_700);
  assert.equal((await saga.drive("o-1", ctx)).status, "CONFIRMED");
  assert.equal(payments.balance("alice"), 50_000 - 1_700);
});

Deno.test("OrderSaga.drive() after a lost reserve reply reserves once", async () => {
  await using f = await setup();
  const { saga, inventory, logger } = f;
  await pendingOrder(f, "o-1", "alice", [{ sku: "MUG", quantity: 2 }]);
  inventory.fail("reserve", { error: new UnavailableError("reset"), after: true });
  using ctx = testContext(logger);
  await assert.rejects(saga.drive("o-1", ctx), UnavailableError);
  assert.equal((await saga.drive("o-1", ctx)).status, "CONFIRMED");
  assert.equal(inventory.stock("MUG"), 0);
});

Deno.test("OrderSaga.drive() that fails while compensating keeps the reason and finishes on resume", async () => {
  await using f = await setup();
  const { saga, store, inventory, payments, logger } = f;
  await pendingOrder(f, "o-1", "carol", [{ sku: "MUG", quantity: 1 }]);
  inventory.fail("release", { error: new UnavailableError("inventory is down") });
  using ctx = testContext(logger);
  await assert.rejects(saga.drive("o-1", ctx), UnavailableError);
  const stuck = (await store.get("o-1"))!;
  assert.equal(stuck.status, "PENDING");
  assert.equal(stuck.cancelling, "INSUFFICIENT_FUNDS");
  assert.equal(inventory.stock("MUG"), 1);

  // Even with money now available, the recorded decision stands.
  payments.customers.get("carol")!.balance = 100_000;
  const order = await saga.drive("o-1", ctx);
  assert.equal(order.status, "CANCELLED");
  assert.equal(order.reason, "INSUFFICIENT_FUNDS");
  assert.equal(inventory.stock("MUG"), 2);
  assert.equal(payments.balance("carol"), 100_000);
  assert.equal(payments.log.filter((c) => c.startsWith("charge")).length, 1);
});

Deno.test("OrderSaga.drive() cancels and refunds an order whose reservation was released elsewhere", async () => {
  await using f = await setup();
  const { saga, inventory, payments, logger } = f;
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 1 }]);
  using ctx = testContext(logger);
  // A crash after charging, then an operator released the stock by hand.
  await inventory.reserve({ orderId: "o-1", items: [{ sku: "TEA", quantity: 1 }] }, ctx);
  await payments.charge({ orderId: "o-1", customerId: "alice", amount: 850 }, ctx);
  await inventory.release("o-1", ctx);
  const order = await saga.drive("o-1", ctx);
  assert.equal(order.status, "CANCELLED");
  assert.equal(order.reason, "OUT_OF_STOCK");
  assert.equal(payments.balance("alice"), 50_000);
  assert.equal(inventory.stock("TEA"), 10);
});

Deno.test("OrderSaga.drive() cancels an order whose payment was voided elsewhere and releases its stock", async () => {
  await using f = await setup();
  const { saga, inventory, payments, logger } = f;
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 1 }]);
  using ctx = testContext(logger);
  await payments.refund("o-1", ctx);
  const order = await saga.drive("o-1", ctx);
  assert.equal(order.status, "CANCELLED");
  assert.equal(order.reason, "INSUFFICIENT_FUNDS");
  assert.equal(inventory.stock("TEA"), 10);
});

Deno.test("OrderSaga.drive() runs concurrent drives of one order one after the other", async () => {
  await using f = await setup();
  const { saga, inventory, payments, logger } = f;
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 1 }]);
  using ctx = testContext(logger);
  const [a, b, c] = await Promise.all([
    saga.drive("o-1", ctx),
    saga.drive("o-1", ctx),
    saga.drive("o-1", ctx),
  ]);
  assert.equal(a.status, "CONFIRMED");
  assert.deepEqual(b, a);
  assert.deepEqual(c, a);
  assert.deepEqual(inventory.log, ["reserve:o-1"]);
  assert.deepEqual(payments.log, ["charge:o-1"]);
});

Deno.test("OrderSaga.drive() with a context already past its deadline does nothing", async () => {
  await using f = await setup();
  const { saga, inventory, logger } = f;
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 1 }]);
  const controller = new AbortController();
  controller.abort(new DeadlineExceededError());
  using ctx = testContext(logger);
  const done = {
    ...ctx,
    signal: controller.signal,
    throwIfDone: () => controller.signal.throwIfAborted(),
  };
  await assert.rejects(saga.drive("o-1", done), DeadlineExceededError);
  assert.deepEqual(inventory.log, []);
});

Deno.test("OrderSaga.drive() appends each step once, in the drive's trace", async () => {
  await using f = await setup();
  const { saga, store, logger } = f;
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 2 }]);
  await pendingOrder(f, "o-2", "carol", [{ sku: "MUG", quantity: 1 }]);
  using ctx = testContext(logger);
  await saga.drive("o-1", ctx);
  await saga.drive("o-1", ctx);
  await saga.drive("o-2", ctx);
  await saga.drive("o-2", ctx);
  const steps = (await f.appended()).filter((e) => e.type !== "OrderPlaced");
  assert.deepEqual(steps.map(({ stream, type }) => `${stream} ${type}`), [
    "order-o-1 StockReserved",
    "order-o-1 PaymentCharged",
    "order-o-1 OrderConfirmed",
    "order-o-2 StockReserved",
    "order-o-2 CancellationStarted",
    "order-o-2 OrderCancelled",
  ]);
  assert.deepEqual(steps[2]?.data, {
    orderId: "o-1",
    customerId: "alice",
    total: 1_700,
    at: "2025-01-01T00:00:00.000Z",
  });
  assert.deepEqual(steps[5]?.data, {
    orderId: "o-2",
    customerId: "carol",
    reason: "INSUFFICIENT_FUNDS",
    at: "2025-01-01T00:00:00.000Z",
  });
  for (const event of steps) {
    assert.equal(event.metadata.traceparent, `00-${ctx.trace.traceId}-${ctx.trace.spanId}-01`);
  }
  assert.deepEqual(await store.history("o-1").then((h) => h.map((e) => e.version)), [0, 1, 2, 3]);
});

Deno.test("OrderSaga.drive() keeps the order PENDING when a step cannot be appended, and resumes", async () => {
  await using f = await setup();
  let failures = 1;
  const flaky = new Proxy(f.events, {
    get(target, key) {
      if (key === "append" && failures > 0) {
        return (...args: Parameters<typeof target.append>) =>
          args[1][0]?.type === "PaymentCharged" && failures-- > 0
            ? Promise.reject(new Error("the event store is down"))
            : target.append(...args);
      }
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const store = new EventSourcedOrderStore({
    events: flaky,
    waitForReadSide: (position) => f.projector.waitFor(position),
  });
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 1 }]);
  using ctx = testContext(f.logger);
  await assert.rejects(new OrderSaga({ ...f, store }).drive("o-1", ctx), /down/);
  assert.equal((await f.store.get("o-1"))?.status, "PENDING");
  assert.equal((await f.store.get("o-1"))?.stockReserved, true);
  // Every step is idempotent: a later drive charges again (the payment answers as the first time).
  const order = await new OrderSaga(f).drive("o-1", ctx);
  assert.equal(order.status, "CONFIRMED");
  assert.equal(f.payments.balance("alice"), 50_000 - 850);
  assert.deepEqual(f.payments.log, ["charge:o-1", "charge:o-1"]);
  assert.deepEqual((await f.appended()).map((e) => e.type), [
    "OrderPlaced",
    "StockReserved",
    "PaymentCharged",
    "OrderConfirmed",
  ]);
});
