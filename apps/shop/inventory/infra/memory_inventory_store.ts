/**
 * An in-memory {@link InventoryStore}, for tests and demos.
 *
 * @module
 */

import type { Product } from "../../contracts/mod.ts";
import type { InventoryStore, InventoryTransaction } from "../app/ports.ts";
import type { Reservation, StockLevels } from "../domain/reservation.ts";

/**
 * Keeps products and reservations in maps. A transaction works on copies and
 * swaps them in only if the work returns, so a throw leaves nothing behind.
 *
 * @example
 * ```ts
 * const store = new MemoryInventoryStore([{ sku: "MUG", name: "Mug", price: 1800, stock: 3 }]);
 * store.getProducts(["MUG"]); // [{ sku: "MUG", … }]
 * ```
 */
export class MemoryInventoryStore implements InventoryStore {
  #products = new Map<string, Product>();
  #reservations = new Map<string, Reservation>();
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
    const reservations = new Map(this.#reservations);
    const result = work({
      getReservation: (orderId) => reservations.get(orderId),
      getStock: (skus) => {
        const levels = new Map<string, number>();
        for (const sku of skus) {
          const product = products.get(sku);
          if (product) levels.set(sku, product.stock);
        }
        return levels;
      },
      setStock: (levels: StockLevels) => {
        for (const [sku, stock] of levels) {
          const product = products.get(sku);
          if (!product) continue;
          if (!(Number.isSafeInteger(stock) && stock >= 0)) {
            throw new RangeError(`Cannot set the stock of "${sku}" to ${stock}`);
          }
          products.set(sku, { ...product, stock });
        }
      },
      saveReservation: (reservation) => {
        reservations.set(reservation.orderId, reservation);
      },
    });
    this.#products = products;
    this.#reservations = reservations;
    return result;
  }

  /** True until closed. */
  ping(): boolean {
    return !this.#closed;
  }

  /** Marks the store closed; later calls throw. */
  close(): void {
    this.#closed = true;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("The inventory store is closed");
  }
}
