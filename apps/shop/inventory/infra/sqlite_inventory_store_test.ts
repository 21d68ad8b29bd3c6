import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { BusError, EventCatalog, outboxEmitter, SqliteOutbox } from "@flotilla/bus";
import { createClient, createContext, FlotillaError, localCallHandler } from "@flotilla/core";
import { inventoryContract, STREAMS } from "../../contracts/mod.ts";
import type { Emit } from "../app/ports.ts";
import { createInventoryService } from "../app/service.ts";
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
    tccParticipant: (work) => store.tccParticipant(work),
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
      store.transaction((tx) => tx.setStock(new Map([["TEA", { stock: 1, version: 1 }]])));
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

Deno.test("SqliteInventoryStore.open() adds the stock version to a database of an earlier version", () =>
  withDir((dir) => {
    const path = `${dir}/inventory.db`;
    // The products table as releases before stock versions wrote it, with data.
    const old = new DatabaseSync(path);
    old.exec(`CREATE TABLE products (
      sku TEXT PRIMARY KEY, name TEXT NOT NULL,
      price INTEGER NOT NULL CHECK (price >= 0), stock INTEGER NOT NULL CHECK (stock >= 0)
    ) STRICT;
    INSERT INTO products VALUES ('TEA', 'Tea', 850, 6)`);
    old.close();
    {
      using store = SqliteInventoryStore.open(path);
      assert.deepEqual(store.transaction((tx) => tx.getStock(["TEA"]).get("TEA")), {
        stock: 6,
        version: 0,
      });
      store.transaction((tx) => tx.setStock(new Map([["TEA", { stock: 5, version: 1 }]])));
    }
    // The next open finds the column and keeps it as it is.
    using store = SqliteInventoryStore.open(path);
    assert.deepEqual(store.transaction((tx) => tx.getStock(["TEA"]).get("TEA")), {
      stock: 5,
      version: 1,
    });
  }));

Deno.test("SqliteInventoryStore serialises writers of two connections to one file", () =>
  withDir((dir) => {
    const path = `${dir}/inventory.db`;
    using a = SqliteInventoryStore.open(path);
    using b = SqliteInventoryStore.open(path);
    a.seed(CONTRACT_PRODUCTS);
    a.transaction((tx) => tx.setStock(new Map([["TEA", { stock: 4, version: 1 }]])));
    b.transaction((tx) => {
      assert.deepEqual(tx.getStock(["TEA"]).get("TEA"), { stock: 4, version: 1 });
      tx.setStock(new Map([["TEA", { stock: 3, version: 2 }]]));
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
          tx.setStock(new Map([["TEA", { stock: 1, version: 1 }]]));
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

/** The service on a SQLite store whose events go to the outbox of the store's database. */
function outboxed(path: string, emit?: (outbox: SqliteOutbox) => Emit) {
  const store = SqliteInventoryStore.open(path);
  store.seed(CONTRACT_PRODUCTS);
  const outbox = new SqliteOutbox(store.database);
  const service = createInventoryService({
    store,
    emit: emit?.(outbox) ?? outboxEmitter(outbox, {
      stream: STREAMS.inventory,
      source: "/flotilla/inventory",
      catalog: EventCatalog.fromContract(inventoryContract),
    }),
  });
  const client = createClient(inventoryContract, localCallHandler(service), { caller: "test" });
  return { store, outbox, client, [Symbol.dispose]: () => store.close() };
}

Deno.test("SqliteInventoryStore commits the stock move and its outbox event together", () =>
  withDir(async (dir) => {
    const path = `${dir}/inventory.db`;
    {
      using shop = outboxed(path);
      using ctx = createContext({ service: "order", action: "placeOrder" });
      const request = { orderId: "o-1", items: [{ sku: "TEA", quantity: 3 }] };
      await shop.client.call("reserve", request, { ctx });
      await shop.client.call("reserve", request, { ctx });
      await shop.client.call("release", { orderId: "o-1" });
      await shop.client.call("release", { orderId: "o-1" });
      await shop.client.call("release", { orderId: "o-2" });
      const rows = await shop.outbox.pending(10);
      assert.deepEqual(rows.map((row) => [row.stream, row.aggregate, row.event.type]), [
        [STREAMS.inventory, "o-1", "stock.reserved"],
        [STREAMS.inventory, "o-1", "stock.released"],
      ]);
      assert.deepEqual(rows[0]?.event.data, {
        orderId: "o-1",
        items: [{ sku: "TEA", quantity: 3, stock: 7, version: 1 }],
      });
      assert.equal(rows[0]?.event.subject, "o-1");
      assert.equal(rows[0]?.event.traceparent?.split("-")[1], ctx.trace.traceId);
      assert.deepEqual(rows[1]?.event.data, {
        orderId: "o-1",
        items: [{ sku: "TEA", quantity: 3, stock: 10, version: 2 }],
      });
    }
    // Committed: another connection sees both events.
    const db = new DatabaseSync(path);
    try {
      assert.equal((await new SqliteOutbox(db).pending(10)).length, 2);
    } finally {
      db.close();
    }
  }));

Deno.test("SqliteInventoryStore rolls the stock move back when the emitter throws", () =>
  withDir(async (dir) => {
    let failing = false;
    using shop = outboxed(`${dir}/inventory.db`, (outbox) => {
      const emit = outboxEmitter(outbox, { stream: STREAMS.inventory, source: "/test" });
      return (type, data, options) => {
        emit(type, data, options);
        if (failing) throw new Error("crashed after writing the event");
      };
    });
    await shop.client.call("reserve", { orderId: "o-1", items: [{ sku: "MUG", quantity: 1 }] });
    failing = true;
    const reserve = shop.client.call("reserve", {
      orderId: "o-2",
      items: [{ sku: "TEA", quantity: 4 }],
    });
    await assert.rejects(reserve, FlotillaError);
    await assert.rejects(shop.client.call("release", { orderId: "o-1" }), FlotillaError);
    assert.equal(shop.store.getProducts(["TEA"])[0]?.stock, 10);
    assert.equal(shop.store.getProducts(["MUG"])[0]?.stock, 2);
    assert.equal(shop.store.transaction((tx) => tx.getReservation("o-2")), undefined);
    assert.equal(shop.store.transaction((tx) => tx.getReservation("o-1"))?.status, "RESERVED");
    assert.deepEqual((await shop.outbox.pending(10)).map((row) => row.aggregate), ["o-1"]);
  }));

Deno.test("SqliteInventoryStore rolls the change back when its event breaks the schema", () =>
  withDir(async (dir) => {
    using store = SqliteInventoryStore.open(`${dir}/inventory.db`);
    store.seed(CONTRACT_PRODUCTS);
    const outbox = new SqliteOutbox(store.database);
    const emit = outboxEmitter(outbox, {
      stream: STREAMS.inventory,
      source: "/test",
      catalog: EventCatalog.fromContract(inventoryContract),
    });
    assert.throws(
      () =>
        store.transaction((tx) => {
          tx.setStock(new Map([["TEA", { stock: 7, version: 1 }]]));
          emit("stock.reserved", { orderId: "o-1", items: [{ sku: "TEA", stock: -1 }] });
        }),
      (e: unknown) => e instanceof BusError && e.code === "INVALID_EVENT",
    );
    assert.equal(store.getProducts(["TEA"])[0]?.stock, 10);
    assert.deepEqual(await outbox.pending(10), []);
  }));

Deno.test("SqliteInventoryStore commits a TCC hold, its event and its barrier row together", () =>
  withDir(async (dir) => {
    const path = `${dir}/inventory.db`;
    {
      using shop = outboxed(path);
      await shop.client.call("tryReserve", { txId: "o-1", items: [{ sku: "TEA", quantity: 3 }] });
      await shop.client.call("tryReserve", { txId: "o-1", items: [{ sku: "TEA", quantity: 3 }] });
      await shop.client.call("confirmReserve", { txId: "o-1" });
      await shop.client.call("tryReserve", { txId: "o-2", items: [{ sku: "MUG", quantity: 2 }] });
      await shop.client.call("cancelReserve", { txId: "o-2" });
      await shop.client.call("cancelReserve", { txId: "o-3" });
      const rows = await shop.outbox.pending(10);
      assert.deepEqual(rows.map((row) => [row.aggregate, row.event.type]), [
        ["o-1", "stock.reserved"],
        ["o-2", "stock.reserved"],
        ["o-2", "stock.released"],
      ]);
    }
    // Reopened: holds, stock and barrier rows survived, so the rules still hold.
    using shop = outboxed(path);
    assert.equal(shop.store.getProducts(["TEA"])[0]?.stock, 7);
    assert.equal(shop.store.getProducts(["MUG"])[0]?.stock, 3);
    assert.equal(shop.store.transaction((tx) => tx.getHold("o-1"))?.status, "SOLD");
    assert.deepEqual(await shop.client.call("confirmReserve", { txId: "o-1" }), {
      status: "REPLAYED",
    });
    const late = shop.client.call("tryReserve", {
      txId: "o-3",
      items: [{ sku: "TEA", quantity: 1 }],
    });
    await assert.rejects(
      late,
      (e: unknown) => e instanceof FlotillaError && e.code === "TCC_TRY_AFTER_CANCEL",
    );
    const barrier = shop.store.database.prepare(
      "SELECT tx_id, state FROM tcc_barrier ORDER BY tx_id",
    ).all();
    assert.deepEqual(barrier.map((row) => [row.tx_id, row.state]), [
      ["o-1", "CONFIRMED"],
      ["o-2", "CANCELLED"],
      ["o-3", "CANCELLED"],
    ]);
  }));

Deno.test("SqliteInventoryStore rolls a TCC Try and its barrier row back when the emitter throws", () =>
  withDir(async (dir) => {
    let failing = true;
    using shop = outboxed(`${dir}/inventory.db`, (outbox) => {
      const emit = outboxEmitter(outbox, { stream: STREAMS.inventory, source: "/test" });
      return (type, data, options) => {
        emit(type, data, options);
        if (failing) throw new Error("crashed after writing the event");
      };
    });
    const request = { txId: "o-1", items: [{ sku: "TEA", quantity: 4 }] };
    await assert.rejects(shop.client.call("tryReserve", request), FlotillaError);
    assert.equal(shop.store.getProducts(["TEA"])[0]?.stock, 10);
    assert.equal(shop.store.transaction((tx) => tx.getHold("o-1")), undefined);
    assert.deepEqual(await shop.outbox.pending(10), []);
    failing = false;
    assert.deepEqual(await shop.client.call("tryReserve", request), { status: "TRIED" });
  }));
