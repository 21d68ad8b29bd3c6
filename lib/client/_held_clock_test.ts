import assert from "node:assert/strict";
import { ManualClock } from "@flotilla/core";
import { HeldClock } from "./_held_clock.ts";

Deno.test("HeldClock reads its source, except between hold() and release()", () => {
  const source = new ManualClock(1_000);
  const clock = new HeldClock(source);
  assert.equal(clock.now(), 1_000);
  clock.hold(1_000);
  source.advance(5);
  assert.equal(clock.now(), 1_000);
  clock.release();
  assert.equal(clock.now(), 1_005);
});
