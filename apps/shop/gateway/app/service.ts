/**
 * The gateway: the shop's public REST API.
 *
 * It is stateless on purpose — no domain, no database: each action maps to
 * one call of a peer, passing the caller's context on (so the deadline and
 * the trace propagate) and, for `placeOrder`, the caller's Idempotency-Key.
 * Peers' errors propagate unchanged (code, kind, issues).
 *
 * @module
 */

import { defineService, type Service } from "@flotilla/core";
import { gatewayContract } from "../../contracts/mod.ts";
import type { GatewayPeers } from "./ports.ts";

/**
 * Creates the gateway over clients of its peers.
 *
 * @example
 * ```ts
 * const gateway = createGatewayService({ inventory, payment, order });
 * await serveService(gateway);
 * ```
 */
export function createGatewayService(peers: GatewayPeers): Service<typeof gatewayContract> {
  const { inventory, payment, order, notification } = peers;
  return defineService(gatewayContract, {
    listProducts: (_input, ctx) => inventory.call("listProducts", {}, { ctx }),

    listCustomers: (_input, ctx) => payment.call("listCustomers", {}, { ctx }),

    getCustomer: ({ id }, ctx) => payment.call("getCustomer", { customerId: id }, { ctx }),

    placeOrder: (input, ctx) =>
      order.call(
        "placeOrder",
        input,
        ctx.idempotencyKey === undefined ? { ctx } : { ctx, idempotencyKey: ctx.idempotencyKey },
      ),

    getOrder: ({ id }, ctx) => order.call("getOrder", { orderId: id }, { ctx }),

    getOrderEvents: ({ id }, ctx) => order.call("getOrderEvents", { orderId: id }, { ctx }),

    listOrders: ({ customerId, limit }, ctx) =>
      order.call("listOrders", {
        ...(customerId === undefined ? {} : { customerId }),
        ...(limit === undefined ? {} : { limit }),
      }, { ctx }),

    customerHistory: ({ id }, ctx) => notification.call("history", { customerId: id }, { ctx }),

    customerNotifications: ({ id, limit }, ctx) =>
      notification.call("notifications", {
        customerId: id,
        ...(limit === undefined ? {} : { limit }),
      }, { ctx }),

    stockFigures: (_input, ctx) => notification.call("stock", {}, { ctx }),
  });
}
