/**
 * The notification service's contract: the shop's read side, built from the
 * other services' events — order history, notifications and stock figures
 * as customers see them, eventually consistent with the services that own
 * the facts.
 *
 * @module
 */

import { z } from "zod";
import { defineContract } from "@flotilla/core";
import { inventoryEvents, orderEvents, paymentEvents } from "./events.ts";
import { CancelReason, Cents, CustomerId, OrderId, OrderStatus, Sku } from "./schemas.ts";

/** One order in a customer's history, as the read side knows it. */
export const HistoryEntry = z.object({
  orderId: OrderId,
  customerId: CustomerId,
  total: Cents,
  status: OrderStatus,
  reason: CancelReason.optional(),
  updatedAt: z.string(),
});

/** A message for a customer. */
export const NotificationView = z.object({
  id: z.string(),
  orderId: OrderId,
  type: z.string(),
  message: z.string(),
  time: z.string(),
});

/** A stock figure as the read side knows it. */
export const StockFigure = z.object({ sku: Sku, stock: z.number().int().min(0) });

/** The notification service's contract. */
export const notificationContract = defineContract({
  name: "notification",
  version: "0.1.0",
  description: "The read side: order history, notifications and stock figures built from events.",
  actions: {
    history: {
      description: "A customer's orders, newest first, as the events so far tell them.",
      input: z.strictObject({ customerId: CustomerId }),
      output: z.array(HistoryEntry),
      idempotent: true,
    },
    notifications: {
      description: "A customer's notifications, newest first.",
      input: z.strictObject({
        customerId: CustomerId,
        limit: z.number().int().min(1).max(1000).default(100),
      }),
      output: z.array(NotificationView),
      idempotent: true,
    },
    stock: {
      description: "Stock figures of the skus that moved, as the events so far tell them.",
      input: z.strictObject({}),
      output: z.array(StockFigure),
      idempotent: true,
    },
  },
  events: { handles: { ...orderEvents, ...inventoryEvents, ...paymentEvents } },
  needs: { dataDir: true },
});
