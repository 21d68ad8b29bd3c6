/**
 * The shop's domain events: their types and payload schemas. Each service
 * publishes its own on its own stream (`shop.order`, `shop.inventory`,
 * `shop.payment`), through its transactional outbox.
 *
 * @module
 */

import { z } from "zod";
import { CancelReason, Cents, CustomerId, OrderId, OrderLine, Quantity, Sku } from "./schemas.ts";

/** The stream each service publishes on. */
export const STREAMS = {
  order: "shop.order",
  inventory: "shop.inventory",
  payment: "shop.payment",
} as const;

/**
 * The version of a figure an event carries (a sku's stock, a customer's
 * balance): its owner bumps it with every change of the figure, so a reader
 * keeps the figure of the highest version it saw whatever the delivery order.
 * Optional: events written before versions existed lack it.
 */
const FigureVersion = z.number().int().min(0);

/**
 * A line of a stock event: the quantity moved, the stock available afterwards
 * and that figure's `version`.
 */
const StockMove = z.object({
  sku: Sku,
  quantity: Quantity,
  stock: z.number().int().min(0),
  version: FigureVersion.optional(),
});

/** An ISO 8601 time, as the order's events record it. */
const At = z.iso.datetime({ offset: true });

/** `OrderPlaced`: an order was placed (PENDING), its lines priced. */
export const OrderPlaced = z.object({
  orderId: OrderId,
  customerId: CustomerId,
  items: z.array(OrderLine),
  total: Cents,
  at: At,
});

/** `StockReserved`: the inventory holds the order's stock. */
export const StockReserved = z.object({ orderId: OrderId, at: At });

/** `PaymentCharged`: the customer paid the order's total. */
export const PaymentCharged = z.object({
  orderId: OrderId,
  customerId: CustomerId,
  amount: Cents,
  at: At,
});

/** `OrderConfirmed`: stock reserved and payment charged. */
export const OrderConfirmed = z.object({
  orderId: OrderId,
  customerId: CustomerId,
  total: Cents,
  at: At,
});

/** `CancellationStarted`: the order is being cancelled; its compensation runs. */
export const CancellationStarted = z.object({ orderId: OrderId, reason: CancelReason, at: At });

/** `OrderCancelled`: the order will not happen; nothing is left reserved or charged. */
export const OrderCancelled = z.object({
  orderId: OrderId,
  customerId: CustomerId,
  reason: CancelReason,
  at: At,
});

/** `stock.reserved` / `stock.released`: stock moved for an order. */
export const StockMoved = z.object({ orderId: OrderId, items: z.array(StockMove) });

/**
 * `payment.charged` / `payment.refunded` / `payment.held` / `payment.released`: money moved for
 * an order (`balance` is the customer's available balance afterwards, `version` that figure's
 * version).
 */
export const PaymentMoved = z.object({
  orderId: OrderId,
  customerId: CustomerId,
  amount: Cents,
  balance: Cents,
  version: FigureVersion.optional(),
});

/**
 * The order service's events: the events of its event-sourced orders, each
 * published once through the event store's outbox.
 */
export const orderEvents = {
  OrderPlaced: { data: OrderPlaced, description: "An order was placed." },
  StockReserved: { data: StockReserved, description: "An order's stock was reserved." },
  PaymentCharged: { data: PaymentCharged, description: "An order was paid for." },
  OrderConfirmed: { data: OrderConfirmed, description: "An order was confirmed." },
  CancellationStarted: {
    data: CancellationStarted,
    description: "An order is being cancelled; its compensation runs.",
  },
  OrderCancelled: { data: OrderCancelled, description: "An order was cancelled." },
};

/** The inventory service's events. */
export const inventoryEvents = {
  "stock.reserved": { data: StockMoved, description: "Stock was reserved for an order." },
  "stock.released": { data: StockMoved, description: "An order's stock was given back." },
};

/** The payment service's events. */
export const paymentEvents = {
  "payment.charged": { data: PaymentMoved, description: "A customer was charged for an order." },
  "payment.refunded": { data: PaymentMoved, description: "An order's charge was given back." },
  "payment.held": {
    data: PaymentMoved,
    description: "A TCC Try held an amount of a customer's balance for an order " +
      "(payment.charged follows on Confirm, payment.released on Cancel or expiry).",
  },
  "payment.released": {
    data: PaymentMoved,
    description: "An order's held amount was given back (TCC Cancel, or the hold expired).",
  },
};
