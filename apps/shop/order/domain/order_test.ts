import assert from "node:assert/strict";
import { FlotillaError } from "@flotilla/core";
import {
  beginCancel,
  cancelOrder,
  confirmOrder,
  evolveOrder,
  foldOrder,
  type Order,
  type OrderEvent,
  placeOrder,
  recordPaymentCharged,
  recordStockReserved,
} from "./order.ts";

const T0 = "2025-01-01T00:00:00.000Z";
const T1 = "2025-01-01T00:00:01.000Z";

const placed = placeOrder({
  orderId: "o-1",
  customerId: "alice",
  items: [{ sku: "TEA", quantity: 2 }, { sku: "MUG", quantity: 1 }],
  prices: new Map([["TEA", 850], ["MUG", 1800], ["POT", 6500]]),
  now: T0,
});

function pending(): Order {
  return foldOrder([placed])!;
}

/** The order after `decide`'s events. */
function after(order: Order, decide: (order: Order) => OrderEvent[]): Order {
  return foldOrder(decide(order), order)!;
}

function paid(): Order {
  const reserved = after(pending(), (o) => recordStockReserved(o, T1));
  return after(reserved, (o) => recordPaymentCharged(o, T1));
}

function assertInvalid(fn: () => unknown): void {
  assert.throws(
    fn,
    (e: unknown) => e instanceof FlotillaError && e.code === "INVALID_ORDER_TRANSITION",
  );
}

Deno.test("placeOrder() prices each line and sums the total; the fold is a PENDING order", () => {
  assert.deepEqual(placed, {
    type: "OrderPlaced",
    data: {
      orderId: "o-1",
      customerId: "alice",
      items: [{ sku: "TEA", quantity: 2, price: 850 }, { sku: "MUG", quantity: 1, price: 1800 }],
      total: 3500,
      at: T0,
    },
  });
  assert.deepEqual(pending(), {
    orderId: "o-1",
    customerId: "alice",
    items: [{ sku: "TEA", quantity: 2, price: 850 }, { sku: "MUG", quantity: 1, price: 1800 }],
    total: 3500,
    status: "PENDING",
    reason: undefined,
    cancelling: undefined,
    stockReserved: false,
    charged: false,
    createdAt: T0,
    updatedAt: T0,
  });
});

Deno.test("placeOrder() refuses a line without a price, no lines, and an unsafe total", () => {
  const base = { orderId: "o-1", customerId: "alice", now: T0 };
  assert.throws(
    () => placeOrder({ ...base, items: [{ sku: "X", quantity: 1 }], prices: new Map() }),
    RangeError,
  );
  assert.throws(() => placeOrder({ ...base, items: [], prices: new Map() }), RangeError);
  assert.throws(
    () =>
      placeOrder({
        ...base,
        items: [{ sku: "X", quantity: 1_000 }],
        prices: new Map([["X", Number.MAX_SAFE_INTEGER]]),
      }),
    RangeError,
  );
});

Deno.test("evolveOrder() refuses a stream that is not an order's", () => {
  assert.throws(() => evolveOrder(pending(), placed), TypeError);
  assert.throws(
    () => evolveOrder(undefined, { type: "StockReserved", data: { orderId: "o-1", at: T0 } }),
    TypeError,
  );
});

Deno.test("an order is reserved, charged, then confirmed, each once", () => {
  const order = pending();
  assertInvalid(() => recordPaymentCharged(order, T1));
  assertInvalid(() => confirmOrder(order, T1));
  const reserved = after(order, (o) => recordStockReserved(o, T1));
  assert.equal(reserved.stockReserved, true);
  assert.deepEqual(recordStockReserved(reserved, T1), []);
  assertInvalid(() => confirmOrder(reserved, T1));
  const charged = paid();
  assert.deepEqual(recordPaymentCharged(charged, T1), []);
  assert.deepEqual(confirmOrder(charged, T1), [{
    type: "OrderConfirmed",
    data: { orderId: "o-1", customerId: "alice", total: 3500, at: T1 },
  }]);
  const confirmed = after(charged, (o) => confirmOrder(o, T1));
  assert.equal(confirmed.status, "CONFIRMED");
  assert.equal(confirmed.updatedAt, T1);
  assert.deepEqual(confirmOrder(confirmed, "later"), []);
});

Deno.test("cancelling records the reason first, and cancelling ends with nothing held", () => {
  const order = paid();
  assertInvalid(() => cancelOrder(order, "INSUFFICIENT_FUNDS", T1));
  const cancelling = after(order, (o) => beginCancel(o, "INSUFFICIENT_FUNDS", T1));
  assert.equal(cancelling.status, "PENDING");
  assert.equal(cancelling.cancelling, "INSUFFICIENT_FUNDS");
  assert.deepEqual(beginCancel(cancelling, "INSUFFICIENT_FUNDS", "later"), []);
  const cancelled = after(cancelling, (o) => cancelOrder(o, "INSUFFICIENT_FUNDS", T1));
  assert.equal(cancelled.status, "CANCELLED");
  assert.equal(cancelled.reason, "INSUFFICIENT_FUNDS");
  assert.equal(cancelled.cancelling, undefined);
  assert.equal(cancelled.stockReserved, false);
  assert.equal(cancelled.charged, false);
  assert.deepEqual(cancelOrder(cancelled, "INSUFFICIENT_FUNDS", "later"), []);
  assert.deepEqual(beginCancel(cancelled, "INSUFFICIENT_FUNDS", "later"), []);
});

Deno.test("a terminal order refuses a different transition", () => {
  const confirmed = after(paid(), (o) => confirmOrder(o, T1));
  assertInvalid(() => cancelOrder(confirmed, "OUT_OF_STOCK", T1));
  assertInvalid(() => beginCancel(confirmed, "OUT_OF_STOCK", T1));
  const cancelling = after(pending(), (o) => beginCancel(o, "OUT_OF_STOCK", T1));
  const cancelled = after(cancelling, (o) => cancelOrder(o, "OUT_OF_STOCK", T1));
  assertInvalid(() => confirmOrder(cancelled, T1));
  assertInvalid(() => recordStockReserved(cancelled, T1));
  assertInvalid(() => cancelOrder(cancelled, "INSUFFICIENT_FUNDS", T1));
  assertInvalid(() => beginCancel(cancelled, "INSUFFICIENT_FUNDS", T1));
});

Deno.test("an order being cancelled can neither be confirmed nor cancelled for another reason", () => {
  const cancelling = after(paid(), (o) => beginCancel(o, "OUT_OF_STOCK", T1));
  assertInvalid(() => confirmOrder(cancelling, T1));
  assertInvalid(() => cancelOrder(cancelling, "INSUFFICIENT_FUNDS", T1));
  assertInvalid(() => beginCancel(cancelling, "INSUFFICIENT_FUNDS", T1));
});
