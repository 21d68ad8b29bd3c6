import assert from "node:assert/strict";
import { checkEffects } from "./check_effects.ts";

Deno.test("checkEffects() accepts exactly one effect per expected id", () => {
  const result = checkEffects(["a", "b"], new Map([["a", 1], ["b", 1], ["c", 0]]));
  assert.equal(result.valid, true);
  assert.equal(result.expected, 2);
  assert.equal(result.exactlyOnce, 2);
  assert.equal(result.effects, 2);
});

Deno.test("checkEffects() reports missing, duplicated and unexpected effects", () => {
  const result = checkEffects(["a", "b", "c"], ["a", "b", "b", "z"]);
  assert.equal(result.valid, false);
  assert.deepEqual(result.missing, ["c"]);
  assert.deepEqual([...result.duplicated], [["b", 2]]);
  assert.deepEqual([...result.unexpected], [["z", 1]]);
  assert.equal(result.exactlyOnce, 1);
  assert.equal(result.effects, 4);
});

Deno.test("checkEffects() rejects a count that is not a non-negative integer", () => {
  assert.throws(
    () => checkEffects(["a"], new Map([["a", -1]])),
    (error: unknown) =>
      error instanceof RangeError &&
      error.message ===
        "Cannot check the effects as the count of 'a' must be a non-negative integer: current value is -1",
  );
});
