import assert from "node:assert/strict";
import { OrderView } from "../../contracts/mod.ts";
import { beginCancel, cancelOrder, placeOrder } from "../domain/order.ts";
import { toOrderView } from "./order_view.ts";

const order = placeOrder({
  orderId: "o-1",
  customerId: "alice",
  items: [{ sku: "TEA", quantity: 2 }],
  prices: new Map([["TEA", 850]]),
  now: "2025-01-01T00:00:00.000Z",
});

Deno.test("toOrderView() shows a pending order without a reason", () => {
  const view = toOrderView(order);
  assert.deepEqual(OrderView.parse(view), view);
  assert.equal("reason" in view, false);
  assert.equal("cancelling" in view, false);
  assert.deepEqual(view.items, [{ sku: "TEA", quantity: 2, price: 850 }]);
});

Deno.test("toOrderView() hides the cancelling mark and shows the reason once cancelled", () => {
  const cancelling = beginCancel(order, "OUT_OF_STOCK", "t1");
  assert.equal("reason" in toOrderView(cancelling), false);
  assert.equal(toOrderView(cancelling).status, "PENDING");
  const view = toOrderView(cancelOrder(cancelling, "OUT_OF_STOCK", "t2"));
  assert.equal(view.status, "CANCELLED");
  assert.equal(view.reason, "OUT_OF_STOCK");
});
