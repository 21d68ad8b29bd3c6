/**
 * The decision to take stock for an order: all lines or none, once per order.
 *
 * @module
 */

import {
  moveStock,
  type Reservation,
  type ReservationLine,
  sameLines,
  type StockLevel,
  type StockLevels,
} from "./reservation.ts";

/** A request to reserve stock for an order. */
export interface ReserveRequest {
  /** The order. */
  readonly orderId: string;
  /** What it wants, each sku once. */
  readonly items: readonly ReservationLine[];
}

/**
 * What to do with a reserve request, discriminated on `type`:
 *
 * - `replay`: the order already reserved the same items; change nothing.
 * - `mismatch`: the order already reserved different items.
 * - `released`: the order's reservation was released or tombstoned.
 * - `unknown_sku`: some lines name skus the catalogue lacks.
 * - `rejected`: a line lacks stock; change nothing.
 * - `reserve`: write `stock` (the new levels of the requested skus, each one version up) and
 *   `reservation`.
 */
export type ReserveDecision =
  | { readonly type: "replay"; readonly reservation: Reservation }
  | { readonly type: "mismatch"; readonly reservation: Reservation }
  | { readonly type: "released"; readonly reservation: Reservation }
  | {
    readonly type: "unknown_sku";
    readonly lines: readonly { readonly index: number; readonly sku: string }[];
  }
  | { readonly type: "rejected"; readonly sku: string }
  | {
    readonly type: "reserve";
    readonly reservation: Reservation;
    readonly stock: StockLevels;
  };

/**
 * Decides a reserve request against the order's existing reservation (if any)
 * and the available stock of the requested skus.
 *
 * @example
 * ```ts
 * const decision = decideReserve(
 *   { orderId: "o-1", items: [{ sku: "MUG", quantity: 2 }] },
 *   undefined,
 *   new Map([["MUG", { stock: 5, version: 7 }]]),
 * );
 * // { type: "reserve", stock: Map { "MUG" => { stock: 3, version: 8 } }, reservation: { … } }
 * ```
 */
export function decideReserve(
  request: ReserveRequest,
  existing: Reservation | undefined,
  stock: StockLevels,
): ReserveDecision {
  if (existing) {
    if (existing.status !== "RESERVED") return { type: "released", reservation: existing };
    return sameLines(existing.items, request.items)
      ? { type: "replay", reservation: existing }
      : { type: "mismatch", reservation: existing };
  }
  const unknown = request.items
    .map((line, index) => ({ index, sku: line.sku }))
    .filter((line) => !stock.has(line.sku));
  if (unknown.length > 0) return { type: "unknown_sku", lines: unknown };
  const next = new Map<string, StockLevel>();
  for (const line of request.items) {
    // A sku named twice moves twice but is one change of its figure: one version up.
    const moved = next.get(line.sku);
    const available = moved?.stock ?? stock.get(line.sku)?.stock ?? 0;
    if (available < line.quantity) return { type: "rejected", sku: line.sku };
    next.set(
      line.sku,
      moved
        ? { stock: moved.stock - line.quantity, version: moved.version }
        : moveStock(stock.get(line.sku), -line.quantity),
    );
  }
  return {
    type: "reserve",
    stock: next,
    reservation: {
      orderId: request.orderId,
      status: "RESERVED",
      items: request.items.map(({ sku, quantity }) => ({ sku, quantity })),
    },
  };
}
