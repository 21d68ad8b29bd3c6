/**
 * Value schemas shared by the shop's contracts.
 *
 * @module
 */

import { z } from "zod";

/** Largest quantity of one sku in one order line. */
export const MAX_LINE_QUANTITY = 1_000;
/** Most lines in one order. */
export const MAX_ORDER_LINES = 50;

/** A stock-keeping unit, e.g. `TEA-GREEN`. */
export const Sku = z.string().min(1).max(64);
/** An amount of money in integer cents. */
export const Cents = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** A customer id, e.g. `alice`. */
export const CustomerId = z.string().min(1).max(64);
/** An order id (a UUID). */
export const OrderId = z.string().min(1).max(64);
/** A quantity in one order line. */
export const Quantity = z.number().int().min(1).max(MAX_LINE_QUANTITY);

/** One requested line of an order. */
export const OrderLineRequest = z.strictObject({
  sku: Sku,
  quantity: Quantity,
});

/** The lines of an order request: at least one, each sku once. */
export const OrderLinesRequest = z.array(OrderLineRequest).min(1).max(
  MAX_ORDER_LINES,
).superRefine(
  (lines, ctx) => {
    const seen = new Set<string>();
    lines.forEach((line, index) => {
      if (seen.has(line.sku)) {
        ctx.addIssue({
          code: "custom",
          path: [index, "sku"],
          message: `sku "${line.sku}" appears twice`,
        });
      }
      seen.add(line.sku);
    });
  },
);

/** A product of the catalogue with its available stock. */
export const Product = z.object({
  sku: Sku,
  name: z.string(),
  price: Cents,
  stock: z.number().int().min(0),
});
/** A product. */
export type Product = z.infer<typeof Product>;

/** A customer with the balance of their wallet. */
export const Customer = z.object({
  id: CustomerId,
  name: z.string(),
  balance: Cents,
});
/** A customer. */
export type Customer = z.infer<typeof Customer>;

/** Where an order is in its life. */
export const OrderStatus = z.enum(["PENDING", "CONFIRMED", "CANCELLED"]);
/** Where an order is in its life. */
export type OrderStatus = z.infer<typeof OrderStatus>;

/** Why an order was cancelled. */
export const CancelReason = z.enum(["OUT_OF_STOCK", "INSUFFICIENT_FUNDS", "TIMED_OUT"]);
/** Why an order was cancelled. */
export type CancelReason = z.infer<typeof CancelReason>;

/** One line of a placed order, with the unit price it was placed at. */
export const OrderLine = z.object({
  sku: Sku,
  quantity: Quantity,
  price: Cents,
});
/** One line of a placed order. */
export type OrderLine = z.infer<typeof OrderLine>;

/** An order as callers see it. */
export const OrderView = z.object({
  orderId: OrderId,
  customerId: CustomerId,
  items: z.array(OrderLine),
  total: Cents,
  status: OrderStatus,
  reason: CancelReason.optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
/** An order as callers see it. */
export type OrderView = z.infer<typeof OrderView>;

/** One event of an order's history (`GET /orders/{id}/events`), oldest first. */
export const OrderEventView = z.object({
  /** Its version in the order's stream, from 0. */
  version: z.number().int().min(0),
  /** Its id. */
  id: z.string(),
  /** Its type: `OrderPlaced`, `StockReserved`, `PaymentCharged`, `OrderConfirmed`, `CancellationStarted`, `OrderCancelled`. */
  type: z.string(),
  /** Its payload. */
  data: z.record(z.string(), z.unknown()),
  /** When it was stored, RFC 3339. */
  time: z.string(),
});
/** One event of an order's history. */
export type OrderEventView = z.infer<typeof OrderEventView>;

/** Where a checkout saga stands. */
export const CheckoutStatus = z.enum([
  "RUNNING",
  "COMPENSATING",
  "COMPLETED",
  "COMPENSATED",
  "NEEDS_ATTENTION",
]);
/** Where a checkout saga stands. */
export type CheckoutStatus = z.infer<typeof CheckoutStatus>;

/** A checkout saga as operators see it. */
export const CheckoutView = z.object({
  /** The order it checks out. */
  orderId: OrderId,
  /** `checkout` (saga) or `checkout-tcc`. */
  protocol: z.string(),
  status: CheckoutStatus,
  /** Each step: its action and compensation states and attempts. */
  steps: z.array(z.object({
    name: z.string(),
    action: z.string(),
    compensation: z.string(),
    actionAttempts: z.number().int(),
    compensationAttempts: z.number().int(),
  })),
  /** Why it is compensating, compensated or parked. */
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
/** A checkout saga as operators see it. */
export type CheckoutView = z.infer<typeof CheckoutView>;
