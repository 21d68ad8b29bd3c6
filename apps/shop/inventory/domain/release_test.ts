import assert from "node:assert/strict";
import { decideRelease } from "./release.ts";
import type { Reservation } from "./reservation.ts";

/** A stock level at `version`. */
const at = (stock: number, version = 0) => ({ stock, version });

const reserved: Reservation = {
  orderId: "o-1",
  status: "RESERVED",
  items: [{ sku: "TEA", quantity: 3 }, { sku: "MUG", quantity: 1 }],
};

Deno.test("decideRelease() gives the reserved quantities back", () => {
  const decision = decideRelease("o-1", reserved, new Map([["TEA", at(7)], ["MUG", at(0)]]));
  assert.equal(decision.type, "release");
  if (decision.type !== "release") return;
  assert.deepEqual([...decision.stock], [["TEA", at(10, 1)], ["MUG", at(1, 1)]]);
  assert.deepEqual(decision.reservation, { ...reserved, status: "RELEASED" });
});

Deno.test("decideRelease() counts a sku missing from the stock as 0", () => {
  const decision = decideRelease("o-1", reserved, new Map([["TEA", at(7)]]));
  assert.equal(decision.type, "release");
  if (decision.type !== "release") return;
  assert.deepEqual(decision.stock.get("MUG"), at(1, 1));
});

Deno.test("decideRelease() writes a tombstone for an order that never reserved", () => {
  assert.deepEqual(decideRelease("o-9", undefined, new Map()), {
    type: "tombstone",
    reservation: { orderId: "o-9", status: "TOMBSTONE", items: [] },
  });
});

Deno.test("decideRelease() changes nothing once released or tombstoned", () => {
  for (const status of ["RELEASED", "TOMBSTONE"] as const) {
    const existing: Reservation = { ...reserved, status };
    assert.deepEqual(decideRelease("o-1", existing, new Map()), {
      type: "noop",
      reservation: existing,
    });
  }
});

Deno.test("decideRelease() gives back a sku listed twice in full", () => {
  const reservation: Reservation = {
    orderId: "o-1",
    status: "RESERVED",
    items: [{ sku: "MUG", quantity: 1 }, { sku: "MUG", quantity: 2 }],
  };
  const decision = decideRelease("o-1", reservation, new Map([["MUG", at(0)]]));
  assert.equal(decision.type, "release");
  if (decision.type === "release") assert.deepEqual(decision.stock.get("MUG"), at(3, 1));
});

Deno.test("decideRelease() puts each moved figure one version above the one it read", () => {
  const decision = decideRelease("o-1", reserved, new Map([["TEA", at(7, 12)], ["MUG", at(0, 3)]]));
  assert.equal(decision.type, "release");
  if (decision.type !== "release") return;
  assert.deepEqual([...decision.stock], [["TEA", at(10, 13)], ["MUG", at(1, 4)]]);
});
