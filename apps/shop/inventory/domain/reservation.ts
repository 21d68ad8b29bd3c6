/**
 * A reservation: the stock one order holds, keyed by the order's id.
 *
 * @module
 */

/** One line of a reservation: how much of one sku. */
export interface ReservationLine {
  /** The sku. */
  readonly sku: string;
  /** How many units; a positive integer. */
  readonly quantity: number;
}

/**
 * Where a reservation is in its life: `RESERVED` holds stock, `RELEASED` gave
 * it back, `TOMBSTONE` was released before it ever reserved (so a late
 * reserve is refused).
 */
export type ReservationStatus = "RESERVED" | "RELEASED" | "TOMBSTONE";

/** The stock an order holds or held. */
export interface Reservation {
  /** The order it belongs to. */
  readonly orderId: string;
  /** Where it is in its life. */
  readonly status: ReservationStatus;
  /** What it reserved, in request order; empty for a tombstone. */
  readonly items: readonly ReservationLine[];
}

/**
 * A sku's available stock and its version: a counter the inventory bumps in
 * the transaction of every change of the figure (reserve, release, TCC hold,
 * cancel or expiry), so a reader told figures out of order keeps the newest.
 * A product starts at version 0 (its seeded figure, never announced).
 */
export interface StockLevel {
  /** Units available. */
  readonly stock: number;
  /** How many changes the figure has seen; a non-negative integer. */
  readonly version: number;
}

/** Available stock per sku, with its version; a sku the catalogue lacks is absent. */
export type StockLevels = ReadonlyMap<string, StockLevel>;

/**
 * The level that follows `current` once `delta` units moved: the stock moved,
 * the version one up. A sku the catalogue lacks counts as 0 units at version 0.
 *
 * @example
 * ```ts
 * moveStock({ stock: 5, version: 3 }, -2); // { stock: 3, version: 4 }
 * ```
 */
export function moveStock(current: StockLevel | undefined, delta: number): StockLevel {
  return {
    stock: (current?.stock ?? 0) + delta,
    version: (current?.version ?? 0) + 1,
  };
}

/**
 * Whether two lists of lines ask for the same quantities of the same skus,
 * in any order.
 *
 * @example
 * ```ts
 * sameLines([{ sku: "A", quantity: 1 }], [{ sku: "A", quantity: 1 }]); // true
 * ```
 */
export function sameLines(
  a: readonly ReservationLine[],
  b: readonly ReservationLine[],
): boolean {
  if (a.length !== b.length) return false;
  const wanted = new Map<string, number>();
  for (const line of a) wanted.set(line.sku, (wanted.get(line.sku) ?? 0) + line.quantity);
  for (const line of b) {
    const left = (wanted.get(line.sku) ?? 0) - line.quantity;
    if (left < 0) return false;
    wanted.set(line.sku, left);
  }
  return [...wanted.values()].every((left) => left === 0);
}
