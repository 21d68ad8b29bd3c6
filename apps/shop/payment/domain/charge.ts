/**
 * The decision to charge a customer's wallet for an order, once per order.
 *
 * @module
 */

import { type ChargeTerms, type Payment, sameTerms, type Wallet } from "./payment.ts";

/** A request to charge an order. */
export interface ChargeRequest extends ChargeTerms {
  /** The order. */
  readonly orderId: string;
}

/**
 * What to do with a charge request, discriminated on `type`:
 *
 * - `replay`: the order was charged or declined with the same terms; answer as then.
 * - `mismatch`: the order was charged or declined with other terms.
 * - `voided`: the order was refunded or voided.
 * - `unknown_customer`: the customer does not exist.
 * - `decline`: the balance is short; record the `DECLINED` payment.
 * - `charge`: write `balance` (the customer's new balance) at `version` (one above the
 *   wallet's) and the `CHARGED` payment.
 */
export type ChargeDecision =
  | { readonly type: "replay"; readonly payment: Payment }
  | { readonly type: "mismatch"; readonly payment: Payment }
  | { readonly type: "voided"; readonly payment: Payment }
  | { readonly type: "unknown_customer" }
  | { readonly type: "decline"; readonly payment: Payment }
  | {
    readonly type: "charge";
    readonly payment: Payment;
    readonly balance: number;
    readonly version: number;
  };

/**
 * Decides a charge against the order's existing payment (if any) and the
 * customer's wallet (`undefined` if there is no such customer). A balance
 * never goes below zero.
 *
 * @example
 * ```ts
 * decideCharge(
 *   { orderId: "o-1", customerId: "alice", amount: 850 },
 *   undefined,
 *   { balance: 1_000, version: 4 },
 * );
 * // { type: "charge", balance: 150, version: 5, payment: { status: "CHARGED", … } }
 * ```
 */
export function decideCharge(
  request: ChargeRequest,
  existing: Payment | undefined,
  wallet: Wallet | undefined,
): ChargeDecision {
  const terms: ChargeTerms = { customerId: request.customerId, amount: request.amount };
  if (existing) {
    if (existing.status === "REFUNDED" || existing.status === "VOIDED") {
      return { type: "voided", payment: existing };
    }
    return sameTerms(existing.terms, terms)
      ? { type: "replay", payment: existing }
      : { type: "mismatch", payment: existing };
  }
  if (wallet === undefined) return { type: "unknown_customer" };
  if (wallet.balance < request.amount) {
    return { type: "decline", payment: { orderId: request.orderId, status: "DECLINED", terms } };
  }
  return {
    type: "charge",
    balance: wallet.balance - request.amount,
    version: wallet.version + 1,
    payment: { orderId: request.orderId, status: "CHARGED", terms },
  };
}
