import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { BusError, EventCatalog, outboxEmitter, SqliteOutbox } from "@flotilla/bus";
import { newTrace } from "@flotilla/core";
import { orderContract, STREAMS } from "../../contracts/mod.ts";
import { beginCancel, cancelOrder, confirmOrder } from "../domain/order.ts";
import { SqliteOrderStore } from "./sqlite_order_store.ts";
import { sampleOrder, testOrderStoreContract } from "./_store_contract.ts";

testOrderStoreContract("SqliteOrderStore", async () => {
  const dir = await Deno.makeTempDir({ prefix: "order-" });
  const store = SqliteOrderStore.open(`${dir}/order.db`);
  return {
    create: (order, idempotency, options) => store.create(order, idempotency, options),
    findByIdempotencyKey: (key) => store.findByIdempotencyKey(key),
    get: (orderId) => store.get(orderId),
    update: (orderId, change, options) => store.update(orderId, change, options),
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

/** The outbox of `store`'s database and an emitter into it that checks the order events' schemas. */
function outboxOf(store: SqliteOrderStore) {
  const outbox = new SqliteOutbox(store.database);
  const emit = outboxEmitter(outbox, {
    stream: STREAMS.order,
    source: "/flotilla/order",
    catalog: EventCatalog.fromContract(orderContract),
  });
  return { outbox, emit };
}

Deno.test("SqliteOrderStore commits each order change and its outbox event together", () =>
  withDir(async (dir) => {
    const path = `${dir}/order.db`;
    const trace = newTrace();
    {
      using store = SqliteOrderStore.open(path);
      const { outbox, emit } = outboxOf(store);
      const options = { emit, trace };
      store.create(sampleOrder("o-1", "alice", "t0"), { key: "k", fingerprint: "fp" }, options);
      store.create(sampleOrder("o-9", "alice", "t0"), { key: "k", fingerprint: "fp" }, options);
      store.update("o-1", (o) => confirmOrder(o, "t1"), options);
      store.update("o-1", (o) => confirmOrder(o, "t2"), options);
      store.create(sampleOrder("o-2", "bob", "t0"), undefined, options);
      store.update("o-2", (o) => beginCancel(o, "INSUFFICIENT_FUNDS", "t1"), options);
      store.update("o-2", (o) => cancelOrder(o, "INSUFFICIENT_FUNDS", "t2"), options);
      const rows = await outbox.pending(10);
      assert.deepEqual(rows.map((row) => [row.stream, row.aggregate, row.event.type]), [
        [STREAMS.order, "o-1", "order.created"],
        [STREAMS.order, "o-1", "order.confirmed"],
        [STREAMS.order, "o-2", "order.created"],
        [STREAMS.order, "o-2", "order.cancelled"],
      ]);
      assert.deepEqual(rows[0]?.event.data, {
        orderId: "o-1",
        customerId: "alice",
        items: [{ sku: "TEA", quantity: 2, price: 850 }, { sku: "MUG", quantity: 1, price: 1800 }],
        total: 3_500,
      });
      assert.deepEqual(rows[1]?.event.data, { orderId: "o-1", customerId: "alice", total: 3_500 });
      assert.deepEqual(rows[3]?.event.data, {
        orderId: "o-2",
        customerId: "bob",
        reason: "INSUFFICIENT_FUNDS",
      });
      assert.equal(rows[0]?.event.subject, "o-1");
      assert.equal(rows[0]?.event.traceparent?.split("-")[1], trace.traceId);
    }
    // Committed: another connection sees every event.
    const db = new DatabaseSync(path);
    try {
      assert.equal((await new SqliteOutbox(db).pending(10)).length, 4);
    } finally {
      db.close();
    }
  }));

Deno.test("SqliteOrderStore rolls the order change back when the emitter throws", () =>
  withDir(async (dir) => {
    using store = SqliteOrderStore.open(`${dir}/order.db`);
    const { outbox, emit } = outboxOf(store);
    store.create(sampleOrder("o-1", "alice", "t0"), undefined, { emit });
    const crashing = {
      emit: (type: string, data: unknown) => {
        emit(type, data, { subject: "o-1" });
        throw new Error("crashed after writing the event");
      },
    };
    assert.throws(
      () =>
        store.create(sampleOrder("o-2", "alice", "t0"), { key: "k", fingerprint: "fp" }, crashing),
      /crashed/,
    );
    assert.throws(() => store.update("o-1", (o) => confirmOrder(o, "t1"), crashing), /crashed/);
    assert.equal(store.get("o-2"), undefined);
    assert.equal(store.findByIdempotencyKey("k"), undefined);
    assert.equal(store.get("o-1")?.status, "PENDING");
    assert.deepEqual((await outbox.pending(10)).map((row) => row.event.type), ["order.created"]);
  }));

Deno.test("SqliteOrderStore rolls the order change back when its event breaks the schema", () =>
  withDir(async (dir) => {
    using store = SqliteOrderStore.open(`${dir}/order.db`);
    const { outbox, emit } = outboxOf(store);
    // A customer id longer than the schema allows: the insert is undone with the event.
    const order = sampleOrder("o-1", "c".repeat(65), "t0");
    assert.throws(
      () => store.create(order, undefined, { emit }),
      (e: unknown) => e instanceof BusError && e.code === "INVALID_EVENT",
    );
    assert.equal(store.get("o-1"), undefined);
    assert.deepEqual(await outbox.pending(10), []);
  }));
