import assert from "node:assert/strict";
import { decideHold, decideReleaseHold, decideSell, type Hold } from "./hold.ts";

/** A stock level at `version`. */
const at = (stock: number, version = 0) => ({ stock, version });

const stock = new Map([["MUG", at(3, 5)], ["TEA", at(10, 2)]]);

Deno.test("decideHold() takes every line from the available stock", () => {
  const decision = decideHold({
    txId: "o-1",
    items: [{ sku: "TEA", quantity: 4 }, { sku: "MUG", quantity: 3 }],
  }, stock);
  assert.deepEqual(decision, {
    type: "hold",
    stock: new Map([["TEA", at(6, 3)], ["MUG", at(0, 6)]]),
    hold: {
      txId: "o-1",
      status: "HELD",
      items: [{ sku: "TEA", quantity: 4 }, { sku: "MUG", quantity: 3 }],
    },
  });
});

Deno.test("decideHold() refuses all lines when one lacks stock, naming it", () => {
  assert.deepEqual(
    decideHold({
      txId: "o-1",
      items: [{ sku: "TEA", quantity: 1 }, { sku: "MUG", quantity: 4 }],
    }, stock),
    { type: "out_of_stock", sku: "MUG" },
  );
});

Deno.test("decideHold() reports unknown skus with their line index", () => {
  assert.deepEqual(
    decideHold({
      txId: "o-1",
      items: [{ sku: "TEA", quantity: 1 }, { sku: "NOPE", quantity: 1 }],
    }, stock),
    { type: "unknown_sku", lines: [{ index: 1, sku: "NOPE" }] },
  );
});

const held: Hold = { txId: "o-1", status: "HELD", items: [{ sku: "MUG", quantity: 2 }] };

Deno.test("decideSell() marks a held hold sold and nothing else", () => {
  assert.deepEqual(decideSell(held), { type: "sell", hold: { ...held, status: "SOLD" } });
  assert.deepEqual(decideSell({ ...held, status: "SOLD" }), { type: "noop" });
  assert.deepEqual(decideSell({ ...held, status: "RELEASED" }), { type: "noop" });
  assert.deepEqual(decideSell(undefined), { type: "noop" });
});

Deno.test("decideReleaseHold() puts held stock back, counting a vanished sku as 0", () => {
  assert.deepEqual(decideReleaseHold(held, new Map([["MUG", at(1, 8)]])), {
    type: "release_hold",
    stock: new Map([["MUG", at(3, 9)]]),
    hold: { ...held, status: "RELEASED" },
  });
  assert.deepEqual(decideReleaseHold(held, new Map()).type, "release_hold");
  assert.deepEqual(decideReleaseHold({ ...held, status: "SOLD" }, stock), { type: "noop" });
  assert.deepEqual(decideReleaseHold(undefined, stock), { type: "noop" });
});
