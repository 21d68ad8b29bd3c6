import assert from "node:assert/strict";
import fc from "fast-check";
import { requestFingerprint } from "./fingerprint.ts";

Deno.test("requestFingerprint() is canonical JSON of the customer and the sorted lines", () => {
  assert.equal(
    requestFingerprint("alice", [{ sku: "B", quantity: 1 }, { sku: "A", quantity: 2 }]),
    '{"customerId":"alice","items":[{"sku":"A","quantity":2},{"sku":"B","quantity":1}]}',
  );
});

Deno.test("requestFingerprint() ignores line order and extra fields, not customer or quantities", () => {
  const items = [{ sku: "A", quantity: 1 }, { sku: "B", quantity: 2 }];
  const fp = requestFingerprint("alice", items);
  assert.equal(requestFingerprint("alice", [...items].reverse()), fp);
  assert.equal(requestFingerprint("alice", items.map((l) => ({ ...l, price: 3 }))), fp);
  assert.notEqual(requestFingerprint("bob", items), fp);
  assert.notEqual(requestFingerprint("alice", [{ sku: "A", quantity: 2 }, items[1]!]), fp);
});

Deno.test("requestFingerprint() is the same for every permutation of the lines", () => {
  const permuted = fc.uniqueArray(
    fc.record({
      sku: fc.string({ minLength: 1, maxLength: 5 }),
      quantity: fc.integer({ min: 1, max: 9 }),
    }),
    { selector: (l) => l.sku, minLength: 1, maxLength: 10 },
  ).chain((a) =>
    fc.tuple(fc.constant(a), fc.shuffledSubarray(a, { minLength: a.length, maxLength: a.length }))
  );
  fc.assert(fc.property(fc.string(), permuted, (customerId, [a, b]) => {
    assert.equal(requestFingerprint(customerId, a), requestFingerprint(customerId, b));
  }));
});
