import assert from "node:assert/strict";
import fc from "fast-check";
import { FlotillaError, ManualClock } from "@flotilla/core";
import { MemoryPaymentStore } from "../infra/memory_payment_store.ts";
import { SqlitePaymentStore } from "../infra/sqlite_payment_store.ts";
import type { PaymentStore } from "./ports.ts";
import { PaymentHolds } from "./payment_holds.ts";

const CUSTOMERS = ["alice", "bob"] as const;
const TX_IDS = ["0", "1", "2", "3", "4", "5"];
const TIMEOUT_MS = 1_000;

const txId = fc.constantFrom(...TX_IDS);
const times = fc.integer({ min: 1, max: 3 }); // 2-3: replays of the same call
const operation = fc.oneof(
  fc.record({
    type: fc.constant("try" as const),
    txId,
    customerId: fc.constantFrom(...CUSTOMERS, "mallory"),
    amount: fc.integer({ min: 0, max: 600 }),
    times,
  }),
  fc.record({ type: fc.constant("confirm" as const), txId, times }),
  fc.record({ type: fc.constant("cancel" as const), txId, times }),
  // Saga-style charges and refunds on other order ids share the balances.
  fc.record({
    type: fc.constant("charge" as const),
    orderId: fc.constantFrom("s-0", "s-1"),
    customerId: fc.constantFrom(...CUSTOMERS),
    amount: fc.integer({ min: 0, max: 600 }),
  }),
  fc.record({ type: fc.constant("refund" as const), orderId: fc.constantFrom("s-0", "s-1") }),
  fc.record({ type: fc.constant("tick" as const), ms: fc.integer({ min: 0, max: 700 }) }),
  fc.constant({ type: "expire" as const }),
);

const REFUSALS = new Set([
  "INSUFFICIENT_FUNDS",
  "UNKNOWN_CUSTOMER",
  "TCC_TRY_AFTER_CANCEL",
  "TCC_CONFIRM_AFTER_CANCEL",
  "TCC_CANCEL_AFTER_CONFIRM",
  "TCC_CONFIRM_WITHOUT_TRY",
]);

function check(open: (balances: readonly number[]) => PaymentStore) {
  fc.assert(fc.property(
    fc.tuple(fc.nat(1_000), fc.nat(1_000)),
    fc.array(operation, { maxLength: 40 }),
    (balances, ops) => {
      const store = open(balances);
      try {
        const clock = new ManualClock(0);
        const holds = new PaymentHolds({ store, clock, timeoutMs: TIMEOUT_MS });
        const cancelled = new Set<string>();
        const confirmed = new Set<string>();
        for (const op of ops) {
          switch (op.type) {
            case "tick":
              clock.advance(op.ms);
              continue;
            case "expire":
              for (const id of holds.expireStale()) cancelled.add(id);
              continue;
            case "charge":
            case "refund":
              sagaStep(store, op);
              continue;
          }
          for (let i = 0; i < op.times; i++) {
            try {
              if (op.type === "try") holds.try(op);
              else if (op.type === "confirm") {
                holds.confirm(op.txId);
                confirmed.add(op.txId);
              } else {
                holds.cancel(op.txId);
                cancelled.add(op.txId);
              }
            } catch (error) {
              assert.ok(error instanceof FlotillaError && REFUSALS.has(error.code), String(error));
            }
          }
        }
        const all = store.transaction((tx) => TX_IDS.flatMap((id) => tx.getHold(id) ?? []));
        for (const hold of all) {
          if (cancelled.has(hold.txId)) assert.equal(hold.status, "RELEASED");
          if (confirmed.has(hold.txId)) assert.equal(hold.status, "CHARGED");
        }
        const sagaCharged = store.transaction((tx) =>
          ["s-0", "s-1"].flatMap((id) => {
            const payment = tx.getPayment(id);
            return payment?.status === "CHARGED" && payment.terms ? [payment.terms] : [];
          })
        );
        CUSTOMERS.forEach((customer, i) => {
          const sum = (status: string) =>
            all.filter((h) => h.status === status && h.customerId === customer)
              .reduce((total, h) => total + h.amount, 0);
          const charged = sagaCharged.filter((t) => t.customerId === customer)
            .reduce((total, t) => total + t.amount, 0);
          const balance = store.getCustomer(customer)!.balance;
          assert.ok(balance >= 0, `${customer}'s balance went negative: ${balance}`);
          // balance + held + charged (TCC and saga; refunded and released amounts are back in
          // the balance) = initial
          assert.equal(balance + sum("HELD") + sum("CHARGED") + charged, balances[i], customer);
        });
      } finally {
        store.close();
      }
    },
  ));
}

/** A saga charge or refund through the store, as the service's `charge` / `refund` do. */
function sagaStep(
  store: PaymentStore,
  op:
    | { type: "charge"; orderId: string; customerId: string; amount: number }
    | { type: "refund"; orderId: string },
): void {
  store.transaction((tx) => {
    const existing = tx.getPayment(op.orderId);
    if (op.type === "charge") {
      const wallet = tx.getWallet(op.customerId)!;
      if (existing || wallet.balance < op.amount) return;
      tx.setBalance(op.customerId, {
        balance: wallet.balance - op.amount,
        version: wallet.version + 1,
      });
      tx.savePayment({ orderId: op.orderId, status: "CHARGED", terms: op });
    } else if (existing?.status === "CHARGED" && existing.terms) {
      const { customerId, amount } = existing.terms;
      const wallet = tx.getWallet(customerId)!;
      tx.setBalance(customerId, { balance: wallet.balance + amount, version: wallet.version + 1 });
      tx.savePayment({ ...existing, status: "REFUNDED" });
    }
  });
}

const customers = (balances: readonly number[]) =>
  CUSTOMERS.map((id, i) => ({ id, name: id, balance: balances[i]! }));

Deno.test("PaymentHolds conserve money over random Try/Confirm/Cancel/replays/expiry (memory): balance + held + charged = initial", () => {
  check((balances) => new MemoryPaymentStore(customers(balances)));
});

Deno.test("PaymentHolds conserve money over random Try/Confirm/Cancel/replays/expiry (SQLite)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "payment-tcc-" });
  let n = 0;
  try {
    check((balances) => {
      const store = SqlitePaymentStore.open(`${dir}/payment-${n++}.db`);
      store.seed(customers(balances));
      return store;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
