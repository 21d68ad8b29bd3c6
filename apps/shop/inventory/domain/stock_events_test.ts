import assert from "node:assert/strict";
import { decideHold, decideReleaseHold, decideSell } from "./hold.ts";
import { decideRelease } from "./release.ts";
import { decideReserve } from "./reserve.ts";
import { stockEvents } from "./stock_events.ts";
import type { Reservation } from "./reservation.ts";

/** A stock level at `version`. */
const at = (stock: number, version = 0) => ({ stock, version });

const reserved: Reservation = {
  orderId: "o-1",
  status: "RESERVED",
  items: [{ sku: "TEA", quantity: 3 }, { sku: "MUG", quantity: 1 }],
};

Deno.test("stockEvents() of a reserve is stock.reserved with the stock left after it and its version", () => {
  const decision = decideReserve(
    { orderId: "o-1", items: reserved.items },
    undefined,
    new Map([["TEA", at(10, 4)], ["MUG", at(1)]]),
  );
  assert.deepEqual(stockEvents(decision), [{
    type: "stock.reserved",
    data: {
      orderId: "o-1",
      items: [
        { sku: "TEA", quantity: 3, stock: 7, version: 5 },
        { sku: "MUG", quantity: 1, stock: 0, version: 1 },
      ],
    },
  }]);
});

Deno.test("stockEvents() of a release is stock.released with the stock after it", () => {
  const decision = decideRelease("o-1", reserved, new Map([["TEA", at(7)], ["MUG", at(0)]]));
  assert.deepEqual(stockEvents(decision), [{
    type: "stock.released",
    data: {
      orderId: "o-1",
      items: [
        { sku: "TEA", quantity: 3, stock: 10, version: 1 },
        { sku: "MUG", quantity: 1, stock: 1, version: 1 },
      ],
    },
  }]);
});

Deno.test("stockEvents() of a decision that moves no stock is empty", () => {
  const stock = new Map([["TEA", at(10)], ["MUG", at(0)]]);
  const released: Reservation = { ...reserved, status: "RELEASED" };
  const decisions = [
    decideReserve({ orderId: "o-1", items: reserved.items }, reserved, stock), // replay
    decideReserve({ orderId: "o-1", items: [{ sku: "TEA", quantity: 1 }] }, reserved, stock), // mismatch
    decideReserve({ orderId: "o-1", items: reserved.items }, released, stock), // released
    decideReserve({ orderId: "o-1", items: [{ sku: "NOPE", quantity: 1 }] }, undefined, stock),
    decideReserve({ orderId: "o-1", items: reserved.items }, undefined, stock), // rejected
    decideRelease("o-1", undefined, stock), // tombstone
    decideRelease("o-1", released, stock), // noop
  ];
  assert.deepEqual(decisions.map((d) => d.type), [
    "replay",
    "mismatch",
    "released",
    "unknown_sku",
    "rejected",
    "tombstone",
    "noop",
  ]);
  for (const decision of decisions) assert.deepEqual(stockEvents(decision), []);
});

Deno.test("stockEvents() of a TCC hold is stock.reserved, of its release stock.released, of a sale none", () => {
  const hold = decideHold(
    { txId: "o-9", items: [{ sku: "MUG", quantity: 2 }] },
    new Map([["MUG", at(5)]]),
  );
  assert.deepEqual(stockEvents(hold), [{
    type: "stock.reserved",
    data: { orderId: "o-9", items: [{ sku: "MUG", quantity: 2, stock: 3, version: 1 }] },
  }]);
  assert.ok(hold.type === "hold");
  assert.deepEqual(stockEvents(decideReleaseHold(hold.hold, new Map([["MUG", at(3, 1)]]))), [{
    type: "stock.released",
    data: { orderId: "o-9", items: [{ sku: "MUG", quantity: 2, stock: 5, version: 2 }] },
  }]);
  assert.deepEqual(stockEvents(decideSell(hold.hold)), []);
  assert.deepEqual(
    stockEvents(
      decideHold({ txId: "o-9", items: [{ sku: "MUG", quantity: 9 }] }, new Map([["MUG", at(5)]])),
    ),
    [],
  );
});
