/**
 * The order service's contract: places orders (reserving stock and charging
 * the customer) and serves them back.
 *
 * @module
 */

import { z } from "zod";
import { defineContract, streamOf } from "@flotilla/core";
import { orderEvents } from "./events.ts";
import {
  CheckoutStatus,
  CheckoutView,
  CustomerId,
  OrderEventView,
  OrderId,
  OrderLinesRequest,
  OrderView,
} from "./schemas.ts";

/** The order service's contract. */
export const orderContract = defineContract({
  name: "order",
  version: "0.1.0",
  description: "Places orders: reserves stock, charges the customer, confirms or cancels.",
  actions: {
    placeOrder: {
      description: "Places an order and drives it to CONFIRMED or CANCELLED. With an " +
        "Idempotency-Key, the same key returns the same order and creates nothing new.",
      input: z.strictObject({
        customerId: CustomerId,
        items: OrderLinesRequest,
      }),
      output: OrderView,
    },
    getOrder: {
      description: "One order, from the orders projection; ORDER_NOT_FOUND if there is none.",
      input: z.strictObject({ orderId: OrderId }),
      output: OrderView,
      idempotent: true,
    },
    listOrders: {
      description: "Orders, newest first, optionally of one customer, from the orders projection.",
      input: z.strictObject({
        customerId: CustomerId.optional(),
        limit: z.number().int().min(1).max(1000).default(100),
      }),
      output: z.array(OrderView),
      idempotent: true,
    },
    getOrderEvents: {
      description: "An order's events, oldest first, from its stream in the event store; " +
        "ORDER_NOT_FOUND if there is none.",
      input: z.strictObject({ orderId: OrderId }),
      output: z.array(OrderEventView),
      idempotent: true,
    },
    listCheckouts: {
      description: "Operators: the checkout sagas, oldest first, optionally in one state " +
        "(NEEDS_ATTENTION: a compensation kept failing and waits for an operator).",
      input: z.strictObject({
        status: CheckoutStatus.optional(),
        limit: z.number().int().min(1).max(1000).default(100),
      }),
      output: z.array(CheckoutView),
      idempotent: true,
    },
    resumeCheckout: {
      description: "Operators: drives a parked (NEEDS_ATTENTION) or interrupted checkout on, " +
        "once its cause is fixed, and returns it; CHECKOUT_NOT_FOUND if there is none.",
      input: z.strictObject({ orderId: OrderId }),
      output: CheckoutView,
      idempotent: true,
    },
    watchOrder: {
      description: "A live feed of one order: the order now, then again after each change, " +
        "ending once it is CONFIRMED or CANCELLED; ORDER_NOT_FOUND if there is none. " +
        "Streams, so it is served over gRPC (`OrderService/WatchOrder`).",
      input: z.strictObject({ orderId: OrderId }),
      output: streamOf(OrderView),
      idempotent: true,
    },
  },
  events: { emits: orderEvents },
  needs: {
    dataDir: true,
    peers: ["inventory", "payment"],
    eventStore: true,
    // FLOTILLA_CHECKOUT=saga|tcc: the checkout protocol; FLOTILLA_CHECKOUT_COMPENSATION_ATTEMPTS:
    // how many times a compensation is tried before the checkout waits for an operator.
    env: ["FLOTILLA_CHECKOUT", "FLOTILLA_CHECKOUT_COMPENSATION_ATTEMPTS"],
  },
});
