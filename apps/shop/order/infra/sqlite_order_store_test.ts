import assert from "node:assert/strict";
import { confirmOrder } from "../domain/order.ts";
import { SqliteOrderStore } from "./sqlite_order_store.ts";
import { sampleOrder, testOrderStoreContract } from "./_store_contract.ts";

testOrderStoreContract("SqliteOrderStore", async () => {
  const dir = await Deno.makeTempDir({ prefix: "order-" });
  const store = SqliteOrderStore.open(`${dir}/order.db`);
  return {
    create: (order, idempotency) => store.create(order, idempotency),
    findByIdempotencyKey: (key) => store.findByIdempotencyKey(key),
    get: (orderId) => store.get(orderId),
    update: (orderId, change) => store.update(orderId, change),
    list: (query) => store.list(query),
    listPending: () => store.listPending(),
    ping: () => store.ping(),
    close: () => {
      store.close();
      Deno.removeSync(dir, { recursive: true });
    },
  };
});

async function withDir(body: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "order-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("SqliteOrderStore keeps orders and keys across a reopen", () =>
  withDir((dir) => {
    const path = `${dir}/order.db`;
    const order = sampleOrder("o-1", "alice", "2025-01-01T00:00:00.000Z");
    {
      using store = SqliteOrderStore.open(path);
      store.create(order, { key: "k", fingerprint: "fp" });
      store.create(sampleOrder("o-2", "bob", "2025-01-01T00:00:01.000Z"));
      store.update("o-2", (o) => confirmOrder(o, "t"));
    }
    using store = SqliteOrderStore.open(path);
    assert.deepEqual(store.findByIdempotencyKey("k"), { order, fingerprint: "fp" });
    assert.deepEqual(store.listPending().map((o) => o.orderId), ["o-1"]);
    assert.equal(store.get("o-2")?.status, "CONFIRMED");
  }));

Deno.test("SqliteOrderStore lets only one of two connections take an idempotency key", () =>
  withDir((dir) => {
    const path = `${dir}/order.db`;
    using a = SqliteOrderStore.open(path);
    using b = SqliteOrderStore.open(path);
    const first = sampleOrder("o-1", "alice", "t");
    assert.equal(a.create(first, { key: "k", fingerprint: "fp" }).type, "created");
    const outcome = b.create(sampleOrder("o-2", "alice", "t"), { key: "k", fingerprint: "fp" });
    assert.deepEqual(outcome, { type: "duplicate", existing: { order: first, fingerprint: "fp" } });
    assert.equal(a.get("o-2"), undefined);
  }));

Deno.test("SqliteOrderStore.ping() is false once closed", () =>
  withDir((dir) => {
    const store = SqliteOrderStore.open(`${dir}/order.db`);
    store.close();
    assert.equal(store.ping(), false);
  }));
