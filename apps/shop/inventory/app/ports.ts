/**
 * What the inventory service needs from the outside world: a store of
 * products and reservations with read-decide-write transactions, and an
 * emitter of the events that announce its changes.
 *
 * @module
 */

import type { Clock, TraceContext } from "@flotilla/core";
import type { BarrierContext, CancelOutcome, ConfirmOutcome, TryOutcome } from "@flotilla/tx";
import type { Product } from "../../contracts/mod.ts";
import type { Hold } from "../domain/hold.ts";
import type { Reservation, StockLevels } from "../domain/reservation.ts";

/** Reads and writes inside one transaction of an {@link InventoryStore}. */
export interface InventoryTransaction {
  /** The order's reservation, tombstone included, if any. */
  getReservation(orderId: string): Reservation | undefined;
  /** Available stock of the given skus, with versions; skus the catalogue lacks are absent. */
  getStock(skus: readonly string[]): StockLevels;
  /**
   * Sets the available stock and version of each sku in `levels` (skus the
   * catalogue lacks are ignored).
   *
   * @throws {RangeError} if a stock is negative, or a version is not above the sku's stored one
   * (its figure would go back in time).
   */
  setStock(levels: StockLevels): void;
  /** Inserts or replaces the order's reservation. */
  saveReservation(reservation: Reservation): void;
  /** The TCC transaction's hold, if any. */
  getHold(txId: string): Hold | undefined;
  /** Inserts or replaces the TCC transaction's hold. */
  saveHold(hold: Hold): void;
}

/**
 * The business side of a TCC participant: what Try, Confirm and Cancel do to
 * the store. The store runs each inside the transaction that writes the
 * barrier row, so the change and the barrier commit together.
 */
export interface TccWork<I> {
  /** The participant's name. */
  name: string;
  /** How long a hold lives without Confirm or Cancel. @default {300_000} */
  tryTimeoutMs?: number;
  /** The source of time for expiry. @default {systemClock} */
  clock?: Clock;
  /** Makes the hold; throw to refuse (nothing is kept, the barrier included). */
  try(tx: InventoryTransaction, ctx: BarrierContext<I>): void;
  /** Makes the hold final. Called once, only after a Try. */
  confirm(tx: InventoryTransaction, ctx: BarrierContext<I>): void;
  /** Gives the hold back. Called once, only after a Try (never for an empty rollback). */
  cancel(tx: InventoryTransaction, ctx: BarrierContext<I>): void;
}

/**
 * A TCC participant behind its barrier (`SqliteTccParticipant` of
 * `@flotilla/tx`): replays are no-ops, a Cancel before the Try is recorded
 * so the late Try is refused, and a Confirm after a Cancel is refused, each
 * with a `TxError` (a `FlotillaError` of kind `FAILED_PRECONDITION`).
 */
export interface TccBarrier<I> {
  /** Tries `txId`; `REPLAYED` when it was already tried. */
  try(txId: string, input: I): TryOutcome;
  /** Confirms `txId`; `REPLAYED` when it was already confirmed. */
  confirm(txId: string): ConfirmOutcome;
  /** Cancels `txId`; `EMPTY_ROLLBACK` when it was never tried. */
  cancel(txId: string): CancelOutcome;
  /** Cancels every hold past its timeout at `now`; returns their transaction ids. */
  expireStale(now?: number): string[];
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
  /**
   * A TCC participant whose barrier lives with this store's state: `work`'s
   * callbacks run in the same transaction as the barrier row (never one of
   * their own). Create one per participant name.
   */
  tccParticipant<I>(work: TccWork<I>): TccBarrier<I>;
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
