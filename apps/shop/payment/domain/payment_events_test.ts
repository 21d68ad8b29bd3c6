import assert from "node:assert/strict";
import { decideCharge } from "./charge.ts";
import type { Payment } from "./payment.ts";
import { decideCapture, decideHoldFunds, decideReleaseFunds } from "./hold.ts";
import { paymentEvents } from "./payment_events.ts";
import { decideRefund } from "./refund.ts";

/** A wallet holding `balance` at `version`. */
const at = (balance: number, version = 0) => ({ balance, version });

const terms = { customerId: "alice", amount: 850 };
const charged: Payment = { orderId: "o-1", status: "CHARGED", terms };

Deno.test("paymentEvents() of a charge is payment.charged with the balance left", () => {
  const decision = decideCharge({ orderId: "o-1", ...terms }, undefined, at(1_000));
  assert.deepEqual(paymentEvents(decision), [{
    type: "payment.charged",
    data: { orderId: "o-1", customerId: "alice", amount: 850, balance: 150, version: 1 },
  }]);
});

Deno.test("paymentEvents() of a refund is payment.refunded with the balance after it", () => {
  const decision = decideRefund("o-1", charged, at(150, 1));
  assert.deepEqual(paymentEvents(decision), [{
    type: "payment.refunded",
    data: { orderId: "o-1", customerId: "alice", amount: 850, balance: 1_000, version: 2 },
  }]);
});

Deno.test("paymentEvents() of a decision that moves no money is empty", () => {
  const request = { orderId: "o-1", ...terms };
  const declined: Payment = { ...charged, status: "DECLINED" };
  const refunded: Payment = { ...charged, status: "REFUNDED" };
  const decisions = [
    decideCharge(request, charged, at(1_000)), // replay
    decideCharge({ ...request, amount: 1 }, charged, at(1_000)), // mismatch
    decideCharge(request, refunded, at(1_000)), // voided
    decideCharge(request, undefined, undefined), // unknown customer
    decideCharge(request, undefined, at(849)), // decline
    decideRefund("o-1", undefined, undefined), // void
    decideRefund("o-1", declined, undefined), // void
    decideRefund("o-1", refunded, at(1_000)), // replay
  ];
  assert.deepEqual(decisions.map((d) => d.type), [
    "replay",
    "mismatch",
    "voided",
    "unknown_customer",
    "decline",
    "void",
    "void",
    "replay",
  ]);
  for (const decision of decisions) assert.deepEqual(paymentEvents(decision), []);
});

Deno.test("paymentEvents() of a TCC hold is payment.held, of its capture payment.charged, of its release payment.released", () => {
  const hold = decideHoldFunds({ txId: "o-7", customerId: "alice", amount: 300 }, at(1_000));
  assert.deepEqual(paymentEvents(hold), [{
    type: "payment.held",
    data: { orderId: "o-7", customerId: "alice", amount: 300, balance: 700, version: 1 },
  }]);
  assert.ok(hold.type === "hold");
  assert.deepEqual(paymentEvents(decideCapture(hold.hold, at(650, 2))), [{
    type: "payment.charged",
    data: { orderId: "o-7", customerId: "alice", amount: 300, balance: 650, version: 2 },
  }]);
  assert.deepEqual(paymentEvents(decideReleaseFunds(hold.hold, at(700, 1))), [{
    type: "payment.released",
    data: { orderId: "o-7", customerId: "alice", amount: 300, balance: 1_000, version: 2 },
  }]);
  assert.deepEqual(
    paymentEvents(decideHoldFunds({ txId: "o-8", customerId: "alice", amount: 5 }, at(4))),
    [],
  );
  assert.deepEqual(paymentEvents(decideCapture(undefined, undefined)), []);
});
