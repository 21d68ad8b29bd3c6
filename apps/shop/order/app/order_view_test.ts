import assert from "node:assert/strict";
import { OrderView } from "../../contracts/mod.ts";
import { beginCancel, cancelOrder, foldOrder, type Order, placeOrder } from "../domain/order.ts";
import { toOrderView } from "./order_view.ts";

const order: Order = foldOrder([placeOrder({
  orderId: "o-1",
  customerId: "alice",
  items: [{ sku: "TEA", quantity: 2 }],
  prices: new Map([["TEA", 850]]),
  now: "2025-01-01T00:00:00.000Z",
})])!;

Deno.test("toOrderView() shows a pending order without a reason nor the saga's marks", () => {
  const view = toOrderView(order);
  assert.deepEqual(OrderView.parse(view), view);
  assert.equal("reason" in view, false);
  assert.equal("cancelling" in view, false);
  assert.equal("stockReserved" in view, false);
  assert.deepEqual(view.items, [{ sku: "TEA", quantity: 2, price: 850 }]);
});

Deno.test("toOrderView() hides the cancelling mark and shows the reason once cancelled", () => {
  const now = "2025-01-01T00:00:01.000Z";
  const cancelling = foldOrder(beginCancel(order, "OUT_OF_STOCK", now), order)!;
  assert.equal("reason" in toOrderView(cancelling), false);
  assert.equal(toOrderView(cancelling).status, "PENDING");
  const view = toOrderView(foldOrder(cancelOrder(cancelling, "OUT_OF_STOCK", now), cancelling)!);
  assert.equal(view.status, "CANCELLED");
  assert.equal(view.reason, "OUT_OF_STOCK");
});
