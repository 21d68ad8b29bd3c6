import assert from "node:assert/strict";
import { decideCapture, decideHoldFunds, decideReleaseFunds, type PaymentHold } from "./hold.ts";

Deno.test("decideHoldFunds() takes the amount from the balance", () => {
  assert.deepEqual(decideHoldFunds({ txId: "o-1", customerId: "alice", amount: 850 }, 1_000), {
    type: "hold",
    balance: 150,
    hold: { txId: "o-1", status: "HELD", customerId: "alice", amount: 850 },
  });
  assert.equal(
    decideHoldFunds({ txId: "o-1", customerId: "alice", amount: 1_000 }, 1_000).type,
    "hold",
  );
});

Deno.test("decideHoldFunds() refuses a short balance and an unknown customer", () => {
  const request = { txId: "o-1", customerId: "alice", amount: 850 };
  assert.deepEqual(decideHoldFunds(request, 849), { type: "insufficient_funds" });
  assert.deepEqual(decideHoldFunds(request, undefined), { type: "unknown_customer" });
});

const held: PaymentHold = { txId: "o-1", status: "HELD", customerId: "alice", amount: 300 };

Deno.test("decideCapture() charges a held hold without moving the balance", () => {
  assert.deepEqual(decideCapture(held, 700), {
    type: "capture",
    balance: 700,
    hold: { ...held, status: "CHARGED" },
  });
  assert.deepEqual(decideCapture({ ...held, status: "RELEASED" }, 700), { type: "noop" });
  assert.deepEqual(decideCapture(undefined, undefined), { type: "noop" });
  assert.throws(() => decideCapture(held, undefined), /gone/);
});

Deno.test("decideReleaseFunds() puts a held amount back on the balance", () => {
  assert.deepEqual(decideReleaseFunds(held, 700), {
    type: "release_funds",
    balance: 1_000,
    hold: { ...held, status: "RELEASED" },
  });
  assert.deepEqual(decideReleaseFunds({ ...held, status: "CHARGED" }, 700), { type: "noop" });
  assert.deepEqual(decideReleaseFunds(undefined, undefined), { type: "noop" });
  assert.throws(() => decideReleaseFunds(held, undefined), /gone/);
});
