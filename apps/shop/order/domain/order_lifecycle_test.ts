import assert from "node:assert/strict";
import fc from "fast-check";
import { beginCancel, cancelOrder, confirmOrder, type Order, placeOrder } from "./order.ts";

const reason = fc.constantFrom("OUT_OF_STOCK" as const, "INSUFFICIENT_FUNDS" as const);
const transition = fc.oneof(
  fc.record({ type: fc.constant("confirm" as const) }),
  fc.record({ type: fc.constant("beginCancel" as const), reason }),
  fc.record({ type: fc.constant("cancel" as const), reason }),
);

Deno.test("an order only moves PENDING -> CONFIRMED | CANCELLED, and never leaves a terminal state", () => {
  fc.assert(fc.property(fc.array(transition, { maxLength: 20 }), (transitions) => {
    let order: Order = placeOrder({
      orderId: "o-1",
      customerId: "alice",
      items: [{ sku: "TEA", quantity: 1 }],
      prices: new Map([["TEA", 850]]),
      now: "t0",
    });
    const statuses = [order.status];
    transitions.forEach((t, i) => {
      const now = `t${i + 1}`;
      const before = order;
      try {
        order = t.type === "confirm"
          ? confirmOrder(order, now)
          : t.type === "beginCancel"
          ? beginCancel(order, t.reason, now)
          : cancelOrder(order, t.reason, now);
      } catch {
        order = before;
      }
      if (before.status !== "PENDING") assert.equal(order, before, "a terminal order changed");
      if (order.status === "CANCELLED") assert.notEqual(order.reason, undefined);
      else assert.equal(order.reason, undefined);
      if (order.status !== "PENDING") assert.equal(order.cancelling, undefined);
      if (before.cancelling !== undefined && order.status === "CANCELLED") {
        assert.equal(order.reason, before.cancelling, "cancelled for another reason than recorded");
      }
      if (before.cancelling !== undefined) assert.notEqual(order.status, "CONFIRMED");
      statuses.push(order.status);
    });
    const changes = statuses.filter((s, i) => i === 0 || s !== statuses[i - 1]);
    assert.ok(changes.length <= 2, `moved ${changes.join(" -> ")}`);
    assert.equal(changes[0], "PENDING");
  }));
});
