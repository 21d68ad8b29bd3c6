import assert from "node:assert/strict";
import fc from "fast-check";
import { clonePlain, deepEqual, deepFreeze, deepMerge, setPath } from "./_values.ts";

// Configuration layers: JSON objects (deepMerge drops "__proto__" keys on purpose).
const json = fc.dictionary(fc.string({ maxLength: 3 }), fc.jsonValue({ maxDepth: 3 }))
  .filter((layer) => !JSON.stringify(layer).includes('"__proto__"'));

/** Every leaf path of `value` with its leaf (arrays count as leaves). */
function leaves(value: unknown, path: string[] = []): Array<[string[], unknown]> {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0) return [[path, value]];
    return entries.flatMap(([key, item]) => leaves(item, [...path, key]));
  }
  return [[path, value]];
}

function at(value: unknown, path: string[]): unknown {
  return path.reduce<unknown>((node, key) => (node as Record<string, unknown>)?.[key], value);
}

Deno.test("deepMerge() gives every leaf of the last layer precedence (property)", () => {
  fc.assert(fc.property(json, json, json, (a, b, c) => {
    const merged = deepMerge(a, b, c);
    for (const [path, leaf] of leaves(c)) {
      if (typeof leaf === "object" && leaf !== null && !Array.isArray(leaf)) continue; // {} merges
      assert.ok(deepEqual(at(merged, path), leaf), `leaf ${path.join(".")}`);
    }
  }));
});

Deno.test("deepMerge() has {} as identity, keeps lower keys, and leaves its inputs untouched (property)", () => {
  fc.assert(fc.property(json, json, (a, b) => {
    const before = JSON.stringify([a, b]);
    assert.ok(deepEqual(deepMerge(a, {}), a));
    assert.ok(deepEqual(deepMerge({}, a), a));
    const merged = deepMerge(a, b) as Record<string, unknown>;
    for (const key of Object.keys(a)) {
      if (!(key in b)) assert.ok(deepEqual(merged[key], a[key]), `key ${key} kept`);
    }
    assert.equal(JSON.stringify([a, b]), before);
  }));
});

Deno.test("deepMerge() replaces arrays and merges objects", () => {
  assert.deepEqual(
    deepMerge({ a: [1, 2], o: { x: 1, y: 1 } }, { a: [3], o: { y: 2 } }, undefined),
    { a: [3], o: { x: 1, y: 2 } },
  );
  assert.deepEqual(deepMerge({ o: { x: 1 } }, { o: null }), { o: null });
  assert.deepEqual(deepMerge({ x: 1 }, { x: undefined }), { x: 1 });
});

Deno.test("deepFreeze() freezes every level and clonePlain() shares nothing", () => {
  const value = { a: { b: [{ c: 1 }] } };
  const copy = clonePlain(value) as typeof value;
  deepFreeze(copy);
  assert.ok(Object.isFrozen(copy.a.b[0]));
  assert.ok(!Object.isFrozen(value.a.b[0]));
  assert.throws(() => {
    (copy.a.b[0] as { c: number }).c = 2;
  }, TypeError);
});

Deno.test("setPath() creates objects on the way and ignores __proto__", () => {
  const target: Record<string, unknown> = { a: 1 };
  setPath(target, ["a", "b", "c"], 2);
  setPath(target, ["__proto__", "polluted"], true);
  assert.deepEqual(target, { a: { b: { c: 2 } } });
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});
