/**
 * A payment hold: an amount of a customer's balance kept aside for a TCC
 * transaction (its id is the order id) until the coordinator confirms it
 * (the amount is charged) or cancels it (the amount is the customer's
 * again). Pure decisions; the TCC barrier (lib/tx) makes sure each runs at
 * most once per transaction and in a legal order.
 *
 * @module
 */

import type { Wallet } from "./payment.ts";

/**
 * Where a hold is: `HELD` keeps the amount aside, `CHARGED` was confirmed,
 * `RELEASED` was cancelled or expired (the amount is back on the balance).
 */
export type PaymentHoldStatus = "HELD" | "CHARGED" | "RELEASED";

/** The amount one TCC transaction holds, held or charged. */
export interface PaymentHold {
  /** The transaction (the order id). */
  readonly txId: string;
  /** Where it is. */
  readonly status: PaymentHoldStatus;
  /** The customer whose balance it holds. */
  readonly customerId: string;
  /** Integer cents. */
  readonly amount: number;
}

/** A TCC Try of the payment service: hold `amount` of `customerId`'s balance. */
export interface HoldFundsRequest {
  /** The transaction (the order id). */
  readonly txId: string;
  /** The customer. */
  readonly customerId: string;
  /** Integer cents. */
  readonly amount: number;
}

/**
 * What to do with a Try, discriminated on `type`:
 *
 * - `hold`: write `balance` (the customer's new balance) at `version` (one above the wallet's)
 *   and the `HELD` `hold`.
 * - `unknown_customer`: the customer does not exist; change nothing.
 * - `insufficient_funds`: the balance is short; change nothing.
 */
export type HoldFundsDecision =
  | {
    readonly type: "hold";
    readonly hold: PaymentHold;
    readonly balance: number;
    readonly version: number;
  }
  | { readonly type: "unknown_customer" }
  | { readonly type: "insufficient_funds" };

/**
 * Decides a Try against the customer's wallet (`undefined` if there is no
 * such customer). A balance never goes below zero.
 *
 * @example
 * ```ts
 * decideHoldFunds({ txId: "o-1", customerId: "alice", amount: 850 }, { balance: 1_000, version: 4 });
 * // { type: "hold", balance: 150, version: 5, hold: { txId: "o-1", status: "HELD", … } }
 * ```
 */
export function decideHoldFunds(
  request: HoldFundsRequest,
  wallet: Wallet | undefined,
): HoldFundsDecision {
  if (wallet === undefined) return { type: "unknown_customer" };
  if (wallet.balance < request.amount) return { type: "insufficient_funds" };
  return {
    type: "hold",
    balance: wallet.balance - request.amount,
    version: wallet.version + 1,
    hold: {
      txId: request.txId,
      status: "HELD",
      customerId: request.customerId,
      amount: request.amount,
    },
  };
}

/**
 * What to do with a Confirm, discriminated on `type`: `capture` writes the
 * `CHARGED` hold (the balance does not move: the amount left it when it was
 * held; `balance` and `version` are the customer's current ones, for the
 * event); `noop` when there is no `HELD` hold.
 */
export type CaptureDecision =
  | {
    readonly type: "capture";
    readonly hold: PaymentHold;
    readonly balance: number;
    readonly version: number;
  }
  | { readonly type: "noop" };

/**
 * Decides a Confirm of the transaction's hold, given its customer's current wallet.
 *
 * @example
 * ```ts
 * decideCapture(
 *   { txId: "o-1", status: "HELD", customerId: "alice", amount: 850 },
 *   { balance: 150, version: 5 },
 * );
 * // { type: "capture", balance: 150, version: 5, hold: { status: "CHARGED", … } }
 * ```
 */
export function decideCapture(
  hold: PaymentHold | undefined,
  wallet: Wallet | undefined,
): CaptureDecision {
  if (hold?.status !== "HELD") return { type: "noop" };
  if (wallet === undefined) {
    throw new Error(`Cannot charge the hold of "${hold.txId}" as its customer is gone`);
  }
  return {
    type: "capture",
    balance: wallet.balance,
    version: wallet.version,
    hold: { ...hold, status: "CHARGED" },
  };
}

/**
 * What to do with a Cancel (or an expiry), discriminated on `type`:
 * `release_funds` writes `balance` (the held amount back) at `version` (one
 * above the wallet's) and the `RELEASED` hold; `noop` when there is no `HELD` hold.
 */
export type ReleaseFundsDecision =
  | {
    readonly type: "release_funds";
    readonly hold: PaymentHold;
    readonly balance: number;
    readonly version: number;
  }
  | { readonly type: "noop" };

/**
 * Decides a Cancel of the transaction's hold, given its customer's current wallet.
 *
 * @throws {Error} if the hold's customer is gone: money would be lost, so the
 * caller must not guess.
 *
 * @example
 * ```ts
 * decideReleaseFunds(
 *   { txId: "o-1", status: "HELD", customerId: "alice", amount: 850 },
 *   { balance: 150, version: 5 },
 * );
 * // { type: "release_funds", balance: 1000, version: 6, hold: { status: "RELEASED", … } }
 * ```
 */
export function decideReleaseFunds(
  hold: PaymentHold | undefined,
  wallet: Wallet | undefined,
): ReleaseFundsDecision {
  if (hold?.status !== "HELD") return { type: "noop" };
  if (wallet === undefined) {
    throw new Error(`Cannot release the hold of "${hold.txId}" as its customer is gone`);
  }
  return {
    type: "release_funds",
    balance: wallet.balance + hold.amount,
    version: wallet.version + 1,
    hold: { ...hold, status: "RELEASED" },
  };
}
