import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { SqliteInventoryStore } from "./sqlite_inventory_store.ts";
import { CONTRACT_PRODUCTS, testInventoryStoreContract } from "./_store_contract.ts";

testInventoryStoreContract("SqliteInventoryStore", async () => {
  const dir = await Deno.makeTempDir({ prefix: "inventory-" });
  const store = SqliteInventoryStore.open(`${dir}/inventory.db`);
  store.seed(CONTRACT_PRODUCTS);
  return {
    listProducts: () => store.listProducts(),
    getProducts: (skus) => store.getProducts(skus),
    transaction: (work) => store.transaction(work),
    ping: () => store.ping(),
    close: () => {
      store.close();
      Deno.removeSync(dir, { recursive: true });
    },
  };
});

async function withDir(body: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "inventory-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("SqliteInventoryStore.seed() writes on the first start only", () =>
  withDir((dir) => {
    const path = `${dir}/inventory.db`;
    {
      using store = SqliteInventoryStore.open(path);
      assert.equal(store.seed(CONTRACT_PRODUCTS), true);
      store.transaction((tx) => tx.setStock(new Map([["TEA", 1]])));
    }
    using store = SqliteInventoryStore.open(path);
    assert.equal(store.seed(CONTRACT_PRODUCTS), false);
    assert.equal(store.getProducts(["TEA"])[0]?.stock, 1);
    assert.equal(store.listProducts().length, 3);
  }));

Deno.test("SqliteInventoryStore keeps reservations across a reopen", () =>
  withDir((dir) => {
    const path = `${dir}/inventory.db`;
    {
      using store = SqliteInventoryStore.open(path);
      store.seed(CONTRACT_PRODUCTS);
      store.transaction((tx) =>
        tx.saveReservation({
          orderId: "o-1",
          status: "RESERVED",
          items: [{ sku: "MUG", quantity: 2 }],
        })
      );
    }
    using store = SqliteInventoryStore.open(path);
    assert.deepEqual(store.transaction((tx) => tx.getReservation("o-1"))?.items, [
      { sku: "MUG", quantity: 2 },
    ]);
  }));

Deno.test("SqliteInventoryStore.open() sets WAL mode and a busy timeout", () =>
  withDir((dir) => {
    const path = `${dir}/inventory.db`;
    SqliteInventoryStore.open(path).close();
    const db = new DatabaseSync(path);
    try {
      assert.equal(db.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
    } finally {
      db.close();
    }
  }));

Deno.test("SqliteInventoryStore serialises writers of two connections to one file", () =>
  withDir((dir) => {
    const path = `${dir}/inventory.db`;
    using a = SqliteInventoryStore.open(path);
    using b = SqliteInventoryStore.open(path);
    a.seed(CONTRACT_PRODUCTS);
    a.transaction((tx) => tx.setStock(new Map([["TEA", 4]])));
    b.transaction((tx) => {
      assert.equal(tx.getStock(["TEA"]).get("TEA"), 4);
      tx.setStock(new Map([["TEA", 3]]));
    });
    assert.equal(a.getProducts(["TEA"])[0]?.stock, 3);
  }));

Deno.test("SqliteInventoryStore.transaction() refuses async work", () =>
  withDir((dir) => {
    using store = SqliteInventoryStore.open(`${dir}/inventory.db`);
    store.seed(CONTRACT_PRODUCTS);
    assert.throws(
      () =>
        store.transaction((tx) => {
          tx.setStock(new Map([["TEA", 1]]));
          return Promise.resolve();
        }),
      TypeError,
    );
    assert.equal(store.getProducts(["TEA"])[0]?.stock, 10);
  }));

Deno.test("SqliteInventoryStore.ping() is false once closed", () =>
  withDir((dir) => {
    const store = SqliteInventoryStore.open(`${dir}/inventory.db`);
    store.close();
    store.close();
    assert.equal(store.ping(), false);
  }));
