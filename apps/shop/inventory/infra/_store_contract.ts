/**
 * Behaviour every {@link InventoryStore} must have, as a test suite that
 * each adapter's test runs against itself. Private to `infra/`.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Product } from "../../contracts/mod.ts";
import type { InventoryStore } from "../app/ports.ts";

/** Products the suite starts each store with. */
export const CONTRACT_PRODUCTS: readonly Product[] = [
  { sku: "MUG", name: "Mug", price: 1800, stock: 3 },
  { sku: "TEA", name: "Tea", price: 850, stock: 10 },
  { sku: "KETTLE", name: "Kettle", price: 4900, stock: 0 },
];

/** Registers the store contract's tests; `open` returns a fresh store holding {@link CONTRACT_PRODUCTS}. */
export function testInventoryStoreContract(
  name: string,
  open: () => Promise<InventoryStore & { close(): void }>,
): void {
  const test = (title: string, body: (store: InventoryStore) => void) =>
    Deno.test(`${name} ${title}`, async () => {
      const store = await open();
      try {
        body(store);
      } finally {
        store.close();
      }
    });

  test("listProducts() returns every product ordered by sku", (store) => {
    assert.deepEqual(store.listProducts().map((p) => p.sku), ["KETTLE", "MUG", "TEA"]);
    assert.deepEqual(store.listProducts()[1], CONTRACT_PRODUCTS[0]);
  });

  test("getProducts() keeps the order asked, drops repeats and unknown skus", (store) => {
    assert.deepEqual(
      store.getProducts(["TEA", "NOPE", "MUG", "TEA"]).map((p) => p.sku),
      ["TEA", "MUG"],
    );
    assert.deepEqual(store.getProducts(["NOPE"]), []);
  });

  test("transaction() keeps what the work wrote", (store) => {
    store.transaction((tx) => {
      assert.deepEqual([...tx.getStock(["TEA", "NOPE", "MUG"])], [["TEA", 10], ["MUG", 3]]);
      tx.setStock(new Map([["TEA", 7], ["NOPE", 4]]));
      tx.saveReservation({
        orderId: "o-1",
        status: "RESERVED",
        items: [{ sku: "TEA", quantity: 3 }],
      });
    });
    assert.equal(store.getProducts(["TEA"])[0]?.stock, 7);
    assert.deepEqual(store.getProducts(["NOPE"]), []);
    store.transaction((tx) => {
      assert.deepEqual(tx.getReservation("o-1"), {
        orderId: "o-1",
        status: "RESERVED",
        items: [{ sku: "TEA", quantity: 3 }],
      });
      assert.equal(tx.getReservation("o-2"), undefined);
      tx.saveReservation({
        orderId: "o-1",
        status: "RELEASED",
        items: [{ sku: "TEA", quantity: 3 }],
      });
    });
    assert.equal(store.transaction((tx) => tx.getReservation("o-1")?.status), "RELEASED");
  });

  test("transaction() keeps nothing when the work throws", (store) => {
    assert.throws(
      () =>
        store.transaction((tx) => {
          tx.setStock(new Map([["TEA", 1]]));
          tx.saveReservation({ orderId: "o-1", status: "TOMBSTONE", items: [] });
          throw new Error("boom");
        }),
      /boom/,
    );
    assert.equal(store.getProducts(["TEA"])[0]?.stock, 10);
    assert.equal(store.transaction((tx) => tx.getReservation("o-1")), undefined);
  });

  test("transaction() refuses a negative stock level", (store) => {
    assert.throws(() => store.transaction((tx) => tx.setStock(new Map([["TEA", -1]]))));
    assert.equal(store.getProducts(["TEA"])[0]?.stock, 10);
  });

  test("ping() is true while open", (store) => {
    assert.equal(store.ping(), true);
  });
}
