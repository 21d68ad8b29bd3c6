import assert from "node:assert/strict";
import fc from "fast-check";
import { fnv1a32, hashString, mix32 } from "./_hash.ts";

function referenceFnv1a32(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const byte of bytes) h = Math.imul(h ^ byte, 0x01000193);
  return h >>> 0;
}

Deno.test("fnv1a32() matches the published FNV-1a 32 test vectors", () => {
  assert.equal(fnv1a32(""), 0x811c9dc5);
  assert.equal(fnv1a32("a"), 0xe40c292c);
  assert.equal(fnv1a32("foobar"), 0xbf9cf968);
});

Deno.test("fnv1a32() hashes the UTF-8 bytes of any well-formed string", () => {
  const encoder = new TextEncoder();
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 40 }), (text) => {
      assert.equal(fnv1a32(text), referenceFnv1a32(encoder.encode(text)));
    }),
    { numRuns: 200 },
  );
});

Deno.test("hashString() spreads similar keys evenly over 16 buckets", () => {
  const buckets = new Array<number>(16).fill(0);
  for (let i = 0; i < 16_000; i++) buckets[hashString(`key-${i}`) >>> 28]!++;
  for (const count of buckets) assert.ok(count > 800 && count < 1200, `bucket of ${count}`);
});

Deno.test("mix32() returns unsigned 32-bit integers", () => {
  fc.assert(fc.property(fc.integer(), (value) => {
    const mixed = mix32(value);
    assert.ok(Number.isInteger(mixed) && mixed >= 0 && mixed < 2 ** 32);
  }));
});
