/**
 * The events that announce the inventory's stock moves, derived from its
 * decisions. Pure.
 *
 * @module
 */

import type { HoldDecision, ReleaseHoldDecision, SellDecision } from "./hold.ts";
import type { ReleaseDecision } from "./release.ts";
import type { ReservationLine, StockLevels } from "./reservation.ts";
import type { ReserveDecision } from "./reserve.ts";

/** One line of a stock event: the quantity moved and the available stock afterwards. */
export interface StockMove {
  /** The sku. */
  readonly sku: string;
  /** How many units moved. */
  readonly quantity: number;
  /** The sku's available stock after the move. */
  readonly stock: number;
  /** The version of that figure: a reader keeps the figure of the highest version it saw. */
  readonly version: number;
}

/** What a stock event says: which order moved which stock. */
export interface StockMoved {
  /** The order the stock was moved for. */
  readonly orderId: string;
  /** The lines, in the reservation's order. */
  readonly items: readonly StockMove[];
}

/**
 * A stock event, discriminated on `type`: `stock.reserved` (stock taken for
 * an order) or `stock.released` (an order's stock given back).
 */
export type StockEvent =
  | { readonly type: "stock.reserved"; readonly data: StockMoved }
  | { readonly type: "stock.released"; readonly data: StockMoved };

/**
 * The events a decision announces: one when it moves available stock —
 * `stock.reserved` for a reserve or a TCC hold, `stock.released` for a
 * release or a cancelled (or expired) hold — none when it changes no
 * available stock (a replay, a rejection, a tombstone, a repeated release, a
 * confirmed hold, whose stock already left when it was held…).
 *
 * @example
 * ```ts
 * const decision = decideReserve(
 *   { orderId: "o-1", items: [{ sku: "MUG", quantity: 2 }] },
 *   undefined,
 *   new Map([["MUG", { stock: 5, version: 7 }]]),
 * );
 * stockEvents(decision);
 * // [{ type: "stock.reserved", data: { orderId: "o-1", items: [{ sku: "MUG", quantity: 2, stock: 3, version: 8 }] } }]
 * ```
 */
export function stockEvents(
  decision: ReserveDecision | ReleaseDecision | HoldDecision | SellDecision | ReleaseHoldDecision,
): StockEvent[] {
  switch (decision.type) {
    case "reserve":
      return [{ type: "stock.reserved", data: moved(decision.reservation, decision.stock) }];
    case "release":
      return [{ type: "stock.released", data: moved(decision.reservation, decision.stock) }];
    case "hold":
      return [{
        type: "stock.reserved",
        data: moved({ orderId: decision.hold.txId, items: decision.hold.items }, decision.stock),
      }];
    case "release_hold":
      return [{
        type: "stock.released",
        data: moved({ orderId: decision.hold.txId, items: decision.hold.items }, decision.stock),
      }];
    default:
      return [];
  }
}

function moved(
  reservation: { readonly orderId: string; readonly items: readonly ReservationLine[] },
  stock: StockLevels,
): StockMoved {
  return {
    orderId: reservation.orderId,
    items: reservation.items.map(({ sku, quantity }) => {
      const after = stock.get(sku);
      if (after === undefined) {
        throw new TypeError(
          `Cannot describe the move of "${sku}" as the decision has no level for it`,
        );
      }
      return { sku, quantity, stock: after.stock, version: after.version };
    }),
  };
}
