/**
 * The payment service: customers' wallets, charges and refunds keyed by
 * order id — idempotent, never below zero, refused once refunded or voided —
 * and holds as a TCC participant (`tryCharge` / `confirmCharge` /
 * `cancelCharge`).
 *
 * @module
 */

import { defineService, type Service } from "@flotilla/core";
import { paymentContract } from "../../contracts/mod.ts";
import { decideCharge } from "../domain/charge.ts";
import { decideRefund } from "../domain/refund.ts";
import { paymentEvents } from "../domain/payment_events.ts";
import { customerNotFound, paymentMismatch, paymentVoided, unknownCustomer } from "../errors.ts";
import { PaymentHolds } from "./payment_holds.ts";
import type { Emit, PaymentStore } from "./ports.ts";

/** What {@link createPaymentService} needs. */
export interface PaymentServiceDeps {
  /** Where wallets and payments live. Closed when the service stops. */
  store: PaymentStore;
  /**
   * Emits `payment.charged` / `payment.refunded`, called inside the store
   * transaction that moves the money (the outbox of the store's database).
   * @default {an emitter that drops every event}
   */
  emit?: Emit;
  /**
   * The TCC holds behind `tryCharge` / `confirmCharge` / `cancelCharge`
   * (`main.ts` keeps them to expire stale holds).
   * @default {new PaymentHolds({ store, emit })}
   */
  holds?: PaymentHolds;
}

/**
 * Creates the payment service on top of a store. Each charge that debits,
 * refund that credits, and TCC Try, Confirm or Cancel that changes a hold
 * emits its event in the same transaction, once: a decline, a void, a
 * refusal or a replay moves no money and emits nothing.
 *
 * @example
 * ```ts
 * const service = createPaymentService({ store: new MemoryPaymentStore(SEED_CUSTOMERS) });
 * ```
 */
export function createPaymentService(deps: PaymentServiceDeps): Service<typeof paymentContract> {
  const { store } = deps;
  const emit = deps.emit ?? (() => {});
  const holds = deps.holds ?? new PaymentHolds({ store, emit });
  return defineService(paymentContract, {
    listCustomers: () => store.listCustomers(),

    getCustomer: ({ customerId }) => {
      const customer = store.getCustomer(customerId);
      if (!customer) throw customerNotFound(customerId);
      return customer;
    },

    charge: (request, ctx) => {
      const decision = store.transaction((tx) => {
        const decision = decideCharge(
          request,
          tx.getPayment(request.orderId),
          tx.getWallet(request.customerId),
        );
        if (decision.type === "charge") {
          tx.setBalance(request.customerId, {
            balance: decision.balance,
            version: decision.version,
          });
        }
        if (decision.type === "charge" || decision.type === "decline") {
          tx.savePayment(decision.payment);
        }
        for (const event of paymentEvents(decision)) {
          emit(event.type, event.data, { subject: request.orderId, trace: ctx.trace });
        }
        return decision;
      });
      switch (decision.type) {
        case "charge":
        case "decline":
        case "replay": {
          if (decision.type !== "replay") {
            ctx.logger.info(decision.type === "charge" ? "charged" : "charge declined", {
              orderId: request.orderId,
              amount: request.amount,
            });
          }
          return decision.payment.status === "CHARGED"
            ? { status: "CHARGED" as const }
            : { status: "DECLINED" as const, reason: "INSUFFICIENT_FUNDS" as const };
        }
        case "unknown_customer":
          throw unknownCustomer(request.customerId);
        case "mismatch":
          throw paymentMismatch(request.orderId);
        case "voided":
          throw paymentVoided(request.orderId);
      }
    },

    refund: ({ orderId }, ctx) => {
      const decision = store.transaction((tx) => {
        const existing = tx.getPayment(orderId);
        const customerId = existing?.status === "CHARGED" ? existing.terms?.customerId : undefined;
        const wallet = customerId === undefined ? undefined : tx.getWallet(customerId);
        const decision = decideRefund(orderId, existing, wallet);
        if (decision.type === "refund") {
          tx.setBalance(decision.customerId, {
            balance: decision.balance,
            version: decision.version,
          });
        }
        if (decision.type !== "replay") tx.savePayment(decision.payment);
        for (const event of paymentEvents(decision)) {
          emit(event.type, event.data, { subject: orderId, trace: ctx.trace });
        }
        return decision;
      });
      if (decision.type !== "replay") {
        ctx.logger.info(decision.type === "refund" ? "refunded" : "voided", { orderId });
      }
      return {
        status: decision.payment.status === "REFUNDED" ? "REFUNDED" as const : "VOIDED" as const,
      };
    },

    tryCharge: ({ txId, customerId, amount }, ctx) => {
      const status = holds.try({ txId, customerId, amount }, ctx.trace);
      if (status === "TRIED") ctx.logger.info("amount held", { txId, amount });
      return { status };
    },

    confirmCharge: ({ txId }, ctx) => {
      const status = holds.confirm(txId, ctx.trace);
      if (status === "CONFIRMED") ctx.logger.info("held amount charged", { txId });
      return { status };
    },

    cancelCharge: ({ txId }, ctx) => {
      const status = holds.cancel(txId, ctx.trace);
      if (status !== "REPLAYED") {
        ctx.logger.info(status === "CANCELLED" ? "held amount released" : "empty rollback", {
          txId,
        });
      }
      return { status };
    },
  }, {
    readiness: [{ name: "database", check: () => store.ping() }],
    onStop: () => store.close(),
  });
}
