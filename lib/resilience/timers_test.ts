import assert from "node:assert/strict";
import { ManualClock } from "@flotilla/core";
import { ManualTimers, sleep } from "./timers.ts";

Deno.test("ManualTimers.advance() runs due callbacks in order, at their due time", () => {
  const timers = new ManualTimers(new ManualClock(1_000));
  const fired: Array<[string, number]> = [];
  timers.setTimeout(() => fired.push(["b", timers.now()]), 200);
  timers.setTimeout(() => fired.push(["a", timers.now()]), 100);
  timers.setTimeout(() => fired.push(["a2", timers.now()]), 100);
  timers.setTimeout(() => fired.push(["late", timers.now()]), 500);
  timers.advance(300);
  assert.deepEqual(fired, [["a", 1_100], ["a2", 1_100], ["b", 1_200]]);
  assert.equal(timers.now(), 1_300);
  assert.equal(timers.pending, 1);
});

Deno.test("ManualTimers.advance() runs callbacks scheduled by callbacks when they fall due", () => {
  const timers = new ManualTimers();
  const fired: number[] = [];
  timers.setTimeout(() => {
    fired.push(timers.now());
    timers.setTimeout(() => fired.push(timers.now()), 50);
    timers.setTimeout(() => fired.push(timers.now()), 500);
  }, 100);
  timers.advance(200);
  assert.deepEqual(fired, [100, 150]);
});

Deno.test("ManualTimers.clearTimeout() cancels a callback", () => {
  const timers = new ManualTimers();
  let fired = false;
  const id = timers.setTimeout(() => (fired = true), 10);
  timers.clearTimeout(id);
  timers.clearTimeout(12345);
  timers.advance(100);
  assert.equal(fired, false);
  assert.throws(() => timers.advance(-1), RangeError);
});

Deno.test("sleep() resolves when the timers reach the delay", async () => {
  const timers = new ManualTimers();
  let done = false;
  const slept = sleep(100, timers).then(() => (done = true));
  timers.advance(99);
  await Promise.resolve();
  assert.equal(done, false);
  timers.advance(1);
  await slept;
  assert.equal(done, true);
});

Deno.test("sleep() rejects with the signal's reason and clears its timer", async () => {
  const timers = new ManualTimers();
  const controller = new AbortController();
  const slept = sleep(100, timers, controller.signal);
  controller.abort(new Error("stop"));
  await assert.rejects(slept, { message: "stop" });
  assert.equal(timers.pending, 0);
  await assert.rejects(sleep(1, timers, controller.signal), { message: "stop" });
});
