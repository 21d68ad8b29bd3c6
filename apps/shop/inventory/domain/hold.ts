/**
 * A hold: stock kept aside for a TCC transaction (its id is the order id)
 * until the coordinator confirms it (the stock is sold) or cancels it (the
 * stock is available again). Pure decisions; the TCC barrier (lib/tx) makes
 * sure each runs at most once per transaction and in a legal order.
 *
 * @module
 */

import { decideRelease } from "./release.ts";
import { decideReserve } from "./reserve.ts";
import type { ReservationLine, StockLevels } from "./reservation.ts";

/**
 * Where a hold is: `HELD` keeps stock aside, `SOLD` was confirmed (the stock
 * left the shop), `RELEASED` was cancelled or expired (the stock is back).
 */
export type HoldStatus = "HELD" | "SOLD" | "RELEASED";

/** The stock one TCC transaction holds, held or sold. */
export interface Hold {
  /** The transaction (the order id). */
  readonly txId: string;
  /** Where it is in its life. */
  readonly status: HoldStatus;
  /** What it holds, in request order. */
  readonly items: readonly ReservationLine[];
}

/** A TCC Try of the inventory: hold these lines for the transaction. */
export interface HoldRequest {
  /** The transaction (the order id). */
  readonly txId: string;
  /** What it wants, each sku once. */
  readonly items: readonly ReservationLine[];
}

/**
 * What to do with a Try, discriminated on `type`:
 *
 * - `hold`: write `stock` (the new available levels of the requested skus, each one version up)
 *   and the `HELD` `hold`.
 * - `unknown_sku`: some lines name skus the catalogue lacks; change nothing.
 * - `out_of_stock`: `sku` lacks available stock; change nothing (all lines or none).
 */
export type HoldDecision =
  | { readonly type: "hold"; readonly hold: Hold; readonly stock: StockLevels }
  | {
    readonly type: "unknown_sku";
    readonly lines: readonly { readonly index: number; readonly sku: string }[];
  }
  | { readonly type: "out_of_stock"; readonly sku: string };

/**
 * Decides a Try against the available stock of the requested skus: all lines
 * are held, or none.
 *
 * @example
 * ```ts
 * decideHold(
 *   { txId: "o-1", items: [{ sku: "MUG", quantity: 2 }] },
 *   new Map([["MUG", { stock: 5, version: 7 }]]),
 * );
 * // { type: "hold", stock: Map { "MUG" => { stock: 3, version: 8 } }, hold: { status: "HELD", … } }
 * ```
 */
export function decideHold(request: HoldRequest, stock: StockLevels): HoldDecision {
  const decision = decideReserve({ orderId: request.txId, items: request.items }, undefined, stock);
  switch (decision.type) {
    case "reserve":
      return {
        type: "hold",
        stock: decision.stock,
        hold: { txId: request.txId, status: "HELD", items: decision.reservation.items },
      };
    case "unknown_sku":
      return { type: "unknown_sku", lines: decision.lines };
    case "rejected":
      return { type: "out_of_stock", sku: decision.sku };
    default:
      // Without an existing reservation decideReserve never replays, mismatches or releases.
      throw new TypeError(`Cannot hold "${request.txId}": unexpected "${decision.type}"`);
  }
}

/**
 * What to do with a Confirm, discriminated on `type`: `sell` writes the
 * `SOLD` hold (available stock does not change: it left when it was held);
 * `noop` when there is no `HELD` hold (nothing to sell).
 */
export type SellDecision =
  | { readonly type: "sell"; readonly hold: Hold }
  | { readonly type: "noop" };

/**
 * Decides a Confirm of the transaction's hold.
 *
 * @example
 * ```ts
 * decideSell({ txId: "o-1", status: "HELD", items: [] }); // { type: "sell", hold: { status: "SOLD", … } }
 * ```
 */
export function decideSell(hold: Hold | undefined): SellDecision {
  if (hold?.status !== "HELD") return { type: "noop" };
  return { type: "sell", hold: { ...hold, status: "SOLD" } };
}

/**
 * What to do with a Cancel (or an expiry), discriminated on `type`:
 * `release_hold` writes `stock` (the held quantities back on the available
 * levels, each one version up) and the `RELEASED` hold; `noop` when there is no `HELD` hold.
 */
export type ReleaseHoldDecision =
  | { readonly type: "release_hold"; readonly hold: Hold; readonly stock: StockLevels }
  | { readonly type: "noop" };

/**
 * Decides a Cancel of the transaction's hold, given the available stock of
 * the skus it holds (skus that left the catalogue count as 0).
 *
 * @example
 * ```ts
 * decideReleaseHold(
 *   { txId: "o-1", status: "HELD", items: [{ sku: "MUG", quantity: 2 }] },
 *   new Map([["MUG", { stock: 3, version: 8 }]]),
 * );
 * // { type: "release_hold", stock: Map { "MUG" => { stock: 5, version: 9 } }, hold: { … } }
 * ```
 */
export function decideReleaseHold(
  hold: Hold | undefined,
  stock: StockLevels,
): ReleaseHoldDecision {
  if (hold?.status !== "HELD") return { type: "noop" };
  const decision = decideRelease(
    hold.txId,
    { orderId: hold.txId, status: "RESERVED", items: hold.items },
    stock,
  );
  if (decision.type !== "release") {
    throw new TypeError(`Cannot release the hold of "${hold.txId}": unexpected "${decision.type}"`);
  }
  return { type: "release_hold", stock: decision.stock, hold: { ...hold, status: "RELEASED" } };
}
