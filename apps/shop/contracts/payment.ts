/**
 * The payment service's contract: customers' wallets, charges and refunds
 * keyed by order id.
 *
 * @module
 */

import { z } from "zod";
import { defineContract } from "@flotilla/core";
import { paymentEvents } from "./events.ts";
import { Cents, Customer, CustomerId, OrderId } from "./schemas.ts";

/** The payment service's contract. */
export const paymentContract = defineContract({
  name: "payment",
  version: "0.1.0",
  description: "Owns customers' wallets; charges and refunds orders.",
  actions: {
    listCustomers: {
      description: "Every customer with their balance.",
      input: z.strictObject({}),
      output: z.array(Customer),
      idempotent: true,
    },
    getCustomer: {
      description: "One customer; CUSTOMER_NOT_FOUND if there is none.",
      input: z.strictObject({ customerId: CustomerId }),
      output: Customer,
      idempotent: true,
    },
    charge: {
      description: "Debits a customer's wallet for an order. Idempotent per order id; " +
        "UNKNOWN_CUSTOMER for an unknown customer, PAYMENT_VOIDED once the order was refunded.",
      input: z.strictObject({
        orderId: OrderId,
        customerId: CustomerId,
        amount: Cents,
      }),
      output: z.discriminatedUnion("status", [
        z.object({ status: z.literal("CHARGED") }),
        z.object({
          status: z.literal("DECLINED"),
          reason: z.literal("INSUFFICIENT_FUNDS"),
        }),
      ]),
      idempotent: true,
    },
    refund: {
      description: "Gives an order's charge back. Idempotent; refunding an order that was never " +
        "charged voids it so a late charge is refused.",
      input: z.strictObject({ orderId: OrderId }),
      output: z.object({ status: z.enum(["REFUNDED", "VOIDED"]) }),
      idempotent: true,
    },
    tryCharge: {
      description: "TCC Try: holds `amount` of the customer's balance for a transaction (`txId`, " +
        "the order id). Replays are no-ops; INSUFFICIENT_FUNDS or UNKNOWN_CUSTOMER refuse it; a " +
        "Try after the transaction's Cancel is refused (TCC_TRY_AFTER_CANCEL). A hold not " +
        "confirmed in time expires.",
      input: z.strictObject({ txId: OrderId, customerId: CustomerId, amount: Cents }),
      output: z.object({ status: z.enum(["TRIED", "REPLAYED"]) }),
      idempotent: true,
    },
    confirmCharge: {
      description: "TCC Confirm: the held amount is charged. Replays are no-ops; refused after " +
        "Cancel (TCC_CONFIRM_AFTER_CANCEL) or without a Try (TCC_CONFIRM_WITHOUT_TRY).",
      input: z.strictObject({ txId: OrderId }),
      output: z.object({ status: z.enum(["CONFIRMED", "REPLAYED"]) }),
      idempotent: true,
    },
    cancelCharge: {
      description: "TCC Cancel: the held amount is the customer's again; a Cancel before any Try " +
        "records it (EMPTY_ROLLBACK) so a late Try is refused. Replays are no-ops; refused after " +
        "Confirm (TCC_CANCEL_AFTER_CONFIRM).",
      input: z.strictObject({ txId: OrderId }),
      output: z.object({ status: z.enum(["CANCELLED", "EMPTY_ROLLBACK", "REPLAYED"]) }),
      idempotent: true,
    },
  },
  events: { emits: paymentEvents },
  needs: { dataDir: true },
});
