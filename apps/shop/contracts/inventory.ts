/**
 * The inventory service's contract: the catalogue, and stock reservations
 * keyed by order id.
 *
 * @module
 */

import { z } from "zod";
import { defineContract } from "@flotilla/core";
import { inventoryEvents } from "./events.ts";
import { OrderId, OrderLineRequest, Product, Sku } from "./schemas.ts";

/** The inventory service's contract. */
export const inventoryContract = defineContract({
  name: "inventory",
  version: "0.1.0",
  description: "Owns the catalogue and the stock; reserves and releases stock per order.",
  actions: {
    listProducts: {
      description: "Every product with its available stock.",
      input: z.strictObject({}),
      output: z.array(Product),
      idempotent: true,
    },
    getProducts: {
      description: "The products with the given skus; unknown skus are left out.",
      input: z.strictObject({ skus: z.array(Sku).min(1).max(100) }),
      output: z.object({ products: z.array(Product) }),
      idempotent: true,
    },
    reserve: {
      description: "Takes stock for an order, all lines or none. Idempotent per order id; " +
        "refused once the order's reservation was released.",
      input: z.strictObject({
        orderId: OrderId,
        items: z.array(OrderLineRequest).min(1),
      }),
      output: z.discriminatedUnion("status", [
        z.object({ status: z.literal("RESERVED") }),
        z.object({
          status: z.literal("REJECTED"),
          reason: z.literal("OUT_OF_STOCK"),
          sku: Sku,
        }),
      ]),
      idempotent: true,
    },
    release: {
      description: "Gives an order's reserved stock back. Idempotent; releasing an order that " +
        "reserved nothing records a tombstone so a late reserve is refused.",
      input: z.strictObject({ orderId: OrderId }),
      output: z.object({
        status: z.literal("RELEASED"),
        released: z.boolean(),
      }),
      idempotent: true,
    },
    tryReserve: {
      description: "TCC Try: holds stock for a transaction (`txId`, the order id), all lines or " +
        "none. Replays are no-ops; OUT_OF_STOCK refuses it; a Try after the transaction's " +
        "Cancel is refused (TCC_TRY_AFTER_CANCEL). A hold not confirmed in time expires.",
      input: z.strictObject({ txId: OrderId, items: z.array(OrderLineRequest).min(1) }),
      output: z.object({ status: z.enum(["TRIED", "REPLAYED"]) }),
      idempotent: true,
    },
    confirmReserve: {
      description: "TCC Confirm: the held stock is sold. Replays are no-ops; refused after " +
        "Cancel (TCC_CONFIRM_AFTER_CANCEL) or without a Try (TCC_CONFIRM_WITHOUT_TRY).",
      input: z.strictObject({ txId: OrderId }),
      output: z.object({ status: z.enum(["CONFIRMED", "REPLAYED"]) }),
      idempotent: true,
    },
    cancelReserve: {
      description: "TCC Cancel: the held stock is available again; a Cancel before any Try " +
        "records it (EMPTY_ROLLBACK) so a late Try is refused. Replays are no-ops; refused " +
        "after Confirm (TCC_CANCEL_AFTER_CONFIRM).",
      input: z.strictObject({ txId: OrderId }),
      output: z.object({ status: z.enum(["CANCELLED", "EMPTY_ROLLBACK", "REPLAYED"]) }),
      idempotent: true,
    },
  },
  events: { emits: inventoryEvents },
  needs: { dataDir: true },
});
