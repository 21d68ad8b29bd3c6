/**
 * A payment: what happened to one order's money, keyed by the order's id.
 *
 * @module
 */

/**
 * Where a payment is: `CHARGED` took the money, `DECLINED` refused for lack
 * of funds, `REFUNDED` gave a charge back, `VOIDED` closed an order that was
 * never charged (so a late charge is refused).
 */
export type PaymentStatus = "CHARGED" | "DECLINED" | "REFUNDED" | "VOIDED";

/** Who pays how much, as asked by a charge. */
export interface ChargeTerms {
  /** The customer whose wallet is debited. */
  readonly customerId: string;
  /** Integer cents. */
  readonly amount: number;
}

/** What happened to one order's money. */
export interface Payment {
  /** The order. */
  readonly orderId: string;
  /** Where it is. */
  readonly status: PaymentStatus;
  /** The charge's terms; `undefined` only for an order voided before any charge. */
  readonly terms: ChargeTerms | undefined;
}

/**
 * A customer's available balance and its version: a counter the payment
 * service bumps in the transaction of every change of the balance (charge,
 * refund, TCC hold, cancel or expiry), so a reader told balances out of order
 * keeps the newest. A customer starts at version 0 (the seeded balance,
 * never announced).
 */
export interface Wallet {
  /** Integer cents, never negative. */
  readonly balance: number;
  /** How many changes the balance has seen; a non-negative integer. */
  readonly version: number;
}

/**
 * Whether a charge with `terms` repeats the one `payment` recorded.
 *
 * @example
 * ```ts
 * sameTerms({ customerId: "alice", amount: 850 }, { customerId: "alice", amount: 850 }); // true
 * ```
 */
export function sameTerms(a: ChargeTerms | undefined, b: ChargeTerms | undefined): boolean {
  return a !== undefined && b !== undefined && a.customerId === b.customerId &&
    a.amount === b.amount;
}
