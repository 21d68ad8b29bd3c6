/**
 * The order as callers see it.
 *
 * @module
 */

import type { OrderView } from "../../contracts/mod.ts";
import type { Order } from "../domain/order.ts";

/**
 * The contract's view of an order: `reason` only when cancelled; the
 * internal `cancelling` mark is not shown (the order is still `PENDING`).
 */
export function toOrderView(order: Order): OrderView {
  return {
    orderId: order.orderId,
    customerId: order.customerId,
    items: order.items.map(({ sku, quantity, price }) => ({ sku, quantity, price })),
    total: order.total,
    status: order.status,
    ...(order.status === "CANCELLED" && order.reason !== undefined ? { reason: order.reason } : {}),
    createdAt: order.createdAt,
    updatedAt: order.updatedAt,
  };
}
