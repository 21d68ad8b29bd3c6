/**
 * The order aggregate and its transitions. Pure: time is passed in, nothing
 * is read or written.
 *
 * An order is placed `PENDING` and moves once, to `CONFIRMED` or
 * `CANCELLED`. Before it is cancelled it records *why* in `cancelling`, so
 * that the compensation (refund, release) can run and, after a crash, be
 * resumed with the same reason. Repeating the transition an order already
 * made is a no-op; any other move is an error.
 *
 * @module
 */

import { invalidTransition } from "../errors.ts";

/** Where an order is in its life. */
export type OrderStatus = "PENDING" | "CONFIRMED" | "CANCELLED";

/** Why an order was cancelled. */
export type CancelReason = "OUT_OF_STOCK" | "INSUFFICIENT_FUNDS";

/** A requested line: how much of one sku. */
export interface OrderLineRequest {
  /** The sku. */
  readonly sku: string;
  /** How many units. */
  readonly quantity: number;
}

/** A placed line, with the unit price (cents) it was placed at. */
export interface OrderLine extends OrderLineRequest {
  /** Unit price in cents when the order was placed. */
  readonly price: number;
}

/** An order. */
export interface Order {
  /** Its id. */
  readonly orderId: string;
  /** Who placed it. */
  readonly customerId: string;
  /** What it holds, in request order. */
  readonly items: readonly OrderLine[];
  /** Σ price × quantity, in cents. */
  readonly total: number;
  /** Where it is. */
  readonly status: OrderStatus;
  /** Why it was cancelled; set only when `CANCELLED`. */
  readonly reason: CancelReason | undefined;
  /** Why it is being cancelled; set only while `PENDING` and compensating. */
  readonly cancelling: CancelReason | undefined;
  /** When it was placed (ISO 8601). */
  readonly createdAt: string;
  /** When it last changed (ISO 8601). */
  readonly updatedAt: string;
}

/** What {@link placeOrder} needs. */
export interface PlaceOrderInput {
  /** The new order's id. */
  orderId: string;
  /** Who places it. */
  customerId: string;
  /** What they want, each sku once. */
  items: readonly OrderLineRequest[];
  /** Current unit price (cents) of every sku in `items`. */
  prices: ReadonlyMap<string, number>;
  /** The time now (ISO 8601). */
  now: string;
}

/**
 * Places a `PENDING` order, pricing each line at the current price.
 *
 * @throws {RangeError} if a sku has no price, there are no lines, or the total
 * is not a safe integer.
 *
 * @example
 * ```ts
 * const order = placeOrder({
 *   orderId: "o-1",
 *   customerId: "alice",
 *   items: [{ sku: "MUG", quantity: 2 }],
 *   prices: new Map([["MUG", 1800]]),
 *   now: "2025-01-01T00:00:00.000Z",
 * });
 * order.total; // 3600
 * ```
 */
export function placeOrder(input: PlaceOrderInput): Order {
  if (input.items.length === 0) {
    throw new RangeError(`Cannot place order "${input.orderId}" as it has no lines`);
  }
  const items = input.items.map(({ sku, quantity }) => {
    const price = input.prices.get(sku);
    if (price === undefined) {
      throw new RangeError(`Cannot place order "${input.orderId}" as sku "${sku}" has no price`);
    }
    return { sku, quantity, price };
  });
  const total = items.reduce((sum, line) => sum + line.price * line.quantity, 0);
  if (!Number.isSafeInteger(total)) {
    throw new RangeError(`Cannot place order "${input.orderId}" as its total is ${total}`);
  }
  return {
    orderId: input.orderId,
    customerId: input.customerId,
    items,
    total,
    status: "PENDING",
    reason: undefined,
    cancelling: undefined,
    createdAt: input.now,
    updatedAt: input.now,
  };
}

/**
 * Confirms a `PENDING` order. A `CONFIRMED` order is returned unchanged.
 *
 * @throws {FlotillaError} `INVALID_ORDER_TRANSITION` if it is cancelled or being cancelled.
 */
export function confirmOrder(order: Order, now: string): Order {
  if (order.status === "CONFIRMED") return order;
  if (order.status !== "PENDING" || order.cancelling !== undefined) {
    throw invalidTransition(order.orderId, describe(order), "CONFIRMED");
  }
  return { ...order, status: "CONFIRMED", updatedAt: now };
}

/**
 * Records that a `PENDING` order is to be cancelled for `reason`, before its
 * compensation runs. Repeating it, or asking it of an order already
 * cancelled for the same reason, returns the order unchanged.
 *
 * @throws {FlotillaError} `INVALID_ORDER_TRANSITION` if it is confirmed, or
 * cancelled or being cancelled for another reason.
 */
export function beginCancel(order: Order, reason: CancelReason, now: string): Order {
  if ((order.cancelling ?? order.reason) === reason) return order;
  if (order.status !== "PENDING" || order.cancelling !== undefined) {
    throw invalidTransition(order.orderId, describe(order), `CANCELLED (${reason})`);
  }
  return { ...order, cancelling: reason, updatedAt: now };
}

/**
 * Cancels a `PENDING` order for `reason`. An order already cancelled for
 * `reason` is returned unchanged.
 *
 * @throws {FlotillaError} `INVALID_ORDER_TRANSITION` if it is confirmed, or
 * cancelled or being cancelled for another reason.
 */
export function cancelOrder(order: Order, reason: CancelReason, now: string): Order {
  if (order.status === "CANCELLED" && order.reason === reason) return order;
  if (
    order.status !== "PENDING" || (order.cancelling !== undefined && order.cancelling !== reason)
  ) {
    throw invalidTransition(order.orderId, describe(order), `CANCELLED (${reason})`);
  }
  return { ...order, status: "CANCELLED", reason, cancelling: undefined, updatedAt: now };
}

function describe(order: Order): string {
  if (order.status === "CANCELLED") return `CANCELLED (${order.reason})`;
  if (order.cancelling !== undefined) return `PENDING (cancelling: ${order.cancelling})`;
  return order.status;
}
