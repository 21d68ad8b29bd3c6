import assert from "node:assert/strict";
import fc from "fast-check";
import { sameLines } from "./reservation.ts";

Deno.test("sameLines() ignores the order of lines", () => {
  assert.ok(sameLines(
    [{ sku: "A", quantity: 1 }, { sku: "B", quantity: 2 }],
    [{ sku: "B", quantity: 2 }, { sku: "A", quantity: 1 }],
  ));
});

Deno.test("sameLines() tells different quantities, skus and lengths apart", () => {
  const base = [{ sku: "A", quantity: 1 }];
  assert.equal(sameLines(base, [{ sku: "A", quantity: 2 }]), false);
  assert.equal(sameLines(base, [{ sku: "B", quantity: 1 }]), false);
  assert.equal(sameLines(base, [...base, { sku: "B", quantity: 1 }]), false);
  assert.equal(sameLines([], []), true);
});

Deno.test("sameLines() is true for any permutation of the same lines", () => {
  const permuted = fc.uniqueArray(
    fc.record({
      sku: fc.string({ minLength: 1, maxLength: 4 }),
      quantity: fc.integer({ min: 1, max: 5 }),
    }),
    { selector: (line) => line.sku, maxLength: 8 },
  ).chain((a) =>
    fc.tuple(fc.constant(a), fc.shuffledSubarray(a, { minLength: a.length, maxLength: a.length }))
  );
  fc.assert(fc.property(permuted, ([a, b]) => sameLines(a, b)));
});
