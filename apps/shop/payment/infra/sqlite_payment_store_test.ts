import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
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

Deno.test("SqlitePaymentStore.seed() writes on the first start only", () =>
  withDir((dir) => {
    const path = `${dir}/payment.db`;
    {
      using store = SqlitePaymentStore.open(path);
      assert.equal(store.seed(CONTRACT_CUSTOMERS), true);
      store.transaction((tx) => tx.setBalance("alice", 5));
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
