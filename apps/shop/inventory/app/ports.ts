/**
 * What the inventory service needs from the outside world: a store of
 * products and reservations with read-decide-write transactions, and an
 * emitter of the events that announce its changes.
 *
 * @module
 */

import type { TraceContext } from "@flotilla/core";
import type { Product } from "../../contracts/mod.ts";
import type { Reservation, StockLevels } from "../domain/reservation.ts";

/** Reads and writes inside one transaction of an {@link InventoryStore}. */
export interface InventoryTransaction {
  /** The order's reservation, tombstone included, if any. */
  getReservation(orderId: string): Reservation | undefined;
  /** Available stock of the given skus; skus the catalogue lacks are absent. */
  getStock(skus: readonly string[]): StockLevels;
  /** Sets the available stock of each sku in `levels` (skus the catalogue lacks are ignored). */
  setStock(levels: StockLevels): void;
  /** Inserts or replaces the order's reservation. */
  saveReservation(reservation: Reservation): void;
}

/** The inventory's persistent state. Implementations: SQLite, in-memory. */
export interface InventoryStore {
  /** Every product, ordered by sku. */
  listProducts(): Product[];
  /** The products with the given skus, in the order asked, each once; unknown skus are left out. */
  getProducts(skus: readonly string[]): Product[];
  /**
   * Runs `work` in one serialisable transaction and returns what it returns;
   * if it throws, nothing it wrote is kept. `work` must be synchronous.
   */
  transaction<T>(work: (tx: InventoryTransaction) => T): T;
  /** Whether the store can serve requests, for `/readyz`. */
  ping(): boolean;
  /** Releases the store's resources. */
  close(): void;
}

/** Per-event details of an {@link Emit}. */
export interface EmitOptions {
  /** What the event is about (its ordering key): the order id. */
  subject?: string;
  /** The trace of the work that emits it. */
  trace?: TraceContext | undefined;
}

/**
 * Emits one domain event. Call it inside the {@link InventoryStore.transaction}
 * that makes the change the event announces: behind it is the transactional
 * outbox of the store's database, so the event commits with the change, and
 * a throw (a payload that breaks its schema) rolls the change back.
 */
export type Emit = (type: string, data: unknown, options?: EmitOptions) => void;
