import assert from "node:assert/strict";
import { beginCancel, cancelOrder, confirmOrder, placeOrder } from "./order.ts";
import { orderEvents } from "./order_events.ts";

const placed = placeOrder({
  orderId: "o-1",
  customerId: "alice",
  items: [{ sku: "TEA", quantity: 2 }, { sku: "MUG", quantity: 1 }],
  prices: new Map([["TEA", 850], ["MUG", 1800]]),
  now: "t0",
});

Deno.test("orderEvents() of an inserted order is order.created with its priced lines", () => {
  assert.deepEqual(orderEvents(undefined, placed), [{
    type: "order.created",
    data: {
      orderId: "o-1",
      customerId: "alice",
      items: [{ sku: "TEA", quantity: 2, price: 850 }, { sku: "MUG", quantity: 1, price: 1800 }],
      total: 3_500,
    },
  }]);
});

Deno.test("orderEvents() of a confirmation is order.confirmed", () => {
  assert.deepEqual(orderEvents(placed, confirmOrder(placed, "t1")), [{
    type: "order.confirmed",
    data: { orderId: "o-1", customerId: "alice", total: 3_500 },
  }]);
});

Deno.test("orderEvents() of a cancellation is order.cancelled with its reason, not its beginning", () => {
  const cancelling = beginCancel(placed, "INSUFFICIENT_FUNDS", "t1");
  assert.deepEqual(orderEvents(placed, cancelling), []);
  const cancelled = cancelOrder(cancelling, "INSUFFICIENT_FUNDS", "t2");
  assert.deepEqual(orderEvents(cancelling, cancelled), [{
    type: "order.cancelled",
    data: { orderId: "o-1", customerId: "alice", reason: "INSUFFICIENT_FUNDS" },
  }]);
  assert.deepEqual(orderEvents(placed, cancelOrder(placed, "OUT_OF_STOCK", "t1")), [{
    type: "order.cancelled",
    data: { orderId: "o-1", customerId: "alice", reason: "OUT_OF_STOCK" },
  }]);
});

Deno.test("orderEvents() of a write that changes no status is empty", () => {
  const confirmed = confirmOrder(placed, "t1");
  const cancelled = cancelOrder(placed, "OUT_OF_STOCK", "t1");
  assert.deepEqual(orderEvents(placed, placed), []);
  assert.deepEqual(orderEvents(confirmed, confirmOrder(confirmed, "t2")), []);
  assert.deepEqual(orderEvents(cancelled, cancelOrder(cancelled, "OUT_OF_STOCK", "t2")), []);
});

Deno.test("orderEvents() of an order inserted already settled announces both", () => {
  assert.deepEqual(
    orderEvents(undefined, confirmOrder(placed, "t1")).map((event) => event.type),
    ["order.created", "order.confirmed"],
  );
});
