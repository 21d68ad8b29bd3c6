/**
 * The inventory and payment services as TCC participants of checkout: each
 * phase is a call of their `tryReserve` / `confirmReserve` / `cancelReserve`
 * and `tryCharge` / `confirmCharge` / `cancelCharge` actions, with the
 * transaction id (the order id) and the phase's idempotency key.
 *
 * @module
 */

import { createContext, type ServiceClient } from "@flotilla/core";
import type { TccCall } from "@flotilla/tx";
import type { inventoryContract, paymentContract } from "../../contracts/mod.ts";
import type { CheckoutParticipants } from "../app/order_saga.ts";

/** The participants, over the peers' typed clients (so through the call pipeline). */
export function peerParticipants(
  inventory: ServiceClient<typeof inventoryContract>,
  payment: ServiceClient<typeof paymentContract>,
): CheckoutParticipants {
  return {
    inventory: {
      name: "inventory",
      try: async ({ items }, call) => {
        await inventory.call("tryReserve", { txId: call.txId, items }, options(call));
      },
      confirm: async (call) => {
        await inventory.call("confirmReserve", { txId: call.txId }, options(call));
      },
      cancel: async (call) => {
        await inventory.call("cancelReserve", { txId: call.txId }, options(call));
      },
    },
    payment: {
      name: "payment",
      try: async ({ customerId, amount }, call) => {
        await payment.call("tryCharge", { txId: call.txId, customerId, amount }, options(call));
      },
      confirm: async (call) => {
        await payment.call("confirmCharge", { txId: call.txId }, options(call));
      },
      cancel: async (call) => {
        await payment.call("cancelCharge", { txId: call.txId }, options(call));
      },
    },
  };
}

/** One phase's call: its idempotency key, and a context that ends with the phase's signal. */
function options(call: TccCall) {
  const ctx = createContext({ service: "order", action: `tcc.${call.phase}`, signal: call.signal });
  return { ctx, idempotencyKey: call.idempotencyKey };
}
