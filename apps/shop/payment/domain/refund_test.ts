import assert from "node:assert/strict";
import type { Payment } from "./payment.ts";
import { decideRefund } from "./refund.ts";

/** A wallet holding `balance` at `version`. */
const at = (balance: number, version = 0) => ({ balance, version });

const terms = { customerId: "alice", amount: 850 };

Deno.test("decideRefund() credits a charge back", () => {
  const charged: Payment = { orderId: "o-1", status: "CHARGED", terms };
  assert.deepEqual(decideRefund("o-1", charged, at(150, 7)), {
    type: "refund",
    customerId: "alice",
    balance: 1_000,
    version: 8,
    payment: { ...charged, status: "REFUNDED" },
  });
});

Deno.test("decideRefund() voids an order that was never charged", () => {
  assert.deepEqual(decideRefund("o-1", undefined, undefined), {
    type: "void",
    payment: { orderId: "o-1", status: "VOIDED", terms: undefined },
  });
});

Deno.test("decideRefund() voids a declined order and keeps its terms", () => {
  const declined: Payment = { orderId: "o-1", status: "DECLINED", terms };
  assert.deepEqual(decideRefund("o-1", declined, at(0)), {
    type: "void",
    payment: { ...declined, status: "VOIDED" },
  });
});

Deno.test("decideRefund() changes nothing once refunded or voided", () => {
  for (const status of ["REFUNDED", "VOIDED"] as const) {
    const existing: Payment = { orderId: "o-1", status, terms };
    assert.deepEqual(decideRefund("o-1", existing, at(0)), { type: "replay", payment: existing });
  }
});

Deno.test("decideRefund() refuses to guess when the charged customer is gone", () => {
  const charged: Payment = { orderId: "o-1", status: "CHARGED", terms };
  assert.throws(() => decideRefund("o-1", charged, undefined), /customer it charged is gone/);
});
