import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { BusError, EventCatalog, outboxEmitter, SqliteOutbox } from "@flotilla/bus";
import { createClient, createContext, FlotillaError, localCallHandler } from "@flotilla/core";
import { paymentContract, STREAMS } from "../../contracts/mod.ts";
import type { Emit } from "../app/ports.ts";
import { createPaymentService } from "../app/service.ts";
import { SqlitePaymentStore } from "./sqlite_payment_store.ts";
import { CONTRACT_CUSTOMERS, testPaymentStoreContract } from "./_store_contract.ts";

testPaymentStoreContract("SqlitePaymentStore", async () => {
  const dir = await Deno.makeTempDir({ prefix: "payment-" });
  const store = SqlitePaymentStore.open(`${dir}/payment.db`);
  store.seed(CONTRACT_CUSTOMERS);
  return {
    listCustomers: () => store.listCustomers(),
    getCustomer: (id) => store.getCustomer(id),
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
  const dir = await Deno.makeTempDir({ prefix: "payment-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("SqlitePaymentStore.open() adds the balance version to a database of an earlier version", () =>
  withDir((dir) => {
    const path = `${dir}/payment.db`;
    // The customers table as releases before balance versions wrote it, with data.
    const old = new DatabaseSync(path);
    old.exec(`CREATE TABLE customers (
      id TEXT PRIMARY KEY, name TEXT NOT NULL, balance INTEGER NOT NULL CHECK (balance >= 0)
    ) STRICT;
    INSERT INTO customers VALUES ('alice', 'Alice', 600)`);
    old.close();
    {
      using store = SqlitePaymentStore.open(path);
      assert.deepEqual(store.getCustomer("alice"), { id: "alice", name: "Alice", balance: 600 });
      assert.deepEqual(store.transaction((tx) => tx.getWallet("alice")), {
        balance: 600,
        version: 0,
      });
      store.transaction((tx) => tx.setBalance("alice", { balance: 500, version: 1 }));
    }
    // The next open finds the column and keeps it as it is.
    using store = SqlitePaymentStore.open(path);
    assert.deepEqual(store.transaction((tx) => tx.getWallet("alice")), {
      balance: 500,
      version: 1,
    });
  }));

Deno.test("SqlitePaymentStore.seed() writes on the first start only", () =>
  withDir((dir) => {
    const path = `${dir}/payment.db`;
    {
      using store = SqlitePaymentStore.open(path);
      assert.equal(store.seed(CONTRACT_CUSTOMERS), true);
      store.transaction((tx) => tx.setBalance("alice", { balance: 5, version: 1 }));
    }
    using store = SqlitePaymentStore.open(path);
    assert.equal(store.seed(CONTRACT_CUSTOMERS), false);
    assert.equal(store.getCustomer("alice")?.balance, 5);
  }));

Deno.test("SqlitePaymentStore keeps payments across a reopen", () =>
  withDir((dir) => {
    const path = `${dir}/payment.db`;
    {
      using store = SqlitePaymentStore.open(path);
      store.seed(CONTRACT_CUSTOMERS);
      store.transaction((tx) =>
        tx.savePayment({
          orderId: "o-1",
          status: "DECLINED",
          terms: { customerId: "bob", amount: 900 },
        })
      );
    }
    using store = SqlitePaymentStore.open(path);
    assert.deepEqual(store.transaction((tx) => tx.getPayment("o-1")), {
      orderId: "o-1",
      status: "DECLINED",
      terms: { customerId: "bob", amount: 900 },
    });
  }));

Deno.test("SqlitePaymentStore refuses a payment row that breaks its constraints", () =>
  withDir((dir) => {
    using store = SqlitePaymentStore.open(`${dir}/payment.db`);
    assert.throws(() =>
      store.transaction((tx) =>
        tx.savePayment({ orderId: "o-1", status: "CHARGED", terms: undefined })
      )
    );
  }));

Deno.test("SqlitePaymentStore.open() sets WAL mode", () =>
  withDir((dir) => {
    const path = `${dir}/payment.db`;
    SqlitePaymentStore.open(path).close();
    const db = new DatabaseSync(path);
    try {
      assert.equal(db.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
    } finally {
      db.close();
    }
  }));

Deno.test("SqlitePaymentStore.ping() is false once closed", () =>
  withDir((dir) => {
    const store = SqlitePaymentStore.open(`${dir}/payment.db`);
    store.close();
    assert.equal(store.ping(), false);
  }));

/** The service on a SQLite store whose events go to the outbox of the store's database. */
function outboxed(path: string, emit?: (outbox: SqliteOutbox) => Emit) {
  const store = SqlitePaymentStore.open(path);
  store.seed(CONTRACT_CUSTOMERS);
  const outbox = new SqliteOutbox(store.database);
  const service = createPaymentService({
    store,
    emit: emit?.(outbox) ?? outboxEmitter(outbox, {
      stream: STREAMS.payment,
      source: "/flotilla/payment",
      catalog: EventCatalog.fromContract(paymentContract),
    }),
  });
  const client = createClient(paymentContract, localCallHandler(service), { caller: "test" });
  return { store, outbox, client, [Symbol.dispose]: () => store.close() };
}

Deno.test("SqlitePaymentStore commits the money move and its outbox event together", () =>
  withDir(async (dir) => {
    const path = `${dir}/payment.db`;
    {
      using shop = outboxed(path);
      using ctx = createContext({ service: "order", action: "placeOrder" });
      const request = { orderId: "o-1", customerId: "alice", amount: 850 };
      await shop.client.call("charge", request, { ctx });
      await shop.client.call("charge", request, { ctx });
      await shop.client.call("charge", { orderId: "o-2", customerId: "bob", amount: 201 });
      await shop.client.call("refund", { orderId: "o-1" });
      await shop.client.call("refund", { orderId: "o-1" });
      await shop.client.call("refund", { orderId: "o-2" });
      const rows = await shop.outbox.pending(10);
      assert.deepEqual(rows.map((row) => [row.stream, row.aggregate, row.event.type]), [
        [STREAMS.payment, "o-1", "payment.charged"],
        [STREAMS.payment, "o-1", "payment.refunded"],
      ]);
      assert.deepEqual(rows[0]?.event.data, {
        orderId: "o-1",
        customerId: "alice",
        amount: 850,
        balance: 150,
        version: 1,
      });
      assert.equal(rows[0]?.event.subject, "o-1");
      assert.equal(rows[0]?.event.traceparent?.split("-")[1], ctx.trace.traceId);
      assert.deepEqual(rows[1]?.event.data, {
        orderId: "o-1",
        customerId: "alice",
        amount: 850,
        balance: 1_000,
        version: 2,
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

Deno.test("SqlitePaymentStore rolls the money move back when the emitter throws", () =>
  withDir(async (dir) => {
    let failing = false;
    using shop = outboxed(`${dir}/payment.db`, (outbox) => {
      const emit = outboxEmitter(outbox, { stream: STREAMS.payment, source: "/test" });
      return (type, data, options) => {
        emit(type, data, options);
        if (failing) throw new Error("crashed after writing the event");
      };
    });
    await shop.client.call("charge", { orderId: "o-1", customerId: "alice", amount: 100 });
    failing = true;
    await assert.rejects(
      shop.client.call("charge", { orderId: "o-2", customerId: "alice", amount: 200 }),
      FlotillaError,
    );
    await assert.rejects(shop.client.call("refund", { orderId: "o-1" }), FlotillaError);
    assert.equal(shop.store.getCustomer("alice")?.balance, 900);
    assert.equal(shop.store.transaction((tx) => tx.getPayment("o-2")), undefined);
    assert.equal(shop.store.transaction((tx) => tx.getPayment("o-1"))?.status, "CHARGED");
    assert.deepEqual((await shop.outbox.pending(10)).map((row) => row.aggregate), ["o-1"]);
  }));

Deno.test("SqlitePaymentStore rolls the change back when its event breaks the schema", () =>
  withDir(async (dir) => {
    using store = SqlitePaymentStore.open(`${dir}/payment.db`);
    store.seed(CONTRACT_CUSTOMERS);
    const outbox = new SqliteOutbox(store.database);
    const emit = outboxEmitter(outbox, {
      stream: STREAMS.payment,
      source: "/test",
      catalog: EventCatalog.fromContract(paymentContract),
    });
    assert.throws(
      () =>
        store.transaction((tx) => {
          tx.setBalance("alice", { balance: 150, version: 1 });
          emit("payment.charged", { orderId: "o-1", customerId: "alice", amount: -850 });
        }),
      (e: unknown) => e instanceof BusError && e.code === "INVALID_EVENT",
    );
    assert.equal(store.getCustomer("alice")?.balance, 1_000);
    assert.deepEqual(await outbox.pending(10), []);
  }));

Deno.test("SqlitePaymentStore commits a TCC hold, its events and its barrier row together", () =>
  withDir(async (dir) => {
    const path = `${dir}/payment.db`;
    {
      using shop = outboxed(path);
      await shop.client.call("tryCharge", { txId: "o-1", customerId: "alice", amount: 300 });
      await shop.client.call("tryCharge", { txId: "o-1", customerId: "alice", amount: 300 });
      await shop.client.call("confirmCharge", { txId: "o-1" });
      await shop.client.call("tryCharge", { txId: "o-2", customerId: "bob", amount: 50 });
      await shop.client.call("cancelCharge", { txId: "o-2" });
      await shop.client.call("cancelCharge", { txId: "o-3" });
      const rows = await shop.outbox.pending(10);
      assert.deepEqual(rows.map((row) => [row.aggregate, row.event.type, row.event.data]), [
        ["o-1", "payment.held", {
          orderId: "o-1",
          customerId: "alice",
          amount: 300,
          balance: 700,
          version: 1,
        }],
        ["o-1", "payment.charged", {
          orderId: "o-1",
          customerId: "alice",
          amount: 300,
          balance: 700,
          version: 1,
        }],
        ["o-2", "payment.held", {
          orderId: "o-2",
          customerId: "bob",
          amount: 50,
          balance: 150,
          version: 1,
        }],
        ["o-2", "payment.released", {
          orderId: "o-2",
          customerId: "bob",
          amount: 50,
          balance: 200,
          version: 2,
        }],
      ]);
    }
    using shop = outboxed(path);
    assert.equal(shop.store.getCustomer("alice")?.balance, 700);
    assert.equal(shop.store.getCustomer("bob")?.balance, 200);
    assert.equal(shop.store.transaction((tx) => tx.getHold("o-1"))?.status, "CHARGED");
    assert.deepEqual(await shop.client.call("confirmCharge", { txId: "o-1" }), {
      status: "REPLAYED",
    });
    await assert.rejects(
      shop.client.call("tryCharge", { txId: "o-3", customerId: "bob", amount: 1 }),
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

Deno.test("SqlitePaymentStore rolls a TCC Try and its barrier row back when the emitter throws", () =>
  withDir(async (dir) => {
    let failing = true;
    using shop = outboxed(`${dir}/payment.db`, (outbox) => {
      const emit = outboxEmitter(outbox, { stream: STREAMS.payment, source: "/test" });
      return (type, data, options) => {
        emit(type, data, options);
        if (failing) throw new Error("crashed after writing the event");
      };
    });
    const request = { txId: "o-1", customerId: "alice", amount: 400 };
    await assert.rejects(shop.client.call("tryCharge", request), FlotillaError);
    assert.equal(shop.store.getCustomer("alice")?.balance, 1_000);
    assert.equal(shop.store.transaction((tx) => tx.getHold("o-1")), undefined);
    assert.deepEqual(await shop.outbox.pending(10), []);
    failing = false;
    assert.deepEqual(await shop.client.call("tryCharge", request), { status: "TRIED" });
  }));
