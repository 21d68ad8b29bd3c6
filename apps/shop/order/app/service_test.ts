import assert from "node:assert/strict";
import {
  createClient,
  createContext,
  FlotillaError,
  localCallHandler,
  UnavailableError,
} from "@flotilla/core";
import { orderContract } from "../../contracts/mod.ts";
import { createOrderService } from "./service.ts";
import { orderIdForKey } from "./place_order.ts";
import { fixture, pendingOrder } from "./_fixture.ts";

async function setup() {
  const f = await fixture();
  const counts = { closed: 0 };
  const service = createOrderService({ ...f, close: () => void counts.closed++ });
  const client = createClient(orderContract, localCallHandler(service), { caller: "gateway" });
  return Object.assign(f, { service, client, counts });
}

async function rejects(promise: Promise<unknown>, code: string): Promise<FlotillaError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof FlotillaError, `expected ${code}, got ${String(error)}`);
  assert.equal(error.code, code);
  return error;
}

const request = {
  customerId: "alice",
  items: [{ sku: "TEA", quantity: 2 }, { sku: "MUG", quantity: 1 }],
};

Deno.test("order.placeOrder() confirms an order priced at current prices", async () => {
  await using f = await setup();
  const { client, inventory, payments } = f;
  const order = await client.call("placeOrder", request);
  assert.deepEqual(order, {
    orderId: "order-1",
    customerId: "alice",
    items: [{ sku: "TEA", quantity: 2, price: 850 }, { sku: "MUG", quantity: 1, price: 1800 }],
    total: 3_500,
    status: "CONFIRMED",
    createdAt: "2025-01-01T00:00:00.000Z",
    updatedAt: "2025-01-01T00:00:00.000Z",
  });
  assert.equal(inventory.stock("TEA"), 8);
  assert.equal(payments.balance("alice"), 46_500);
});

Deno.test("order.placeOrder() out of stock is CANCELLED with OUT_OF_STOCK and charges nothing", async () => {
  await using f = await setup();
  const { client, inventory, payments } = f;
  const order = await client.call("placeOrder", {
    customerId: "alice",
    items: [{ sku: "TEA", quantity: 1 }, { sku: "POT", quantity: 1 }],
  });
  assert.equal(order.status, "CANCELLED");
  assert.equal(order.reason, "OUT_OF_STOCK");
  assert.equal(inventory.stock("TEA"), 10);
  assert.equal(payments.balance("alice"), 50_000);
});

Deno.test("order.placeOrder() over the balance is CANCELLED with INSUFFICIENT_FUNDS, stock given back", async () => {
  await using f = await setup();
  const { client, inventory, payments } = f;
  const order = await client.call("placeOrder", {
    customerId: "carol",
    items: [{ sku: "MUG", quantity: 1 }],
  });
  assert.equal(order.status, "CANCELLED");
  assert.equal(order.reason, "INSUFFICIENT_FUNDS");
  assert.equal(inventory.stock("MUG"), 2);
  assert.equal(payments.balance("carol"), 1_000);
});

Deno.test("order.placeOrder() of an unknown customer is UNKNOWN_CUSTOMER and creates nothing", async () => {
  await using f = await setup();
  const { client, inventory, views } = f;
  const error = await rejects(
    client.call("placeOrder", { ...request, customerId: "mallory" }),
    "UNKNOWN_CUSTOMER",
  );
  assert.equal(error.httpStatus, 422);
  assert.deepEqual(error.issues.map((i) => i.pointer), ["/customerId"]);
  assert.ok(error.message.includes("customerId"));
  assert.deepEqual(views.list({ limit: 10 }), []);
  assert.deepEqual(inventory.log, []);
});

Deno.test("order.placeOrder() of unknown skus is UNKNOWN_SKU pointing at each line, creates nothing", async () => {
  await using f = await setup();
  const { client, inventory, views } = f;
  const error = await rejects(
    client.call("placeOrder", {
      customerId: "alice",
      items: [{ sku: "NOPE", quantity: 1 }, { sku: "TEA", quantity: 1 }, {
        sku: "GONE",
        quantity: 1,
      }],
    }),
    "UNKNOWN_SKU",
  );
  assert.equal(error.kind, "FAILED_PRECONDITION");
  assert.deepEqual(error.issues.map((i) => i.pointer), ["/items/0/sku", "/items/2/sku"]);
  assert.ok(error.message.includes("items[2].sku"));
  assert.deepEqual(views.list({ limit: 10 }), []);
  assert.ok(!inventory.log.some((c) => c.startsWith("reserve")));
});

Deno.test("order.placeOrder() with the same Idempotency-Key returns the same order and creates nothing", async () => {
  await using f = await setup();
  const { client, inventory, payments, views } = f;
  const first = await client.call("placeOrder", request, { idempotencyKey: "k-1" });
  const reordered = { ...request, items: [...request.items].reverse() };
  const again = await client.call("placeOrder", reordered, { idempotencyKey: "k-1" });
  assert.deepEqual(again, first);
  assert.equal(views.list({ limit: 10 }).length, 1);
  assert.equal(inventory.log.filter((c) => c.startsWith("reserve")).length, 1);
  assert.equal(payments.balance("alice"), 46_500);
});

Deno.test("order.placeOrder() with a reused key and a different request is IDEMPOTENCY_KEY_REUSED", async () => {
  await using f = await setup();
  const { client, views } = f;
  await client.call("placeOrder", request, { idempotencyKey: "k-1" });
  const error = await rejects(
    client.call("placeOrder", { ...request, customerId: "carol" }, { idempotencyKey: "k-1" }),
    "IDEMPOTENCY_KEY_REUSED",
  );
  assert.equal(error.httpStatus, 422);
  await rejects(
    client.call("placeOrder", { ...request, items: [{ sku: "TEA", quantity: 3 }] }, {
      idempotencyKey: "k-1",
    }),
    "IDEMPOTENCY_KEY_REUSED",
  );
  assert.equal(views.list({ limit: 10 }).length, 1);
});

Deno.test("order.placeOrder() without a key places a new order each time", async () => {
  await using f = await setup();
  const { client, views } = f;
  const a = await client.call("placeOrder", request);
  const b = await client.call("placeOrder", request);
  assert.notEqual(a.orderId, b.orderId);
  assert.equal(views.list({ limit: 10 }).length, 2);
});

Deno.test("order.placeOrder() retried with its key after a peer failure resumes the same order", async () => {
  await using f = await setup();
  const { client, payments, inventory, views } = f;
  payments.fail("charge", { error: new UnavailableError("payment is down") }, 1_000_000);
  const error = await rejects(
    client.call("placeOrder", request, { idempotencyKey: "k-1", timeoutMs: 200 }),
    "DEADLINE_EXCEEDED",
  );
  assert.equal(error.httpStatus, 504);
  assert.equal(views.list({ limit: 10 })[0]?.status, "PENDING");
  payments.heal("charge");
  const order = await client.call("placeOrder", request, { idempotencyKey: "k-1" });
  assert.equal(order.status, "CONFIRMED");
  assert.equal(order.orderId, await orderIdForKey("k-1"));
  assert.equal(views.list({ limit: 10 }).length, 1);
  assert.equal(payments.balance("alice"), 46_500);
  assert.equal(inventory.stock("TEA"), 8);
});
Deno.test("order.placeOrder() sent twice at once with one key makes one order", async () => {
  await using f = await setup();
  const { client, inventory, payments, views } = f;
  const [a, b] = await Promise.all([
    client.call("placeOrder", request, { idempotencyKey: "k-1" }),
    client.call("placeOrder", request, { idempotencyKey: "k-1" }),
  ]);
  assert.equal(a.orderId, b.orderId);
  // Whether the second got past the key check before the first created (then the store settled
  // the race) or not, there is one order.
  assert.ok(payments.log.filter((c) => c === "getCustomer:alice").length <= 2);
  assert.equal(a.status, "CONFIRMED");
  assert.equal(b.status, "CONFIRMED");
  assert.equal(views.list({ limit: 10 }).length, 1);
  assert.equal(inventory.stock("TEA"), 8);
  assert.equal(payments.balance("alice"), 46_500);
});

Deno.test("order.placeOrder() fails with the peer's error when validation cannot reach it", async () => {
  await using f = await setup();
  const { client, payments, views } = f;
  payments.fail("getCustomer", { error: new UnavailableError("payment is down") });
  await rejects(client.call("placeOrder", request, { idempotencyKey: "k-1" }), "UNAVAILABLE");
  assert.deepEqual(views.list({ limit: 10 }), []);
});

Deno.test("order.getOrder() returns the order, or ORDER_NOT_FOUND", async () => {
  await using f = await setup();
  const { client } = f;
  const placed = await client.call("placeOrder", request);
  assert.deepEqual(await client.call("getOrder", { orderId: placed.orderId }), placed);
  const error = await rejects(client.call("getOrder", { orderId: "nope" }), "ORDER_NOT_FOUND");
  assert.equal(error.httpStatus, 404);
});

Deno.test("order.listOrders() is newest first, per customer, limited", async () => {
  await using f = await setup();
  const { client, clock } = f;
  const a = await client.call("placeOrder", request);
  clock.advance(1_000);
  const b = await client.call("placeOrder", {
    customerId: "carol",
    items: [{ sku: "TEA", quantity: 1 }],
  });
  clock.advance(1_000);
  const c = await client.call("placeOrder", request);
  assert.deepEqual((await client.call("listOrders", {})).map((o) => o.orderId), [
    c.orderId,
    b.orderId,
    a.orderId,
  ]);
  assert.deepEqual(
    (await client.call("listOrders", { customerId: "alice" })).map((o) => o.orderId),
    [c.orderId, a.orderId],
  );
  assert.deepEqual((await client.call("listOrders", { limit: 1 })).map((o) => o.orderId), [
    c.orderId,
  ]);
});

Deno.test("order service resumes pending orders and closes on stop", async () => {
  await using f = await setup();
  const { service, store } = f;
  await pendingOrder(f, "crashed", "alice", [{ sku: "TEA", quantity: 1 }]);
  assert.equal((await service.resumePending()).confirmed, 1);
  assert.equal((await store.get("crashed"))?.status, "CONFIRMED");
  assert.equal(await service.readiness[0]?.check(), true);
  service.startRecovery({ intervalMs: 3_600_000 });
  await service.onStop?.();
  assert.equal(f.counts.closed, 1);
});

Deno.test("order.getOrderEvents() is the order's history, oldest first, or ORDER_NOT_FOUND", async () => {
  await using f = await setup();
  const placed = await f.client.call("placeOrder", request);
  const history = await f.client.call("getOrderEvents", { orderId: placed.orderId });
  assert.deepEqual(history.map((e) => [e.version, e.type]), [
    [0, "OrderPlaced"],
    [1, "StockReserved"],
    [2, "PaymentCharged"],
    [3, "OrderConfirmed"],
  ]);
  assert.deepEqual(history[0]?.data, {
    orderId: placed.orderId,
    customerId: "alice",
    items: placed.items,
    total: 3_500,
    at: placed.createdAt,
  });
  assert.equal(history[0]?.time, placed.createdAt);
  await rejects(f.client.call("getOrderEvents", { orderId: "nope" }), "ORDER_NOT_FOUND");
});

Deno.test("order.placeOrder() appends OrderPlaced to OrderConfirmed once, in the request's trace", async () => {
  await using f = await setup();
  using ctx = createContext({ service: "gateway", action: "placeOrder" });
  await f.client.call("placeOrder", request, { ctx, idempotencyKey: "k-1" });
  await f.client.call("placeOrder", request, { ctx, idempotencyKey: "k-1" }); // a replay
  const appended = await f.appended();
  assert.deepEqual(appended.map((e) => e.type), [
    "OrderPlaced",
    "StockReserved",
    "PaymentCharged",
    "OrderConfirmed",
  ]);
  assert.equal(new Set(appended.map((e) => e.stream)).size, 1);
  for (const event of appended) {
    assert.equal(String(event.metadata.traceparent).split("-")[1], ctx.trace.traceId);
  }
});

Deno.test("order.placeOrder() that is cancelled appends the reason before and after compensating", async () => {
  await using f = await setup();
  await f.client.call("placeOrder", { customerId: "alice", items: [{ sku: "POT", quantity: 1 }] });
  await f.client.call("placeOrder", { customerId: "carol", items: [{ sku: "MUG", quantity: 1 }] });
  const appended = await f.appended();
  assert.deepEqual(appended.map((e) => `${e.type} ${e.stream}`), [
    "OrderPlaced order-order-1",
    "CancellationStarted order-order-1",
    "OrderCancelled order-order-1",
    "OrderPlaced order-order-2",
    "StockReserved order-order-2",
    "CancellationStarted order-order-2",
    "OrderCancelled order-order-2",
  ]);
  assert.deepEqual(appended[2]?.data, {
    orderId: "order-1",
    customerId: "alice",
    reason: "OUT_OF_STOCK",
    at: "2025-01-01T00:00:00.000Z",
  });
  assert.deepEqual(appended[6]?.data, {
    orderId: "order-2",
    customerId: "carol",
    reason: "INSUFFICIENT_FUNDS",
    at: "2025-01-01T00:00:00.000Z",
  });
});

Deno.test("order.placeOrder() appends nothing for a refused request and nothing twice across a retry", async () => {
  await using f = await setup();
  const types = async () => (await f.appended()).map((e) => e.type);
  await rejects(
    f.client.call("placeOrder", { ...request, customerId: "mallory" }),
    "UNKNOWN_CUSTOMER",
  );
  assert.deepEqual(await types(), []);
  f.payments.fail("charge", { error: new UnavailableError("payment is down") }, 1_000_000);
  await rejects(
    f.client.call("placeOrder", request, { idempotencyKey: "k-1", timeoutMs: 200 }),
    "DEADLINE_EXCEEDED",
  );
  assert.deepEqual(await types(), ["OrderPlaced", "StockReserved"]);
  f.payments.heal("charge");
  await f.client.call("placeOrder", request, { idempotencyKey: "k-1" });
  assert.deepEqual(await types(), [
    "OrderPlaced",
    "StockReserved",
    "PaymentCharged",
    "OrderConfirmed",
  ]);
});

Deno.test("order.placeOrder() with a key names the order after the key, the same on every replica", async () => {
  const a = await orderIdForKey("checkout-42");
  assert.equal(a, await orderIdForKey("checkout-42"));
  assert.notEqual(a, await orderIdForKey("checkout-43"));
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

Deno.test("order service is ready only while its database and every extra check are", async () => {
  await using f = await fixture();
  let projecting = true;
  const service = createOrderService({
    ...f,
    readiness: [{ name: "orders projection", check: () => projecting }],
  });
  const ready = async () =>
    (await Promise.all(service.readiness.map((r) => r.check()))).every(Boolean);
  assert.deepEqual(service.readiness.map((r) => r.name), ["database", "orders projection"]);
  assert.equal(await ready(), true);
  projecting = false;
  assert.equal(await ready(), false);
});

Deno.test("order.listCheckouts() shows a checkout parked by a failing compensation; resumeCheckout() finishes it", async () => {
  await using f = await fixture();
  const { inventory, store } = f;
  const service = createOrderService({ ...f, checkout: { compensationAttempts: 8 } });
  const client = createClient(orderContract, localCallHandler(service), { caller: "gateway" });
  // carol cannot pay: the checkout compensates, and releasing her stock keeps failing.
  inventory.fail("release", { error: new UnavailableError("inventory is down") }, 1_000);
  const parked = await client.call("placeOrder", {
    customerId: "carol",
    items: [{ sku: "MUG", quantity: 1 }],
  });
  assert.equal(parked.status, "PENDING");
  const listed = await client.call("listCheckouts", { status: "NEEDS_ATTENTION" });
  assert.deepEqual(listed.map((c) => [c.orderId, c.protocol, c.status]), [
    [parked.orderId, "checkout", "NEEDS_ATTENTION"],
  ]);
  assert.equal(listed[0]?.error?.code, "TX_COMPENSATION_FAILED");
  const release = listed[0]?.steps.find((s) => s.name === "reserveStock");
  assert.equal(release?.compensationAttempts, 8);

  inventory.heal("release");
  const resumed = await client.call("resumeCheckout", { orderId: parked.orderId });
  assert.equal(resumed.status, "COMPENSATED");
  const order = (await store.get(parked.orderId))!;
  assert.equal(order.status, "CANCELLED");
  assert.equal(order.reason, "INSUFFICIENT_FUNDS");
  assert.equal(inventory.stock("MUG"), 2);
  assert.deepEqual(await client.call("listCheckouts", { status: "NEEDS_ATTENTION" }), []);
  await rejects(client.call("resumeCheckout", { orderId: "nope" }), "CHECKOUT_NOT_FOUND");
});
