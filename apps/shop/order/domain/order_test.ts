import assert from "node:assert/strict";
import { FlotillaError } from "@flotilla/core";
import { beginCancel, cancelOrder, confirmOrder, type Order, placeOrder } from "./order.ts";

const T0 = "2025-01-01T00:00:00.000Z";
const T1 = "2025-01-01T00:00:01.000Z";

function pending(): Order {
  return placeOrder({
    orderId: "o-1",
    customerId: "alice",
    items: [{ sku: "TEA", quantity: 2 }, { sku: "MUG", quantity: 1 }],
    prices: new Map([["TEA", 850], ["MUG", 1800], ["POT", 6500]]),
    now: T0,
  });
}

function assertInvalid(fn: () => unknown): void {
  assert.throws(
    fn,
    (e: unknown) => e instanceof FlotillaError && e.code === "INVALID_ORDER_TRANSITION",
  );
}

Deno.test("placeOrder() prices each line and sums the total", () => {
  assert.deepEqual(pending(), {
    orderId: "o-1",
    customerId: "alice",
    items: [{ sku: "TEA", quantity: 2, price: 850 }, { sku: "MUG", quantity: 1, price: 1800 }],
    total: 3500,
    status: "PENDING",
    reason: undefined,
    cancelling: undefined,
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

Deno.test("confirmOrder() moves PENDING to CONFIRMED once", () => {
  const confirmed = confirmOrder(pending(), T1);
  assert.equal(confirmed.status, "CONFIRMED");
  assert.equal(confirmed.updatedAt, T1);
  assert.equal(confirmOrder(confirmed, "later"), confirmed);
});

Deno.test("cancelOrder() moves PENDING to CANCELLED with its reason, once", () => {
  const cancelled = cancelOrder(pending(), "OUT_OF_STOCK", T1);
  assert.equal(cancelled.status, "CANCELLED");
  assert.equal(cancelled.reason, "OUT_OF_STOCK");
  assert.equal(cancelled.updatedAt, T1);
  assert.equal(cancelOrder(cancelled, "OUT_OF_STOCK", "later"), cancelled);
});

Deno.test("beginCancel() records the reason while the order stays PENDING", () => {
  const cancelling = beginCancel(pending(), "INSUFFICIENT_FUNDS", T1);
  assert.equal(cancelling.status, "PENDING");
  assert.equal(cancelling.cancelling, "INSUFFICIENT_FUNDS");
  assert.equal(beginCancel(cancelling, "INSUFFICIENT_FUNDS", "later"), cancelling);
  const cancelled = cancelOrder(cancelling, "INSUFFICIENT_FUNDS", T1);
  assert.equal(cancelled.status, "CANCELLED");
  assert.equal(cancelled.cancelling, undefined);
  assert.equal(beginCancel(cancelled, "INSUFFICIENT_FUNDS", "later"), cancelled);
});

Deno.test("a terminal order refuses a different transition", () => {
  const confirmed = confirmOrder(pending(), T1);
  assertInvalid(() => cancelOrder(confirmed, "OUT_OF_STOCK", T1));
  assertInvalid(() => beginCancel(confirmed, "OUT_OF_STOCK", T1));
  const cancelled = cancelOrder(pending(), "OUT_OF_STOCK", T1);
  assertInvalid(() => confirmOrder(cancelled, T1));
  assertInvalid(() => cancelOrder(cancelled, "INSUFFICIENT_FUNDS", T1));
  assertInvalid(() => beginCancel(cancelled, "INSUFFICIENT_FUNDS", T1));
});

Deno.test("an order being cancelled can neither be confirmed nor cancelled for another reason", () => {
  const cancelling = beginCancel(pending(), "OUT_OF_STOCK", T1);
  assertInvalid(() => confirmOrder(cancelling, T1));
  assertInvalid(() => cancelOrder(cancelling, "INSUFFICIENT_FUNDS", T1));
  assertInvalid(() => beginCancel(cancelling, "INSUFFICIENT_FUNDS", T1));
});
