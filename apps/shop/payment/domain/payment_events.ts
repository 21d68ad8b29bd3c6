/**
 * The events that announce the payment service's money moves, derived from
 * its decisions. Pure.
 *
 * @module
 */

import type { ChargeDecision } from "./charge.ts";
import type {
  CaptureDecision,
  HoldFundsDecision,
  PaymentHold,
  ReleaseFundsDecision,
} from "./hold.ts";
import type { Payment, Wallet } from "./payment.ts";
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
  /** The version of that balance: a reader keeps the balance of the highest version it saw. */
  readonly version: number;
}

/**
 * A payment event, discriminated on `type`: `payment.charged` (a wallet was
 * debited for an order, or a TCC hold was confirmed), `payment.refunded` (an
 * order's charge was given back), `payment.held` (a TCC Try held an amount)
 * or `payment.released` (a TCC hold was cancelled or expired).
 */
export type PaymentEvent =
  | { readonly type: "payment.charged"; readonly data: PaymentMoved }
  | { readonly type: "payment.refunded"; readonly data: PaymentMoved }
  | { readonly type: "payment.held"; readonly data: PaymentMoved }
  | { readonly type: "payment.released"; readonly data: PaymentMoved };

/**
 * The events a decision announces: one when it moves money (`charge`,
 * `refund`, a TCC `hold`, `capture` or `release_funds`), none otherwise (a
 * decline, a void, a replay, a refused Try…). A TCC transaction that ends
 * well reads `payment.held` then `payment.charged`; one that is cancelled,
 * `payment.held` then `payment.released` — never a charge then a refund.
 *
 * @example
 * ```ts
 * const decision = decideCharge(
 *   { orderId: "o-1", customerId: "alice", amount: 850 },
 *   undefined,
 *   { balance: 1_000, version: 0 },
 * );
 * paymentEvents(decision);
 * // [{ type: "payment.charged", data: { orderId: "o-1", customerId: "alice", amount: 850, balance: 150, version: 1 } }]
 * ```
 */
export function paymentEvents(
  decision:
    | ChargeDecision
    | RefundDecision
    | HoldFundsDecision
    | CaptureDecision
    | ReleaseFundsDecision,
): PaymentEvent[] {
  switch (decision.type) {
    case "hold":
      return [{ type: "payment.held", data: heldMoved(decision.hold, decision) }];
    case "capture":
      return [{ type: "payment.charged", data: heldMoved(decision.hold, decision) }];
    case "release_funds":
      return [{ type: "payment.released", data: heldMoved(decision.hold, decision) }];
    case "charge":
      return [{ type: "payment.charged", data: moved(decision.payment, decision) }];
    case "refund":
      return [{ type: "payment.refunded", data: moved(decision.payment, decision) }];
    default:
      return [];
  }
}

function moved(payment: Payment, { balance, version }: Wallet): PaymentMoved {
  const terms = payment.terms;
  if (terms === undefined) {
    throw new TypeError(`Cannot describe the payment of "${payment.orderId}" as it has no terms`);
  }
  return {
    orderId: payment.orderId,
    customerId: terms.customerId,
    amount: terms.amount,
    balance,
    version,
  };
}

function heldMoved(hold: PaymentHold, { balance, version }: Wallet): PaymentMoved {
  return { orderId: hold.txId, customerId: hold.customerId, amount: hold.amount, balance, version };
}
