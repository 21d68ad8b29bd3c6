import assert from "node:assert/strict";
import fc from "fast-check";
import { decideCharge } from "./charge.ts";
import type { Payment, Wallet } from "./payment.ts";
import { decideRefund } from "./refund.ts";

const CUSTOMERS = ["alice", "bob"] as const;

const operation = fc.oneof(
  fc.record({
    type: fc.constant("charge" as const),
    orderId: fc.integer({ min: 0, max: 9 }).map(String),
    customerId: fc.constantFrom(...CUSTOMERS),
    amount: fc.integer({ min: 0, max: 600 }),
  }),
  fc.record({
    type: fc.constant("refund" as const),
    orderId: fc.integer({ min: 0, max: 9 }).map(String),
  }),
);

Deno.test("decideCharge() and decideRefund() never make a balance negative, conserve money and move each balance one version up", () => {
  fc.assert(
    fc.property(
      fc.tuple(fc.nat(1_000), fc.nat(1_000)),
      fc.array(operation, { maxLength: 50 }),
      (initialBalances, ops) => {
        const initial = new Map<string, number>(CUSTOMERS.map((c, i) => [c, initialBalances[i]!]));
        const balances = new Map<string, Wallet>(
          CUSTOMERS.map((c) => [c, { balance: initial.get(c)!, version: 0 }]),
        );
        const payments = new Map<string, Payment>();
        for (const op of ops) {
          const existing = payments.get(op.orderId);
          if (op.type === "charge") {
            const decision = decideCharge(op, existing, balances.get(op.customerId));
            if (decision.type === "charge") {
              const before = balances.get(op.customerId)!.version;
              assert.equal(decision.version, before + 1, `version of ${op.customerId}`);
              balances.set(op.customerId, { balance: decision.balance, version: decision.version });
              payments.set(op.orderId, decision.payment);
            } else if (decision.type === "decline") {
              payments.set(op.orderId, decision.payment);
            }
          } else {
            const customerId = existing?.terms?.customerId;
            const decision = decideRefund(
              op.orderId,
              existing,
              customerId === undefined ? undefined : balances.get(customerId),
            );
            if (decision.type === "refund") {
              const before = balances.get(decision.customerId)!.version;
              assert.equal(decision.version, before + 1, `version of ${decision.customerId}`);
              balances.set(decision.customerId, {
                balance: decision.balance,
                version: decision.version,
              });
            }
            payments.set(op.orderId, decision.payment);
          }
          for (const customer of CUSTOMERS) {
            const balance = balances.get(customer)!.balance;
            assert.ok(balance >= 0, `${customer}'s balance went negative: ${balance}`);
            const charged = [...payments.values()]
              .filter((p) => p.status === "CHARGED" && p.terms?.customerId === customer)
              .reduce((sum, p) => sum + p.terms!.amount, 0);
            assert.equal(balance + charged, initial.get(customer));
          }
        }
      },
    ),
  );
});

Deno.test("decideCharge() charges an order at most once", () => {
  fc.assert(fc.property(fc.array(operation, { maxLength: 50 }), (ops) => {
    const payments = new Map<string, Payment>();
    const charges = new Map<string, number>();
    for (const op of ops) {
      const existing = payments.get(op.orderId);
      if (op.type === "charge") {
        const decision = decideCharge(op, existing, { balance: 1_000_000, version: 0 });
        if (decision.type === "charge") {
          charges.set(op.orderId, (charges.get(op.orderId) ?? 0) + 1);
          payments.set(op.orderId, decision.payment);
        }
      } else {
        payments.set(
          op.orderId,
          decideRefund(op.orderId, existing, { balance: 0, version: 0 }).payment,
        );
      }
    }
    for (const count of charges.values()) assert.equal(count, 1);
  }));
});
