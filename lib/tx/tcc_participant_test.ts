import assert from "node:assert/strict";
import { ManualClock } from "@flotilla/core";
import { RejectedError, TxError } from "./errors.ts";
import { stockParticipant } from "./_test_stock.ts";

const code = (c: string) => (error: unknown) => error instanceof TxError && error.code === c;

Deno.test("SqliteTccParticipant.try() reserves in the barrier's transaction; a refusal keeps nothing", () => {
  const stock = stockParticipant({ available: 3 });
  assert.equal(stock.participant.try("tx-1", { sku: "TEA", quantity: 2 }), "TRIED");
  assert.equal(stock.available(), 1);
  assert.equal(stock.held(), 2);
  assert.equal(stock.participant.status("tx-1"), "TRIED");
  assert.throws(() => stock.participant.try("tx-2", { sku: "TEA", quantity: 5 }), RejectedError);
  assert.equal(
    stock.participant.status("tx-2"),
    undefined,
    "the barrier rolled back with the refusal",
  );
  assert.equal(stock.available(), 1);
});

Deno.test("SqliteTccParticipant: empty rollback — a Cancel for a Try the network swallowed records a cancel barrier and succeeds", () => {
  const stock = stockParticipant();
  // The Try never arrived; the coordinator cancels.
  assert.equal(stock.participant.cancel("tx-1"), "EMPTY_ROLLBACK");
  assert.equal(stock.calls.cancel, 0, "the business cancel does not run for nothing");
  assert.equal(stock.available(), 10);
  assert.equal(stock.participant.status("tx-1"), "CANCELLED");
  assert.equal(stock.participant.cancel("tx-1"), "REPLAYED");
});

Deno.test("SqliteTccParticipant: hanging — a Try held past the timeout arrives after Cancel, is refused and changes nothing", () => {
  const stock = stockParticipant();
  assert.equal(stock.participant.cancel("tx-1"), "EMPTY_ROLLBACK");
  assert.throws(
    () => stock.participant.try("tx-1", { sku: "TEA", quantity: 4 }),
    code("TCC_TRY_AFTER_CANCEL"),
  );
  assert.equal(stock.calls.try, 0);
  assert.equal(stock.available(), 10);
  assert.equal(stock.held(), 0);
  assert.equal(stock.participant.status("tx-1"), "CANCELLED");
});

Deno.test("SqliteTccParticipant: Try, Confirm and Cancel replayed three times take effect once", () => {
  const stock = stockParticipant();
  for (let i = 0; i < 3; i++) {
    assert.equal(
      stock.participant.try("tx-1", { sku: "TEA", quantity: 2 }),
      i === 0 ? "TRIED" : "REPLAYED",
    );
  }
  for (let i = 0; i < 3; i++) {
    assert.equal(stock.participant.confirm("tx-1"), i === 0 ? "CONFIRMED" : "REPLAYED");
  }
  assert.deepEqual(stock.calls, { try: 1, confirm: 1, cancel: 0 });
  assert.equal(stock.available(), 8);
  assert.equal(stock.sold(), 2);
  assert.equal(stock.held(), 0);

  stock.participant.try("tx-2", { sku: "TEA", quantity: 3 });
  for (let i = 0; i < 3; i++) {
    assert.equal(stock.participant.cancel("tx-2"), i === 0 ? "CANCELLED" : "REPLAYED");
  }
  assert.deepEqual(stock.calls, { try: 2, confirm: 1, cancel: 1 });
  assert.equal(stock.available(), 8);
  assert.equal(stock.held(), 0);
});

Deno.test("SqliteTccParticipant refuses Confirm after Cancel and Cancel after Confirm, changing nothing", () => {
  const stock = stockParticipant();
  stock.participant.try("tx-1", { sku: "TEA", quantity: 2 });
  stock.participant.cancel("tx-1");
  assert.throws(() => stock.participant.confirm("tx-1"), code("TCC_CONFIRM_AFTER_CANCEL"));
  assert.equal(stock.sold(), 0);
  assert.equal(stock.available(), 10);
  assert.equal(stock.participant.status("tx-1"), "CANCELLED");

  stock.participant.try("tx-2", { sku: "TEA", quantity: 1 });
  stock.participant.confirm("tx-2");
  assert.throws(() => stock.participant.cancel("tx-2"), code("TCC_CANCEL_AFTER_CONFIRM"));
  assert.equal(stock.available(), 9);
  assert.equal(stock.sold(), 1);

  assert.throws(() => stock.participant.confirm("never"), code("TCC_CONFIRM_WITHOUT_TRY"));
  const refusal = (() => {
    try {
      stock.participant.confirm("tx-1");
    } catch (error) {
      return error as TxError;
    }
  })();
  assert.equal(refusal?.retryable, false);
});

Deno.test("SqliteTccParticipant.expireStale() cancels reservations whose coordinator vanished; a late Confirm is refused", () => {
  const clock = new ManualClock(0);
  const stock = stockParticipant({ clock, tryTimeoutMs: 1_000 });
  stock.participant.try("old", { sku: "TEA", quantity: 2 });
  clock.advance(600);
  stock.participant.try("young", { sku: "TEA", quantity: 3 });
  stock.participant.try("done", { sku: "TEA", quantity: 1 });
  stock.participant.confirm("done");
  assert.deepEqual(stock.participant.expireStale(999), []);
  assert.deepEqual(stock.participant.expireStale(1_000), ["old"]);
  assert.equal(stock.available(), 10 - 3 - 1);
  assert.throws(() => stock.participant.confirm("old"), code("TCC_CONFIRM_AFTER_CANCEL"));
  assert.throws(
    () => stock.participant.try("old", { sku: "TEA", quantity: 2 }),
    code("TCC_TRY_AFTER_CANCEL"),
  );
  clock.advance(1_000);
  assert.deepEqual(stock.participant.expireStale(), ["young"]);
  assert.equal(stock.available(), 9);
  assert.equal(stock.participant.status("done"), "CONFIRMED");
});

Deno.test("SqliteTccParticipant rejects a bad table name or timeout", () => {
  assert.throws(() => stockParticipant({ tryTimeoutMs: 0 }), RangeError);
});
