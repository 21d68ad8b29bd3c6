/**
 * The gateway's contract: the shop's public REST API.
 *
 * This is a public contract that users' tools and outside tests rely on:
 * extend it, never break it.
 *
 * @module
 */

import { z } from "zod";
import { defineContract } from "@flotilla/core";
import {
  Customer,
  CustomerId,
  OrderEventView,
  OrderId,
  OrderLinesRequest,
  OrderView,
  Product,
} from "./schemas.ts";
import { HistoryEntry, NotificationView, StockFigure } from "./notification.ts";

/** The gateway's contract. */
export const gatewayContract = defineContract({
  name: "gateway",
  version: "1.0.0",
  description: "The shop's public REST API.",
  actions: {
    listProducts: {
      description: "The catalogue with available stock.",
      input: z.strictObject({}),
      output: z.array(Product),
      idempotent: true,
      http: { method: "GET", path: "/products" },
    },
    listCustomers: {
      description: "Customers with their balances.",
      input: z.strictObject({}),
      output: z.array(Customer),
      idempotent: true,
      http: { method: "GET", path: "/customers" },
    },
    getCustomer: {
      description: "One customer with their balance.",
      input: z.strictObject({ id: CustomerId }),
      output: Customer,
      idempotent: true,
      http: { method: "GET", path: "/customers/:id" },
    },
    placeOrder: {
      description: "Places an order. Send an Idempotency-Key header to make retries safe.",
      input: z.strictObject({
        customerId: CustomerId,
        items: OrderLinesRequest,
      }),
      output: OrderView,
      http: { method: "POST", path: "/orders", status: 201 },
    },
    getOrder: {
      description: "One order.",
      input: z.strictObject({ id: OrderId }),
      output: OrderView,
      idempotent: true,
      http: { method: "GET", path: "/orders/:id" },
    },
    getOrderEvents: {
      description: "An order's history: its events, oldest first (OrderPlaced, StockReserved, " +
        "PaymentCharged, OrderConfirmed or CancellationStarted and OrderCancelled).",
      input: z.strictObject({ id: OrderId }),
      output: z.array(OrderEventView),
      idempotent: true,
      http: { method: "GET", path: "/orders/:id/events" },
    },
    listOrders: {
      description: "Orders, newest first, optionally of one customer.",
      input: z.strictObject({
        customerId: CustomerId.optional(),
        limit: z.coerce.number().int().min(1).max(1000).optional(),
      }),
      output: z.array(OrderView),
      idempotent: true,
      http: { method: "GET", path: "/orders" },
    },
    customerHistory: {
      description: "A customer's orders as the read side knows them: eventually consistent with " +
        "GET /orders?customerId=, converging once every event is consumed.",
      input: z.strictObject({ id: CustomerId }),
      output: z.array(HistoryEntry),
      idempotent: true,
      http: { method: "GET", path: "/customers/:id/history" },
    },
    customerNotifications: {
      description: "A customer's notifications (order confirmed or cancelled, charges, refunds).",
      input: z.strictObject({
        id: CustomerId,
        limit: z.coerce.number().int().min(1).max(1000).optional(),
      }),
      output: z.array(NotificationView),
      idempotent: true,
      http: { method: "GET", path: "/customers/:id/notifications" },
    },
    stockFigures: {
      description: "Stock figures as the read side knows them: eventually consistent with " +
        "GET /products.",
      input: z.strictObject({}),
      output: z.array(StockFigure),
      idempotent: true,
      http: { method: "GET", path: "/stock" },
    },
  },
  needs: {
    port: { env: "PORT", default: 8080, public: true },
    peers: ["order", "inventory", "payment", "notification"],
  },
});
