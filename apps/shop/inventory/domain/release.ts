/**
 * The decision to give an order's stock back.
 *
 * @module
 */

import { moveStock, type Reservation, type StockLevel, type StockLevels } from "./reservation.ts";

/**
 * What to do with a release request, discriminated on `type`:
 *
 * - `release`: write `stock` (the new levels of the reserved skus, each one
 *   version up) and the `RELEASED` reservation.
 * - `tombstone`: the order never reserved; write the `TOMBSTONE` reservation
 *   so a late reserve is refused.
 * - `noop`: already released or tombstoned; change nothing.
 */
export type ReleaseDecision =
  | {
    readonly type: "release";
    readonly reservation: Reservation;
    readonly stock: StockLevels;
  }
  | { readonly type: "tombstone"; readonly reservation: Reservation }
  | { readonly type: "noop"; readonly reservation: Reservation };

/**
 * Decides a release of `orderId`'s reservation, given the current stock of
 * the skus it holds (skus that left the catalogue count as 0).
 *
 * @example
 * ```ts
 * decideRelease("o-1", undefined, new Map());
 * // { type: "tombstone", reservation: { orderId: "o-1", status: "TOMBSTONE", items: [] } }
 * ```
 */
export function decideRelease(
  orderId: string,
  existing: Reservation | undefined,
  stock: StockLevels,
): ReleaseDecision {
  if (!existing) {
    return { type: "tombstone", reservation: { orderId, status: "TOMBSTONE", items: [] } };
  }
  if (existing.status !== "RESERVED") return { type: "noop", reservation: existing };
  const next = new Map<string, StockLevel>();
  for (const line of existing.items) {
    // A sku named twice moves twice but is one change of its figure: one version up.
    const moved = next.get(line.sku);
    next.set(
      line.sku,
      moved
        ? { stock: moved.stock + line.quantity, version: moved.version }
        : moveStock(stock.get(line.sku), line.quantity),
    );
  }
  return { type: "release", stock: next, reservation: { ...existing, status: "RELEASED" } };
}
