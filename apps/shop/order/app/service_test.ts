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
import { fixture, pendingOrder } from "./_fixture.ts";

function setup() {
  const f = fixture();
  const service = createOrderService(f);
  const client = createClient(orderContract, localCallHandler(service), { caller: "gateway" });
  /** The types of the events emitted so far, with their subjects. */
  const emitted = () => f.events.map(({ type, subject }) => `${type} ${subject}`);
  return { ...f, service, client, emitted };
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
  const { client, inventory, payments } = setup();
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
  const { client, inventory, payments } = setup();
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
  const { client, inventory, payments } = setup();
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
  const { client, store, inventory } = setup();
  const error = await rejects(
    client.call("placeOrder", { ...request, customerId: "mallory" }),
    "UNKNOWN_CUSTOMER",
  );
  assert.equal(error.httpStatus, 422);
  assert.deepEqual(error.issues.map((i) => i.pointer), ["/customerId"]);
  assert.ok(error.message.includes("customerId"));
  assert.deepEqual(store.list({ limit: 10 }), []);
  assert.deepEqual(inventory.log, []);
});

Deno.test("order.placeOrder() of unknown skus is UNKNOWN_SKU pointing at each line, creates nothing", async () => {
  const { client, store, inventory } = setup();
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
  assert.deepEqual(store.list({ limit: 10 }), []);
  assert.ok(!inventory.log.some((c) => c.startsWith("reserve")));
});

Deno.test("order.placeOrder() with the same Idempotency-Key returns the same order and creates nothing", async () => {
  const { client, store, inventory, payments } = setup();
  const first = await client.call("placeOrder", request, { idempotencyKey: "k-1" });
  const reordered = { ...request, items: [...request.items].reverse() };
  const again = await client.call("placeOrder", reordered, { idempotencyKey: "k-1" });
  assert.deepEqual(again, first);
  assert.equal(store.list({ limit: 10 }).length, 1);
  assert.equal(inventory.log.filter((c) => c.startsWith("reserve")).length, 1);
  assert.equal(payments.balance("alice"), 46_500);
});

Deno.test("order.placeOrder() with a reused key and a different request is IDEMPOTENCY_KEY_REUSED", async () => {
  const { client, store } = setup();
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
  assert.equal(store.list({ limit: 10 }).length, 1);
});

Deno.test("order.placeOrder() without a key places a new order each time", async () => {
  const { client, store } = setup();
  const a = await client.call("placeOrder", request);
  const b = await client.call("placeOrder", request);
  assert.notEqual(a.orderId, b.orderId);
  assert.equal(store.list({ limit: 10 }).length, 2);
});

Deno.test("order.placeOrder() retried with its key after a peer failure resumes the same order", async () => {
  const { client, store, payments, inventory } = setup();
  payments.fail("charge", { error: new UnavailableError("payment is down") });
  const error = await rejects(
    client.call("placeOrder", request, { idempotencyKey: "k-1" }),
    "UNAVAILABLE",
  );
  assert.equal(error.httpStatus, 503);
  assert.equal(store.list({ limit: 10 })[0]?.status, "PENDING");
  const order = await client.call("placeOrder", request, { idempotencyKey: "k-1" });
  assert.equal(order.status, "CONFIRMED");
  assert.equal(order.orderId, "order-1");
  assert.equal(store.list({ limit: 10 }).length, 1);
  assert.equal(payments.balance("alice"), 46_500);
  assert.equal(inventory.stock("TEA"), 8);
});

Deno.test("order.placeOrder() sent twice at once with one key makes one order", async () => {
  const { client, store, inventory, payments } = setup();
  const [a, b] = await Promise.all([
    client.call("placeOrder", request, { idempotencyKey: "k-1" }),
    client.call("placeOrder", request, { idempotencyKey: "k-1" }),
  ]);
  assert.equal(a.orderId, b.orderId);
  // Both got past the key check before either created: the store settled the race.
  assert.equal(payments.log.filter((c) => c === "getCustomer:alice").length, 2);
  assert.equal(a.status, "CONFIRMED");
  assert.equal(b.status, "CONFIRMED");
  assert.equal(store.list({ limit: 10 }).length, 1);
  assert.equal(inventory.stock("TEA"), 8);
  assert.equal(payments.balance("alice"), 46_500);
});

Deno.test("order.placeOrder() fails with the peer's error when validation cannot reach it", async () => {
  const { client, store, payments } = setup();
  payments.fail("getCustomer", { error: new UnavailableError("payment is down") });
  await rejects(client.call("placeOrder", request, { idempotencyKey: "k-1" }), "UNAVAILABLE");
  assert.deepEqual(store.list({ limit: 10 }), []);
});

Deno.test("order.getOrder() returns the order, or ORDER_NOT_FOUND", async () => {
  const { client } = setup();
  const placed = await client.call("placeOrder", request);
  assert.deepEqual(await client.call("getOrder", { orderId: placed.orderId }), placed);
  const error = await rejects(client.call("getOrder", { orderId: "nope" }), "ORDER_NOT_FOUND");
  assert.equal(error.httpStatus, 404);
});

Deno.test("order.listOrders() is newest first, per customer, limited", async () => {
  const { client, clock } = setup();
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

Deno.test("order service resumes pending orders and closes its store on stop", async () => {
  const { service, store } = setup();
  pendingOrder(store, "crashed", "alice", [{ sku: "TEA", quantity: 1 }]);
  assert.equal((await service.resumePending()).confirmed, 1);
  assert.equal(store.get("crashed")?.status, "CONFIRMED");
  assert.equal(await service.readiness[0]?.check(), true);
  service.startRecovery({ intervalMs: 3_600_000 });
  await service.onStop?.();
  assert.equal(store.ping(), false);
});

Deno.test("order.placeOrder() emits order.created then order.confirmed, in the request's trace", async () => {
  const { client, events, emitted } = setup();
  using ctx = createContext({ service: "gateway", action: "placeOrder" });
  await client.call("placeOrder", request, { ctx, idempotencyKey: "k-1" });
  await client.call("placeOrder", request, { ctx, idempotencyKey: "k-1" }); // a replay
  assert.deepEqual(emitted(), ["order.created order-1", "order.confirmed order-1"]);
  assert.deepEqual(events.map((event) => event.data), [
    {
      orderId: "order-1",
      customerId: "alice",
      items: [{ sku: "TEA", quantity: 2, price: 850 }, { sku: "MUG", quantity: 1, price: 1800 }],
      total: 3_500,
    },
    { orderId: "order-1", customerId: "alice", total: 3_500 },
  ]);
  for (const event of events) assert.equal(event.trace?.traceId, ctx.trace.traceId);
});

Deno.test("order.placeOrder() that is cancelled emits order.created then order.cancelled with the reason", async () => {
  const { client, events, emitted } = setup();
  await client.call("placeOrder", { customerId: "alice", items: [{ sku: "POT", quantity: 1 }] });
  await client.call("placeOrder", { customerId: "carol", items: [{ sku: "MUG", quantity: 1 }] });
  assert.deepEqual(emitted(), [
    "order.created order-1",
    "order.cancelled order-1",
    "order.created order-2",
    "order.cancelled order-2",
  ]);
  assert.deepEqual(events[1]?.data, {
    orderId: "order-1",
    customerId: "alice",
    reason: "OUT_OF_STOCK",
  });
  assert.deepEqual(events[3]?.data, {
    orderId: "order-2",
    customerId: "carol",
    reason: "INSUFFICIENT_FUNDS",
  });
});

Deno.test("order.placeOrder() emits nothing for a refused request and nothing twice across a retry", async () => {
  const { client, payments, emitted } = setup();
  await rejects(
    client.call("placeOrder", { ...request, customerId: "mallory" }),
    "UNKNOWN_CUSTOMER",
  );
  assert.deepEqual(emitted(), []);
  payments.fail("charge", { error: new UnavailableError("payment is down") });
  await rejects(client.call("placeOrder", request, { idempotencyKey: "k-1" }), "UNAVAILABLE");
  assert.deepEqual(emitted(), ["order.created order-1"]);
  await client.call("placeOrder", request, { idempotencyKey: "k-1" });
  assert.deepEqual(emitted(), ["order.created order-1", "order.confirmed order-1"]);
});
