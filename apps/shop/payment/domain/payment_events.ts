/**
 * The events that announce the payment service's money moves, derived from
 * its decisions. Pure.
 *
 * @module
 */

import type { ChargeDecision } from "./charge.ts";
import type { Payment } from "./payment.ts";
import type { RefundDecision } from "./refund.ts";

/** What a payment event says: whose money moved for which order, and the balance left. */
export interface PaymentMoved {
  /** The order. */
  readonly orderId: string;
  /** The customer whose wallet moved. */
  readonly customerId: string;
  /** How much moved, in integer cents. */
  readonly amount: number;
  /** The customer's balance after the move, in integer cents. */
  readonly balance: number;
}

/**
 * A payment event, discriminated on `type`: `payment.charged` (a wallet was
 * debited for an order) or `payment.refunded` (an order's charge was given
 * back).
 */
export type PaymentEvent =
  | { readonly type: "payment.charged"; readonly data: PaymentMoved }
  | { readonly type: "payment.refunded"; readonly data: PaymentMoved };

/**
 * The events a charge or refund decision announces: one when it moves money
 * (`charge`, `refund`), none otherwise (a decline, a void, a replay…).
 *
 * @example
 * ```ts
 * const decision = decideCharge({ orderId: "o-1", customerId: "alice", amount: 850 }, undefined, 1_000);
 * paymentEvents(decision);
 * // [{ type: "payment.charged", data: { orderId: "o-1", customerId: "alice", amount: 850, balance: 150 } }]
 * ```
 */
export function paymentEvents(decision: ChargeDecision | RefundDecision): PaymentEvent[] {
  switch (decision.type) {
    case "charge":
      return [{ type: "payment.charged", data: moved(decision.payment, decision.balance) }];
    case "refund":
      return [{ type: "payment.refunded", data: moved(decision.payment, decision.balance) }];
    default:
      return [];
  }
}

function moved(payment: Payment, balance: number): PaymentMoved {
  const terms = payment.terms;
  if (terms === undefined) {
    throw new TypeError(`Cannot describe the payment of "${payment.orderId}" as it has no terms`);
  }
  return { orderId: payment.orderId, customerId: terms.customerId, amount: terms.amount, balance };
}
