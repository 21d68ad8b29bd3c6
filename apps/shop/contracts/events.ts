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

/** A line of a stock event: the quantity moved and the stock available afterwards. */
const StockMove = z.object({ sku: Sku, quantity: Quantity, stock: z.number().int().min(0) });

/** `order.created`: an order was placed (PENDING). */
export const OrderCreated = z.object({
  orderId: OrderId,
  customerId: CustomerId,
  items: z.array(OrderLine),
  total: Cents,
});

/** `order.confirmed`: stock reserved and payment charged. */
export const OrderConfirmed = z.object({ orderId: OrderId, customerId: CustomerId, total: Cents });

/** `order.cancelled`: the order will not happen; nothing is left reserved or charged. */
export const OrderCancelled = z.object({
  orderId: OrderId,
  customerId: CustomerId,
  reason: CancelReason,
});

/** `stock.reserved` / `stock.released`: stock moved for an order. */
export const StockMoved = z.object({ orderId: OrderId, items: z.array(StockMove) });

/** `payment.charged` / `payment.refunded`: money moved for an order. */
export const PaymentMoved = z.object({
  orderId: OrderId,
  customerId: CustomerId,
  amount: Cents,
  balance: Cents,
});

/** The order service's events. */
export const orderEvents = {
  "order.created": { data: OrderCreated, description: "An order was placed." },
  "order.confirmed": { data: OrderConfirmed, description: "An order was confirmed." },
  "order.cancelled": { data: OrderCancelled, description: "An order was cancelled." },
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
};
