import assert from "node:assert/strict";
import {
  type CallHandler,
  FlotillaError,
  fromProblem,
  Logger,
  MemorySink,
  NotFoundError,
  type OutboundCall,
  ServiceHost,
  toProblem,
  UnavailableError,
} from "@flotilla/core";
import type { OrderView } from "../../contracts/mod.ts";
import { createPeerClients } from "../infra/peer_clients.ts";
import { createGatewayService } from "./service.ts";

const TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

const order: OrderView = {
  orderId: "o-1",
  customerId: "alice",
  items: [{ sku: "TEA", quantity: 1, price: 850 }],
  total: 850,
  status: "CONFIRMED",
  createdAt: "2025-01-01T00:00:00.000Z",
  updatedAt: "2025-01-01T00:00:00.000Z",
};

/** A peer that records each call and answers from `answer`, errors going through problem+json. */
function peer(answer: (call: OutboundCall) => unknown) {
  const calls: OutboundCall[] = [];
  const handler: CallHandler = (call) => {
    calls.push(call);
    try {
      return Promise.resolve(JSON.parse(JSON.stringify(answer(call) ?? null)));
    } catch (error) {
      const problem = toProblem(error);
      return Promise.reject(fromProblem(JSON.parse(JSON.stringify(problem)), problem.status));
    }
  };
  return { handler, calls };
}

function setup(answers: {
  inventory?: (call: OutboundCall) => unknown;
  payment?: (call: OutboundCall) => unknown;
  order?: (call: OutboundCall) => unknown;
  notification?: (call: OutboundCall) => unknown;
}) {
  const none = () => {
    throw new Error("unexpected call");
  };
  const inventory = peer(answers.inventory ?? none);
  const payment = peer(answers.payment ?? none);
  const orders = peer(answers.order ?? none);
  const notification = peer(answers.notification ?? none);
  const gateway = createGatewayService(
    createPeerClients({
      inventory: inventory.handler,
      payment: payment.handler,
      order: orders.handler,
      notification: notification.handler,
    }),
  );
  const host = new ServiceHost(gateway, { logger: new Logger({ sink: new MemorySink() }) });
  host.markReady();
  return { host, inventory, payment, orders, notification };
}

Deno.test("gateway.listProducts() is inventory.listProducts()", async () => {
  const products = [{ sku: "TEA", name: "Tea", price: 850, stock: 3 }];
  const { host, inventory } = setup({ inventory: () => products });
  const { output } = await host.invoke("listProducts", {}, {});
  assert.deepEqual(output, products);
  assert.equal(inventory.calls[0]?.action, "listProducts");
  assert.equal(inventory.calls[0]?.caller, "gateway");
});

Deno.test("gateway.listCustomers() and getCustomer() call payment", async () => {
  const alice = { id: "alice", name: "Alice", balance: 100 };
  const { host, payment } = setup({
    payment: (call) => call.action === "listCustomers" ? [alice] : alice,
  });
  assert.deepEqual((await host.invoke("listCustomers", {}, {})).output, [alice]);
  assert.deepEqual((await host.invoke("getCustomer", { id: "alice" }, {})).output, alice);
  assert.deepEqual(payment.calls[1]?.input, { customerId: "alice" });
});

Deno.test("gateway.getOrder() maps id to orderId", async () => {
  const { host, orders } = setup({ order: () => order });
  assert.deepEqual((await host.invoke("getOrder", { id: "o-1" }, {})).output, order);
  assert.equal(orders.calls[0]?.action, "getOrder");
  assert.deepEqual(orders.calls[0]?.input, { orderId: "o-1" });
});

Deno.test("gateway.listOrders() passes customerId and limit only when given", async () => {
  const { host, orders } = setup({ order: () => [order] });
  await host.invoke("listOrders", { customerId: "alice", limit: "5" }, {});
  await host.invoke("listOrders", {}, {});
  assert.deepEqual(orders.calls[0]?.input, { customerId: "alice", limit: 5 });
  assert.deepEqual(orders.calls[1]?.input, { limit: 100 });
});

Deno.test("gateway.placeOrder() forwards the Idempotency-Key, the trace and the deadline", async () => {
  const { host, orders } = setup({ order: () => order });
  const input = { customerId: "alice", items: [{ sku: "TEA", quantity: 1 }] };
  const { output } = await host.invoke("placeOrder", input, {
    idempotencyKey: "key-1",
    traceparent: TRACEPARENT,
    timeoutMs: 5_000,
  });
  assert.deepEqual(output, order);
  const call = orders.calls[0]!;
  assert.equal(call.action, "placeOrder");
  assert.deepEqual(call.input, input);
  assert.equal(call.idempotencyKey, "key-1");
  assert.equal(call.trace.traceId, "0af7651916cd43dd8448eb211c80319c");
  assert.ok(call.deadline - Date.now() <= 5_000);
});

Deno.test("gateway.placeOrder() without a key sends none", async () => {
  const { host, orders } = setup({ order: () => order });
  await host.invoke(
    "placeOrder",
    { customerId: "alice", items: [{ sku: "TEA", quantity: 1 }] },
    {},
  );
  assert.equal(orders.calls[0]?.idempotencyKey, undefined);
});

Deno.test("gateway passes peers' errors on unchanged: code, kind, status and issues", async () => {
  const unknownSku = new FlotillaError("UNKNOWN_SKU", 'items[0].sku: unknown sku "X"', {
    kind: "FAILED_PRECONDITION",
    issues: [{ pointer: "/items/0/sku", message: 'unknown sku "X"' }],
  });
  const { host } = setup({
    order: (call) => {
      if (call.action === "getOrder") throw new NotFoundError("ORDER_NOT_FOUND", "no such order");
      throw unknownSku;
    },
    payment: () => {
      throw new UnavailableError("payment is down");
    },
  });
  const caught = (p: Promise<unknown>) => p.then(() => assert.fail("expected an error"), (e) => e);

  const placed = await caught(
    host.invoke("placeOrder", { customerId: "alice", items: [{ sku: "X", quantity: 1 }] }, {}),
  );
  assert.ok(placed instanceof FlotillaError);
  assert.equal(placed.code, "UNKNOWN_SKU");
  assert.equal(placed.httpStatus, 422);
  assert.deepEqual(placed.issues, unknownSku.issues);
  assert.equal(placed.message, unknownSku.message);

  const missing = await caught(host.invoke("getOrder", { id: "nope" }, {}));
  assert.equal(missing.code, "ORDER_NOT_FOUND");
  assert.equal(missing.httpStatus, 404);

  const down = await caught(host.invoke("getCustomer", { id: "alice" }, {}));
  assert.equal(down.code, "UNAVAILABLE");
  assert.equal(down.httpStatus, 503);
});

Deno.test("gateway is a service with no readiness checks and nothing to close", () => {
  const { host } = setup({});
  assert.equal(host.service.readiness.length, 0);
  assert.equal(host.service.onStop, undefined);
});

Deno.test("gateway's read-side routes call the notification service", async () => {
  const history = [{
    orderId: "o-1",
    customerId: "alice",
    total: 850,
    status: "CONFIRMED",
    updatedAt: "2026-11-26T00:00:00.000Z",
  }];
  const { host, notification } = setup({
    notification: (call) =>
      call.action === "history"
        ? history
        : call.action === "stock"
        ? [{ sku: "TEA", stock: 3 }]
        : [],
  });
  assert.deepEqual((await host.invoke("customerHistory", { id: "alice" }, {})).output, history);
  assert.deepEqual((await host.invoke("stockFigures", {}, {})).output, [{ sku: "TEA", stock: 3 }]);
  assert.deepEqual(
    (await host.invoke("customerNotifications", { id: "alice", limit: "5" }, {})).output,
    [],
  );
  assert.deepEqual(notification.calls.map((c) => [c.action, c.input]), [
    ["history", { customerId: "alice" }],
    ["stock", {}],
    ["notifications", { customerId: "alice", limit: 5 }],
  ]);
});
