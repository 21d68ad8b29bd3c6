/**
 * An in-memory {@link InventoryStore}, for tests and demos.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { SqliteTccParticipant } from "@flotilla/tx";
import type { Product } from "../../contracts/mod.ts";
import type { InventoryStore, InventoryTransaction, TccBarrier, TccWork } from "../app/ports.ts";
import type { Hold } from "../domain/hold.ts";
import type { Reservation, StockLevel, StockLevels } from "../domain/reservation.ts";

/**
 * Keeps products, reservations and holds in maps. A transaction works on
 * copies and swaps them in only if the work returns, so a throw leaves
 * nothing behind. TCC barriers are the real `SqliteTccParticipant` on a
 * private in-memory SQLite database, each callback running one map
 * transaction inside the barrier's, so the barrier rules are the production
 * ones.
 *
 * @example
 * ```ts
 * const store = new MemoryInventoryStore([{ sku: "MUG", name: "Mug", price: 1800, stock: 3 }]);
 * store.getProducts(["MUG"]); // [{ sku: "MUG", … }]
 * ```
 */
export class MemoryInventoryStore implements InventoryStore {
  #products = new Map<string, Product>();
  /** The version of each product's stock figure (absent: 0). */
  #versions = new Map<string, number>();
  #reservations = new Map<string, Reservation>();
  #holds = new Map<string, Hold>();
  #barriers: DatabaseSync | undefined;
  #closed = false;

  /** Creates a store holding `products`. */
  constructor(products: readonly Product[] = []) {
    for (const product of products) this.#products.set(product.sku, { ...product });
  }

  /** Every product, ordered by sku. */
  listProducts(): Product[] {
    this.#assertOpen();
    return [...this.#products.values()]
      .sort((a, b) => a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0)
      .map((product) => ({ ...product }));
  }

  /** The known products among `skus`, in the order asked, each once. */
  getProducts(skus: readonly string[]): Product[] {
    this.#assertOpen();
    return [...new Set(skus)].flatMap((sku) => {
      const product = this.#products.get(sku);
      return product ? [{ ...product }] : [];
    });
  }

  /** Runs `work` on copies of the state and keeps them only if it returns. */
  transaction<T>(work: (tx: InventoryTransaction) => T): T {
    this.#assertOpen();
    const products = new Map(this.#products);
    const versions = new Map(this.#versions);
    const reservations = new Map(this.#reservations);
    const holds = new Map(this.#holds);
    const result = work({
      getReservation: (orderId) => reservations.get(orderId),
      getStock: (skus) => {
        const levels = new Map<string, StockLevel>();
        for (const sku of skus) {
          const product = products.get(sku);
          if (product) levels.set(sku, { stock: product.stock, version: versions.get(sku) ?? 0 });
        }
        return levels;
      },
      setStock: (levels: StockLevels) => {
        for (const [sku, { stock, version }] of levels) {
          const product = products.get(sku);
          if (!product) continue;
          if (!(Number.isSafeInteger(stock) && stock >= 0)) {
            throw new RangeError(`Cannot set the stock of "${sku}" to ${stock}`);
          }
          const stored = versions.get(sku) ?? 0;
          if (!(Number.isSafeInteger(version) && version > stored)) {
            throw new RangeError(
              `Cannot set the stock of "${sku}" at version ${version} as it is at version ${stored}`,
            );
          }
          products.set(sku, { ...product, stock });
          versions.set(sku, version);
        }
      },
      saveReservation: (reservation) => {
        reservations.set(reservation.orderId, reservation);
      },
      getHold: (txId) => holds.get(txId),
      saveHold: (hold) => {
        holds.set(hold.txId, hold);
      },
    });
    this.#products = products;
    this.#versions = versions;
    this.#reservations = reservations;
    this.#holds = holds;
    return result;
  }

  /** A TCC participant whose barrier is in a private in-memory SQLite database. */
  tccParticipant<I>(work: TccWork<I>): TccBarrier<I> {
    this.#assertOpen();
    this.#barriers ??= new DatabaseSync(":memory:");
    return new SqliteTccParticipant<I>({
      name: work.name,
      db: this.#barriers,
      table: `tcc_barrier_${work.name.replaceAll(/[^A-Za-z0-9_]/g, "_")}`,
      ...(work.tryTimeoutMs === undefined ? {} : { tryTimeoutMs: work.tryTimeoutMs }),
      ...(work.clock === undefined ? {} : { clock: work.clock }),
      try: (_db, ctx) => this.transaction((tx) => work.try(tx, ctx)),
      confirm: (_db, ctx) => this.transaction((tx) => work.confirm(tx, ctx)),
      cancel: (_db, ctx) => this.transaction((tx) => work.cancel(tx, ctx)),
    });
  }

  /** True until closed. */
  ping(): boolean {
    return !this.#closed;
  }

  /** Marks the store closed; later calls throw. */
  close(): void {
    this.#closed = true;
    if (this.#barriers?.isOpen) this.#barriers.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("The inventory store is closed");
  }
}
