/**
 * Typed clients of the gateway's peers over any transport.
 *
 * @module
 */

import { type CallHandler, type Clock, createClient } from "@flotilla/core";
import {
  gatewayContract,
  inventoryContract,
  notificationContract,
  orderContract,
  paymentContract,
} from "../../contracts/mod.ts";
import type { GatewayPeers } from "../app/ports.ts";

/** Options of {@link createPeerClients}. */
export interface PeerClientsOptions {
  /** Timeout of each call when the caller's deadline allows more, in ms. @default {10_000} */
  defaultTimeoutMs?: number;
  /** Clock for deadlines. @default {systemClock} */
  clock?: Clock;
}

/**
 * Builds the gateway's peer clients, one per transport handler, calling as
 * `gateway`.
 *
 * @example
 * ```ts
 * const peers = createPeerClients({
 *   inventory: httpCallHandler({ baseUrl: env.peers.inventory! }),
 *   payment: httpCallHandler({ baseUrl: env.peers.payment! }),
 *   order: httpCallHandler({ baseUrl: env.peers.order! }),
 * });
 * ```
 */
export function createPeerClients(
  handlers: {
    inventory: CallHandler;
    payment: CallHandler;
    order: CallHandler;
    notification: CallHandler;
  },
  options: PeerClientsOptions = {},
): GatewayPeers {
  const clientOptions = { caller: gatewayContract.name, ...options };
  return {
    inventory: createClient(inventoryContract, handlers.inventory, clientOptions),
    payment: createClient(paymentContract, handlers.payment, clientOptions),
    order: createClient(orderContract, handlers.order, clientOptions),
    notification: createClient(notificationContract, handlers.notification, clientOptions),
  };
}
