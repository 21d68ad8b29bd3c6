/**
 * The events that announce an order's changes, derived from the order
 * before and after a write. Pure.
 *
 * @module
 */

import type { CancelReason, Order, OrderLine } from "./order.ts";

/** What `order.created` says: an order was placed (`PENDING`). */
export interface OrderCreated {
  /** The order. */
  readonly orderId: string;
  /** Who placed it. */
  readonly customerId: string;
  /** What it holds, priced. */
  readonly items: readonly OrderLine[];
  /** Its total, in cents. */
  readonly total: number;
}

/** What `order.confirmed` says: stock reserved and payment charged. */
export interface OrderConfirmed {
  /** The order. */
  readonly orderId: string;
  /** Who placed it. */
  readonly customerId: string;
  /** Its total, in cents. */
  readonly total: number;
}

/** What `order.cancelled` says: the order will not happen, and why. */
export interface OrderCancelled {
  /** The order. */
  readonly orderId: string;
  /** Who placed it. */
  readonly customerId: string;
  /** Why it was cancelled. */
  readonly reason: CancelReason;
}

/** An order event, discriminated on `type`. */
export type OrderEvent =
  | { readonly type: "order.created"; readonly data: OrderCreated }
  | { readonly type: "order.confirmed"; readonly data: OrderConfirmed }
  | { readonly type: "order.cancelled"; readonly data: OrderCancelled };

/**
 * The events a write of `after` over `before` (`undefined` for an insert)
 * announces: `order.created` for a new order, then `order.confirmed` or
 * `order.cancelled` when its status changed to that. A write that changes
 * no status (a repeat, or recording `cancelling`) announces nothing.
 *
 * @example
 * ```ts
 * orderEvents(pending, confirmOrder(pending, now));
 * // [{ type: "order.confirmed", data: { orderId, customerId, total } }]
 * ```
 */
export function orderEvents(before: Order | undefined, after: Order): OrderEvent[] {
  const { orderId, customerId, total } = after;
  const events: OrderEvent[] = [];
  if (before === undefined) {
    events.push({
      type: "order.created",
      data: { orderId, customerId, items: after.items.map((line) => ({ ...line })), total },
    });
  }
  if (after.status === (before?.status ?? "PENDING")) return events;
  switch (after.status) {
    case "CONFIRMED":
      events.push({ type: "order.confirmed", data: { orderId, customerId, total } });
      break;
    case "CANCELLED": {
      if (after.reason === undefined) {
        throw new TypeError(`Cannot announce the cancel of "${orderId}" as it has no reason`);
      }
      events.push({ type: "order.cancelled", data: { orderId, customerId, reason: after.reason } });
      break;
    }
    case "PENDING":
      break;
  }
  return events;
}
