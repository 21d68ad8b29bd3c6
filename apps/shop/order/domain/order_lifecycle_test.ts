import assert from "node:assert/strict";
import fc from "fast-check";
import {
  beginCancel,
  cancelOrder,
  confirmOrder,
  foldOrder,
  type Order,
  type OrderEvent,
  placeOrder,
  recordPaymentCharged,
  recordStockReserved,
} from "./order.ts";

const reason = fc.constantFrom("OUT_OF_STOCK" as const, "INSUFFICIENT_FUNDS" as const);
const command = fc.oneof(
  fc.record({ type: fc.constant("reserve" as const) }),
  fc.record({ type: fc.constant("charge" as const) }),
  fc.record({ type: fc.constant("confirm" as const) }),
  fc.record({ type: fc.constant("beginCancel" as const), reason }),
  fc.record({ type: fc.constant("cancel" as const), reason }),
);

Deno.test("an order only moves PENDING -> CONFIRMED | CANCELLED, never leaves a terminal state, and its fold is its history", () => {
  fc.assert(fc.property(fc.array(command, { maxLength: 20 }), (commands) => {
    const history: OrderEvent[] = [placeOrder({
      orderId: "o-1",
      customerId: "alice",
      items: [{ sku: "TEA", quantity: 1 }],
      prices: new Map([["TEA", 850]]),
      now: "2025-01-01T00:00:00.000Z",
    })];
    let order: Order = foldOrder(history)!;
    const statuses = [order.status];
    commands.forEach((c, i) => {
      const now = `2025-01-01T00:00:${String(i + 1).padStart(2, "0")}.000Z`;
      const before = order;
      let events: OrderEvent[] = [];
      try {
        events = c.type === "reserve"
          ? recordStockReserved(order, now)
          : c.type === "charge"
          ? recordPaymentCharged(order, now)
          : c.type === "confirm"
          ? confirmOrder(order, now)
          : c.type === "beginCancel"
          ? beginCancel(order, c.reason, now)
          : cancelOrder(order, c.reason, now);
      } catch {
        events = [];
      }
      history.push(...events);
      order = foldOrder(events, order)!;
      if (before.status !== "PENDING") assert.deepEqual(events, [], "a terminal order changed");
      if (order.status === "CONFIRMED") assert.ok(before.status !== "PENDING" || before.charged);
      if (order.status === "CANCELLED") assert.notEqual(order.reason, undefined);
      else assert.equal(order.reason, undefined);
      if (order.status !== "PENDING") assert.equal(order.cancelling, undefined);
      if (before.cancelling !== undefined && order.status === "CANCELLED") {
        assert.equal(order.reason, before.cancelling, "cancelled for another reason than recorded");
      }
      if (before.cancelling !== undefined) assert.notEqual(order.status, "CONFIRMED");
      statuses.push(order.status);
    });
    assert.deepEqual(foldOrder(history), order, "the fold from zero differs");
    const changes = statuses.filter((s, i) => i === 0 || s !== statuses[i - 1]);
    assert.ok(changes.length <= 2, `moved ${changes.join(" -> ")}`);
    assert.equal(changes[0], "PENDING");
  }));
});
