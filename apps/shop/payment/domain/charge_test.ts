import assert from "node:assert/strict";
import { decideCharge } from "./charge.ts";
import type { Payment } from "./payment.ts";

/** A wallet holding `balance` at `version`. */
const at = (balance: number, version = 0) => ({ balance, version });

const request = { orderId: "o-1", customerId: "alice", amount: 850 };
const terms = { customerId: "alice", amount: 850 };

Deno.test("decideCharge() debits the balance when it covers the amount", () => {
  assert.deepEqual(decideCharge(request, undefined, at(850)), {
    type: "charge",
    balance: 0,
    version: 1,
    payment: { orderId: "o-1", status: "CHARGED", terms },
  });
});

Deno.test("decideCharge() puts the new balance one version above the wallet's", () => {
  const decision = decideCharge(request, undefined, at(1_000, 41));
  assert.equal(decision.type, "charge");
  if (decision.type === "charge") {
    assert.deepEqual(at(decision.balance, decision.version), at(150, 42));
  }
});

Deno.test("decideCharge() declines when the balance is short", () => {
  assert.deepEqual(decideCharge(request, undefined, at(849)), {
    type: "decline",
    payment: { orderId: "o-1", status: "DECLINED", terms },
  });
});

Deno.test("decideCharge() of an unknown customer is unknown_customer", () => {
  assert.deepEqual(decideCharge(request, undefined, undefined), { type: "unknown_customer" });
});

Deno.test("decideCharge() replays a charge or decline with the same terms", () => {
  for (const status of ["CHARGED", "DECLINED"] as const) {
    const existing: Payment = { orderId: "o-1", status, terms };
    assert.deepEqual(decideCharge(request, existing, at(1_000_000)), {
      type: "replay",
      payment: existing,
    });
  }
});

Deno.test("decideCharge() flags other terms for the same order as a mismatch", () => {
  const existing: Payment = { orderId: "o-1", status: "CHARGED", terms };
  assert.equal(decideCharge({ ...request, amount: 851 }, existing, at(1_000)).type, "mismatch");
  assert.equal(
    decideCharge({ ...request, customerId: "bob" }, existing, at(1_000)).type,
    "mismatch",
  );
});

Deno.test("decideCharge() refuses an order that was refunded or voided", () => {
  for (
    const existing of [
      { orderId: "o-1", status: "REFUNDED", terms },
      { orderId: "o-1", status: "VOIDED", terms: undefined },
    ] satisfies Payment[]
  ) {
    assert.deepEqual(decideCharge(request, existing, at(1_000)), {
      type: "voided",
      payment: existing,
    });
  }
});
