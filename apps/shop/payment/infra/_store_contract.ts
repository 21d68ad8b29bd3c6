/**
 * Behaviour every {@link PaymentStore} must have, as a test suite that each
 * adapter's test runs against itself. Private to `infra/`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ManualClock } from "@flotilla/core";
import type { Customer } from "../../contracts/mod.ts";
import type { PaymentStore, PaymentTransaction } from "../app/ports.ts";

/** Customers the suite starts each store with. */
export const CONTRACT_CUSTOMERS: readonly Customer[] = [
  { id: "bob", name: "Bob", balance: 200 },
  { id: "alice", name: "Alice", balance: 1_000 },
];

/** Registers the store contract's tests; `open` returns a fresh store holding {@link CONTRACT_CUSTOMERS}. */
export function testPaymentStoreContract(
  name: string,
  open: () => Promise<PaymentStore>,
): void {
  const test = (title: string, body: (store: PaymentStore) => void) =>
    Deno.test(`${name} ${title}`, async () => {
      const store = await open();
      try {
        body(store);
      } finally {
        store.close();
      }
    });

  test("listCustomers() returns every customer ordered by id", (store) => {
    assert.deepEqual(store.listCustomers(), [CONTRACT_CUSTOMERS[1], CONTRACT_CUSTOMERS[0]]);
  });

  test("getCustomer() returns the customer or undefined", (store) => {
    assert.deepEqual(store.getCustomer("bob"), CONTRACT_CUSTOMERS[0]);
    assert.equal(store.getCustomer("mallory"), undefined);
  });

  test("transaction() keeps what the work wrote", (store) => {
    store.transaction((tx) => {
      assert.equal(tx.getCustomer("alice")?.balance, 1_000);
      assert.deepEqual(tx.getWallet("alice"), { balance: 1_000, version: 0 });
      assert.equal(tx.getWallet("mallory"), undefined);
      tx.setBalance("alice", { balance: 150, version: 1 });
      tx.savePayment({
        orderId: "o-1",
        status: "CHARGED",
        terms: { customerId: "alice", amount: 850 },
      });
      tx.savePayment({ orderId: "o-2", status: "VOIDED", terms: undefined });
    });
    assert.equal(store.getCustomer("alice")?.balance, 150);
    assert.deepEqual(store.transaction((tx) => tx.getWallet("alice")), {
      balance: 150,
      version: 1,
    });
    store.transaction((tx) => {
      assert.deepEqual(tx.getPayment("o-1"), {
        orderId: "o-1",
        status: "CHARGED",
        terms: { customerId: "alice", amount: 850 },
      });
      assert.deepEqual(tx.getPayment("o-2"), {
        orderId: "o-2",
        status: "VOIDED",
        terms: undefined,
      });
      assert.equal(tx.getPayment("o-3"), undefined);
      tx.savePayment({
        orderId: "o-1",
        status: "REFUNDED",
        terms: { customerId: "alice", amount: 850 },
      });
    });
    assert.equal(store.transaction((tx) => tx.getPayment("o-1")?.status), "REFUNDED");
  });

  test("transaction() keeps nothing when the work throws", (store) => {
    assert.throws(
      () =>
        store.transaction((tx) => {
          tx.setBalance("alice", { balance: 1, version: 1 });
          tx.savePayment({ orderId: "o-1", status: "VOIDED", terms: undefined });
          throw new Error("boom");
        }),
      /boom/,
    );
    assert.equal(store.getCustomer("alice")?.balance, 1_000);
    assert.equal(store.transaction((tx) => tx.getWallet("alice")?.version), 0);
    assert.equal(store.transaction((tx) => tx.getPayment("o-1")), undefined);
  });

  test("transaction() refuses a negative balance and an unknown customer", (store) => {
    assert.throws(() =>
      store.transaction((tx) => tx.setBalance("alice", { balance: -1, version: 1 }))
    );
    assert.throws(() =>
      store.transaction((tx) => tx.setBalance("mallory", { balance: 1, version: 1 }))
    );
    assert.equal(store.getCustomer("alice")?.balance, 1_000);
  });

  test("transaction() refuses a balance at a version not above the stored one", (store) => {
    store.transaction((tx) => tx.setBalance("alice", { balance: 900, version: 2 }));
    for (const version of [2, 1]) {
      assert.throws(
        () => store.transaction((tx) => tx.setBalance("alice", { balance: 5, version })),
        RangeError,
      );
    }
    assert.deepEqual(store.transaction((tx) => tx.getWallet("alice")), {
      balance: 900,
      version: 2,
    });
  });

  test("transaction() keeps holds", (store) => {
    const hold = { txId: "t-1", status: "HELD" as const, customerId: "alice", amount: 300 };
    store.transaction((tx) => tx.saveHold(hold));
    assert.deepEqual(store.transaction((tx) => tx.getHold("t-1")), hold);
    store.transaction((tx) => tx.saveHold({ ...hold, status: "CHARGED" }));
    assert.equal(store.transaction((tx) => tx.getHold("t-1"))?.status, "CHARGED");
    assert.equal(store.transaction((tx) => tx.getHold("t-2")), undefined);
  });

  test("tccParticipant() runs each callback once behind the barrier, in its transaction", (store) => {
    const calls: string[] = [];
    const clock = new ManualClock(0);
    const balance = (tx: PaymentTransaction) => tx.getCustomer("alice")!.balance;
    const version = (tx: PaymentTransaction) => tx.getWallet("alice")!.version + 1;
    const barrier = store.tccParticipant<{ amount: number }>({
      name: "contract",
      tryTimeoutMs: 1_000,
      clock,
      try: (tx, { txId, input }) => {
        calls.push(`try ${txId}`);
        tx.saveHold({ txId, status: "HELD", customerId: "alice", amount: input.amount });
        if (input.amount > balance(tx)) throw new Error("refused");
        tx.setBalance("alice", { balance: balance(tx) - input.amount, version: version(tx) });
      },
      confirm: (_tx, { txId }) => void calls.push(`confirm ${txId}`),
      cancel: (tx, { txId, input }) => {
        calls.push(`cancel ${txId}`);
        tx.setBalance("alice", { balance: balance(tx) + input.amount, version: version(tx) });
      },
    });
    assert.equal(barrier.try("t-1", { amount: 400 }), "TRIED");
    assert.equal(barrier.try("t-1", { amount: 400 }), "REPLAYED");
    assert.equal(store.getCustomer("alice")?.balance, 600);
    assert.equal(barrier.confirm("t-1"), "CONFIRMED");
    assert.equal(barrier.confirm("t-1"), "REPLAYED");
    // A refused Try keeps nothing, the barrier row included: it may be tried again.
    assert.throws(() => barrier.try("t-2", { amount: 700 }), /refused/);
    assert.equal(store.getCustomer("alice")?.balance, 600);
    assert.equal(store.transaction((tx) => tx.getHold("t-2")), undefined);
    assert.equal(barrier.try("t-2", { amount: 500 }), "TRIED");
    assert.equal(barrier.cancel("t-2"), "CANCELLED");
    assert.equal(barrier.cancel("t-3"), "EMPTY_ROLLBACK");
    assert.throws(() => barrier.try("t-3", { amount: 1 }), /cancelled/);
    assert.equal(barrier.try("t-4", { amount: 1 }), "TRIED");
    clock.advance(1_000);
    assert.deepEqual(barrier.expireStale(), ["t-4"]);
    assert.equal(store.getCustomer("alice")?.balance, 600);
    assert.deepEqual(calls, [
      "try t-1",
      "confirm t-1",
      "try t-2",
      "try t-2",
      "cancel t-2",
      "try t-4",
      "cancel t-4",
    ]);
  });

  test("ping() is true while open", (store) => {
    assert.equal(store.ping(), true);
  });
}
