/**
 * The order aggregate, event sourced. Pure: the deciders take the order as
 * it is and return the events a command causes (none when it changes
 * nothing); `evolveOrder` folds an event into the order. Time is passed in.
 *
 * An order is placed `PENDING`; its stock is reserved and its payment
 * charged; then it moves once, to `CONFIRMED` or `CANCELLED`. Before it is
 * cancelled it records *why* (`CancellationStarted`), so that the
 * compensation (refund, release) can run and, after a crash, be resumed
 * with the same reason. Repeating a step the order already made decides no
 * event; any other move is an error.
 *
 * @module
 */

import { invalidTransition } from "../errors.ts";

/** Where an order is in its life. */
export type OrderStatus = "PENDING" | "CONFIRMED" | "CANCELLED";

/** Why an order was cancelled. */
export type CancelReason = "OUT_OF_STOCK" | "INSUFFICIENT_FUNDS" | "TIMED_OUT";

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

/** `OrderPlaced`: a `PENDING` order with its priced lines. */
export interface OrderPlaced {
  /** The order. */
  readonly orderId: string;
  /** Who placed it. */
  readonly customerId: string;
  /** What it holds, priced, in request order. */
  readonly items: readonly OrderLine[];
  /** Σ price × quantity, in cents. */
  readonly total: number;
  /** When (ISO 8601). */
  readonly at: string;
}

/** `StockReserved`: the inventory holds the order's stock. */
export interface StockReserved {
  /** The order. */
  readonly orderId: string;
  /** When (ISO 8601). */
  readonly at: string;
}

/** `PaymentCharged`: the customer paid the order's total. */
export interface PaymentCharged {
  /** The order. */
  readonly orderId: string;
  /** Who paid. */
  readonly customerId: string;
  /** How much, in cents. */
  readonly amount: number;
  /** When (ISO 8601). */
  readonly at: string;
}

/** `OrderConfirmed`: stock reserved and payment charged; the order will happen. */
export interface OrderConfirmed {
  /** The order. */
  readonly orderId: string;
  /** Who placed it. */
  readonly customerId: string;
  /** Its total, in cents. */
  readonly total: number;
  /** When (ISO 8601). */
  readonly at: string;
}

/** `CancellationStarted`: the order will be cancelled for `reason`, once compensated. */
export interface CancellationStarted {
  /** The order. */
  readonly orderId: string;
  /** Why. */
  readonly reason: CancelReason;
  /** When (ISO 8601). */
  readonly at: string;
}

/** `OrderCancelled`: the order will not happen; nothing is left reserved or charged. */
export interface OrderCancelled {
  /** The order. */
  readonly orderId: string;
  /** Who placed it. */
  readonly customerId: string;
  /** Why. */
  readonly reason: CancelReason;
  /** When (ISO 8601). */
  readonly at: string;
}

/** An order's event, discriminated on `type`. */
export type OrderEvent =
  | { readonly type: "OrderPlaced"; readonly data: OrderPlaced }
  | { readonly type: "StockReserved"; readonly data: StockReserved }
  | { readonly type: "PaymentCharged"; readonly data: PaymentCharged }
  | { readonly type: "OrderConfirmed"; readonly data: OrderConfirmed }
  | { readonly type: "CancellationStarted"; readonly data: CancellationStarted }
  | { readonly type: "OrderCancelled"; readonly data: OrderCancelled };

/** The types of {@link OrderEvent}. */
export const ORDER_EVENT_TYPES: readonly OrderEvent["type"][] = [
  "OrderPlaced",
  "StockReserved",
  "PaymentCharged",
  "OrderConfirmed",
  "CancellationStarted",
  "OrderCancelled",
];

/** An order: the fold of its events. */
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
  /** Whether the inventory holds its stock (until it is cancelled). */
  readonly stockReserved: boolean;
  /** Whether the customer paid for it (until it is cancelled). */
  readonly charged: boolean;
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
 * Decides the `OrderPlaced` of a new order, pricing each line at the
 * current price.
 *
 * @throws {RangeError} if a sku has no price, there are no lines, or the total
 * is not a safe integer.
 *
 * @example
 * ```ts
 * const placed = placeOrder({
 *   orderId: "o-1",
 *   customerId: "alice",
 *   items: [{ sku: "MUG", quantity: 2 }],
 *   prices: new Map([["MUG", 1800]]),
 *   now: "2025-01-01T00:00:00.000Z",
 * });
 * placed.data.total; // 3600
 * ```
 */
export function placeOrder(input: PlaceOrderInput): OrderEvent & { type: "OrderPlaced" } {
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
    type: "OrderPlaced",
    data: { orderId: input.orderId, customerId: input.customerId, items, total, at: input.now },
  };
}

/**
 * The order after `event`; `undefined` before its `OrderPlaced`.
 *
 * @throws {TypeError} for an event before `OrderPlaced`, or a second `OrderPlaced`
 * (a corrupt stream).
 */
export function evolveOrder(order: Order | undefined, event: OrderEvent): Order | undefined {
  if (event.type === "OrderPlaced") {
    if (order !== undefined) {
      throw new TypeError(`Order "${order.orderId}" was placed twice`);
    }
    const { orderId, customerId, items, total, at } = event.data;
    return {
      orderId,
      customerId,
      items,
      total,
      status: "PENDING",
      reason: undefined,
      cancelling: undefined,
      stockReserved: false,
      charged: false,
      createdAt: at,
      updatedAt: at,
    };
  }
  if (order === undefined) {
    throw new TypeError(`Order "${event.data.orderId}" has a ${event.type} before it was placed`);
  }
  const updatedAt = event.data.at;
  switch (event.type) {
    case "StockReserved":
      return { ...order, stockReserved: true, updatedAt };
    case "PaymentCharged":
      return { ...order, charged: true, updatedAt };
    case "OrderConfirmed":
      return { ...order, status: "CONFIRMED", updatedAt };
    case "CancellationStarted":
      return { ...order, cancelling: event.data.reason, updatedAt };
    case "OrderCancelled":
      return {
        ...order,
        status: "CANCELLED",
        reason: event.data.reason,
        cancelling: undefined,
        stockReserved: false,
        charged: false,
        updatedAt,
      };
  }
}

/** Folds `events` into the order they describe (`undefined` for none). */
export function foldOrder(events: Iterable<OrderEvent>, order?: Order): Order | undefined {
  let current = order;
  for (const event of events) current = evolveOrder(current, event);
  return current;
}

/**
 * Records that the inventory reserved the order's stock. Nothing when it
 * is already recorded.
 *
 * @throws {FlotillaError} `INVALID_ORDER_TRANSITION` if the order is no
 * longer `PENDING` or is being cancelled.
 */
export function recordStockReserved(order: Order, now: string): OrderEvent[] {
  if (order.stockReserved) return [];
  if (order.status !== "PENDING" || order.cancelling !== undefined) {
    throw invalidTransition(order.orderId, describe(order), "STOCK_RESERVED");
  }
  return [{ type: "StockReserved", data: { orderId: order.orderId, at: now } }];
}

/**
 * Records that the customer was charged the order's total. Nothing when it
 * is already recorded.
 *
 * @throws {FlotillaError} `INVALID_ORDER_TRANSITION` if the order is no
 * longer `PENDING`, is being cancelled, or has no stock reserved.
 */
export function recordPaymentCharged(order: Order, now: string): OrderEvent[] {
  if (order.charged) return [];
  if (order.status !== "PENDING" || order.cancelling !== undefined || !order.stockReserved) {
    throw invalidTransition(order.orderId, describe(order), "PAYMENT_CHARGED");
  }
  const { orderId, customerId, total } = order;
  return [{ type: "PaymentCharged", data: { orderId, customerId, amount: total, at: now } }];
}

/**
 * Confirms a `PENDING` order whose stock is reserved and payment charged.
 * Nothing for an order already `CONFIRMED`.
 *
 * @throws {FlotillaError} `INVALID_ORDER_TRANSITION` if it is cancelled, being
 * cancelled, or not yet reserved and charged.
 */
export function confirmOrder(order: Order, now: string): OrderEvent[] {
  if (order.status === "CONFIRMED") return [];
  if (
    order.status !== "PENDING" || order.cancelling !== undefined || !order.stockReserved ||
    !order.charged
  ) {
    throw invalidTransition(order.orderId, describe(order), "CONFIRMED");
  }
  const { orderId, customerId, total } = order;
  return [{ type: "OrderConfirmed", data: { orderId, customerId, total, at: now } }];
}

/**
 * Records that a `PENDING` order is to be cancelled for `reason`, before its
 * compensation runs. Nothing when that is already recorded, or the order is
 * already cancelled for `reason`.
 *
 * @throws {FlotillaError} `INVALID_ORDER_TRANSITION` if it is confirmed, or
 * cancelled or being cancelled for another reason.
 */
export function beginCancel(order: Order, reason: CancelReason, now: string): OrderEvent[] {
  if ((order.cancelling ?? order.reason) === reason) return [];
  if (order.status !== "PENDING" || order.cancelling !== undefined) {
    throw invalidTransition(order.orderId, describe(order), `CANCELLED (${reason})`);
  }
  return [{ type: "CancellationStarted", data: { orderId: order.orderId, reason, at: now } }];
}

/**
 * Cancels a `PENDING` order for `reason` once its compensation has run.
 * Nothing for an order already cancelled for `reason`.
 *
 * @throws {FlotillaError} `INVALID_ORDER_TRANSITION` if it is confirmed,
 * cancelled or being cancelled for another reason, or its cancellation was
 * never started.
 */
export function cancelOrder(order: Order, reason: CancelReason, now: string): OrderEvent[] {
  if (order.status === "CANCELLED" && order.reason === reason) return [];
  if (order.status !== "PENDING" || order.cancelling !== reason) {
    throw invalidTransition(order.orderId, describe(order), `CANCELLED (${reason})`);
  }
  const { orderId, customerId } = order;
  return [{ type: "OrderCancelled", data: { orderId, customerId, reason, at: now } }];
}

function describe(order: Order): string {
  if (order.status === "CANCELLED") return `CANCELLED (${order.reason})`;
  if (order.cancelling !== undefined) return `PENDING (cancelling: ${order.cancelling})`;
  return order.status;
}
