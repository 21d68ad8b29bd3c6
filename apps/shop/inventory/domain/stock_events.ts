/**
 * The events that announce the inventory's stock moves, derived from its
 * decisions. Pure.
 *
 * @module
 */

import type { ReleaseDecision } from "./release.ts";
import type { Reservation, StockLevels } from "./reservation.ts";
import type { ReserveDecision } from "./reserve.ts";

/** One line of a stock event: the quantity moved and the available stock afterwards. */
export interface StockMove {
  /** The sku. */
  readonly sku: string;
  /** How many units moved. */
  readonly quantity: number;
  /** The sku's available stock after the move. */
  readonly stock: number;
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
 * The events a reserve or release decision announces: one when it moves
 * stock (`reserve`, `release`), none when it changes no stock (a replay, a
 * rejection, a tombstone, a repeated release…).
 *
 * @example
 * ```ts
 * const decision = decideReserve(
 *   { orderId: "o-1", items: [{ sku: "MUG", quantity: 2 }] },
 *   undefined,
 *   new Map([["MUG", 5]]),
 * );
 * stockEvents(decision);
 * // [{ type: "stock.reserved", data: { orderId: "o-1", items: [{ sku: "MUG", quantity: 2, stock: 3 }] } }]
 * ```
 */
export function stockEvents(decision: ReserveDecision | ReleaseDecision): StockEvent[] {
  switch (decision.type) {
    case "reserve":
      return [{ type: "stock.reserved", data: moved(decision.reservation, decision.stock) }];
    case "release":
      return [{ type: "stock.released", data: moved(decision.reservation, decision.stock) }];
    default:
      return [];
  }
}

function moved(reservation: Reservation, stock: StockLevels): StockMoved {
  return {
    orderId: reservation.orderId,
    items: reservation.items.map(({ sku, quantity }) => {
      const after = stock.get(sku);
      if (after === undefined) {
        throw new TypeError(
          `Cannot describe the move of "${sku}" as the decision has no level for it`,
        );
      }
      return { sku, quantity, stock: after };
    }),
  };
}
