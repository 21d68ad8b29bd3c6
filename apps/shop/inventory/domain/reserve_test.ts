import assert from "node:assert/strict";
import { decideReserve } from "./reserve.ts";
import type { Reservation } from "./reservation.ts";

/** A stock level at `version`. */
const at = (stock: number, version = 0) => ({ stock, version });

const stock = new Map([["TEA", at(10)], ["MUG", at(2)], ["POT", at(0)]]);
const reserved: Reservation = {
  orderId: "o-1",
  status: "RESERVED",
  items: [{ sku: "TEA", quantity: 3 }],
};

Deno.test("decideReserve() takes every line's quantity off the stock", () => {
  const decision = decideReserve(
    { orderId: "o-1", items: [{ sku: "TEA", quantity: 3 }, { sku: "MUG", quantity: 2 }] },
    undefined,
    stock,
  );
  assert.equal(decision.type, "reserve");
  if (decision.type !== "reserve") return;
  assert.deepEqual([...decision.stock], [["TEA", at(7, 1)], ["MUG", at(0, 1)]]);
  assert.deepEqual(decision.reservation, {
    orderId: "o-1",
    status: "RESERVED",
    items: [{ sku: "TEA", quantity: 3 }, { sku: "MUG", quantity: 2 }],
  });
});

Deno.test("decideReserve() rejects the whole request at the first line that lacks stock", () => {
  const decision = decideReserve(
    { orderId: "o-1", items: [{ sku: "TEA", quantity: 1 }, { sku: "MUG", quantity: 3 }] },
    undefined,
    stock,
  );
  assert.deepEqual(decision, { type: "rejected", sku: "MUG" });
  assert.deepEqual(
    decideReserve({ orderId: "o-2", items: [{ sku: "POT", quantity: 1 }] }, undefined, stock),
    { type: "rejected", sku: "POT" },
  );
});

Deno.test("decideReserve() lists every unknown sku with its line index", () => {
  const decision = decideReserve(
    {
      orderId: "o-1",
      items: [{ sku: "X", quantity: 1 }, { sku: "TEA", quantity: 1 }, { sku: "Y", quantity: 1 }],
    },
    undefined,
    stock,
  );
  assert.deepEqual(decision, {
    type: "unknown_sku",
    lines: [{ index: 0, sku: "X" }, { index: 2, sku: "Y" }],
  });
});

Deno.test("decideReserve() replays a repeat with the same items without touching stock", () => {
  const decision = decideReserve(
    { orderId: "o-1", items: [{ sku: "TEA", quantity: 3 }] },
    reserved,
    new Map([["TEA", at(0)]]),
  );
  assert.deepEqual(decision, { type: "replay", reservation: reserved });
});

Deno.test("decideReserve() flags a repeat with different items as a mismatch", () => {
  const decision = decideReserve(
    { orderId: "o-1", items: [{ sku: "TEA", quantity: 4 }] },
    reserved,
    stock,
  );
  assert.equal(decision.type, "mismatch");
});

Deno.test("decideReserve() refuses an order whose reservation was released or tombstoned", () => {
  for (const status of ["RELEASED", "TOMBSTONE"] as const) {
    const existing: Reservation = { ...reserved, status };
    const decision = decideReserve(
      { orderId: "o-1", items: [{ sku: "TEA", quantity: 3 }] },
      existing,
      stock,
    );
    assert.deepEqual(decision, { type: "released", reservation: existing });
  }
});

Deno.test("decideReserve() counts a sku listed twice against the same stock", () => {
  const items = [{ sku: "MUG", quantity: 1 }, { sku: "MUG", quantity: 2 }];
  assert.deepEqual(decideReserve({ orderId: "o-1", items }, undefined, new Map([["MUG", at(2)]])), {
    type: "rejected",
    sku: "MUG",
  });
  const decision = decideReserve({ orderId: "o-1", items }, undefined, new Map([["MUG", at(3)]]));
  assert.equal(decision.type, "reserve");
  // Two moves of one figure in one transaction: one version up.
  if (decision.type === "reserve") assert.deepEqual(decision.stock.get("MUG"), at(0, 1));
});

Deno.test("decideReserve() puts each moved figure one version above the one it read", () => {
  const decision = decideReserve(
    { orderId: "o-1", items: [{ sku: "TEA", quantity: 1 }, { sku: "MUG", quantity: 1 }] },
    undefined,
    new Map([["TEA", at(10, 41)], ["MUG", at(2, 7)]]),
  );
  assert.equal(decision.type, "reserve");
  if (decision.type !== "reserve") return;
  assert.deepEqual([...decision.stock], [["TEA", at(9, 42)], ["MUG", at(1, 8)]]);
});
