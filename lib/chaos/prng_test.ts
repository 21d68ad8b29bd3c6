import assert from "node:assert/strict";
import fc from "fast-check";
import { deriveSeed, Prng } from "./prng.ts";

Deno.test("Prng gives the same sequence for the same seed, in [0, 1) (property)", () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), (seed) => {
    const a = new Prng(seed);
    const b = new Prng(seed);
    for (let i = 0; i < 50; i++) {
      const x = a.next();
      assert.equal(x, b.next());
      assert.ok(x >= 0 && x < 1);
    }
  }));
});

Deno.test("Prng is pinned to the reference mulberry32: seed 42 starts 0.6011…, 0.4482…, 0.8524…", () => {
  // A changed generator would silently break every recorded replay seed.
  const prng = new Prng(42);
  assert.deepEqual([prng.next(), prng.next(), prng.next()], [
    0.6011037519201636,
    0.44829055899754167,
    0.8524657934904099,
  ]);
});

Deno.test("Prng is roughly uniform over 10 000 draws", () => {
  const prng = new Prng(7);
  const buckets = new Array(10).fill(0);
  for (let i = 0; i < 10_000; i++) buckets[Math.floor(prng.next() * 10)]++;
  for (const count of buckets) assert.ok(count > 900 && count < 1_100, String(count));
});

Deno.test("Prng refuses seeds outside 0..2^32-1", () => {
  for (const seed of [-1, 1.5, 2 ** 32, Number.NaN]) {
    assert.throws(() => new Prng(seed), RangeError);
  }
});

Deno.test("deriveSeed() is stable and separates labels", () => {
  assert.equal(deriveSeed(42, "a"), deriveSeed(42, "a"));
  assert.notEqual(deriveSeed(42, "a"), deriveSeed(42, "b"));
  assert.notEqual(deriveSeed(42, "a"), deriveSeed(43, "a"));
});
