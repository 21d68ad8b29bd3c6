/**
 * The decision to give an order's money back, or to void an order that was
 * never charged.
 *
 * @module
 */

import type { Payment, Wallet } from "./payment.ts";

/**
 * What to do with a refund request, discriminated on `type`:
 *
 * - `refund`: the order was charged; write `balance` (the customer's new
 *   balance, `customerId`'s) at `version` (one above the wallet's) and the
 *   `REFUNDED` payment.
 * - `void`: the order was declined or never charged; write the `VOIDED`
 *   payment so a late charge is refused.
 * - `replay`: already refunded or voided; change nothing.
 */
export type RefundDecision =
  | {
    readonly type: "refund";
    readonly payment: Payment;
    readonly customerId: string;
    readonly balance: number;
    readonly version: number;
  }
  | { readonly type: "void"; readonly payment: Payment }
  | { readonly type: "replay"; readonly payment: Payment };

/**
 * Decides a refund of `orderId`, given its payment (if any) and the current
 * wallet of the customer it charged (`undefined` if there is none).
 *
 * @throws {Error} if the order was charged but its customer is gone: money
 * would be lost, so the caller must not guess.
 *
 * @example
 * ```ts
 * decideRefund("o-1", undefined, undefined);
 * // { type: "void", payment: { orderId: "o-1", status: "VOIDED", terms: undefined } }
 * ```
 */
export function decideRefund(
  orderId: string,
  existing: Payment | undefined,
  wallet: Wallet | undefined,
): RefundDecision {
  if (!existing) {
    return { type: "void", payment: { orderId, status: "VOIDED", terms: undefined } };
  }
  switch (existing.status) {
    case "REFUNDED":
    case "VOIDED":
      return { type: "replay", payment: existing };
    case "DECLINED":
      return { type: "void", payment: { ...existing, status: "VOIDED" } };
    case "CHARGED": {
      const terms = existing.terms;
      if (terms === undefined || wallet === undefined) {
        throw new Error(`Cannot refund order "${orderId}" as the customer it charged is gone`);
      }
      return {
        type: "refund",
        customerId: terms.customerId,
        balance: wallet.balance + terms.amount,
        version: wallet.version + 1,
        payment: { ...existing, status: "REFUNDED" },
      };
    }
  }
}
