import assert from "node:assert/strict";
import { defineSaga } from "./saga.ts";

Deno.test("defineSaga() builds ordered steps and refuses bad names, duplicates, empty sagas and timeouts", () => {
  const saga = defineSaga<{ id: string }>("checkout")
    .step("a", { action: () => 1 })
    .step("b", { action: ({ results }) => results.a + 1, compensate: () => {}, timeoutMs: 5 })
    .build({ timeoutMs: 1_000 });
  assert.equal(saga.name, "checkout");
  assert.deepEqual(saga.steps.map((s) => s.name), ["a", "b"]);
  assert.equal(saga.steps[0]?.compensate, undefined);
  assert.equal(saga.steps[1]?.timeoutMs, 5);
  assert.equal(saga.timeoutMs, 1_000);

  assert.throws(() => defineSaga("has space"), RangeError);
  assert.throws(() => defineSaga("x").step("a:b", { action: () => 1 }), RangeError);
  assert.throws(
    () => defineSaga("x").step("a", { action: () => 1 }).step("a", { action: () => 2 }),
    /already has a step "a"/,
  );
  assert.throws(() => defineSaga("x").build(), /no steps/);
  assert.throws(() => defineSaga("x").step("a", { action: () => 1, timeoutMs: 0 }), RangeError);
  assert.throws(
    () => defineSaga("x").step("a", { action: () => 1 }).build({ timeoutMs: -5 }),
    RangeError,
  );
});
