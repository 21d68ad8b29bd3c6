import assert from "node:assert/strict";
import { decideCapture, decideHoldFunds, decideReleaseFunds, type PaymentHold } from "./hold.ts";

/** A wallet holding `balance` at `version`. */
const at = (balance: number, version = 0) => ({ balance, version });

Deno.test("decideHoldFunds() takes the amount from the balance", () => {
  assert.deepEqual(
    decideHoldFunds({ txId: "o-1", customerId: "alice", amount: 850 }, at(1_000, 3)),
    {
      type: "hold",
      balance: 150,
      version: 4,
      hold: { txId: "o-1", status: "HELD", customerId: "alice", amount: 850 },
    },
  );
  assert.equal(
    decideHoldFunds({ txId: "o-1", customerId: "alice", amount: 1_000 }, at(1_000)).type,
    "hold",
  );
});

Deno.test("decideHoldFunds() refuses a short balance and an unknown customer", () => {
  const request = { txId: "o-1", customerId: "alice", amount: 850 };
  assert.deepEqual(decideHoldFunds(request, at(849)), { type: "insufficient_funds" });
  assert.deepEqual(decideHoldFunds(request, undefined), { type: "unknown_customer" });
});

const held: PaymentHold = { txId: "o-1", status: "HELD", customerId: "alice", amount: 300 };

Deno.test("decideCapture() charges a held hold without moving the balance", () => {
  // The balance does not move, nor does its version: the event repeats the current figure.
  assert.deepEqual(decideCapture(held, at(700, 5)), {
    type: "capture",
    balance: 700,
    version: 5,
    hold: { ...held, status: "CHARGED" },
  });
  assert.deepEqual(decideCapture({ ...held, status: "RELEASED" }, at(700)), { type: "noop" });
  assert.deepEqual(decideCapture(undefined, undefined), { type: "noop" });
  assert.throws(() => decideCapture(held, undefined), /gone/);
});

Deno.test("decideReleaseFunds() puts a held amount back on the balance", () => {
  assert.deepEqual(decideReleaseFunds(held, at(700, 5)), {
    type: "release_funds",
    balance: 1_000,
    version: 6,
    hold: { ...held, status: "RELEASED" },
  });
  assert.deepEqual(decideReleaseFunds({ ...held, status: "CHARGED" }, at(700)), { type: "noop" });
  assert.deepEqual(decideReleaseFunds(undefined, undefined), { type: "noop" });
  assert.throws(() => decideReleaseFunds(held, undefined), /gone/);
});
