import assert from "node:assert/strict";
import fc from "fast-check";
import { ManualClock } from "@flotilla/core";
import { backoffDelay, DEFAULT_RETRY, manualSleep, resolveRetry, systemSleep } from "./timing.ts";

Deno.test("backoffDelay() is full jitter below an exponential cap", () => {
  const retry = { maxAttempts: 10, initialDelayMs: 100, maxDelayMs: 1_000 };
  assert.equal(backoffDelay(1, retry, () => 0.5), 50);
  assert.equal(backoffDelay(2, retry, () => 0.5), 100);
  assert.equal(backoffDelay(9, retry, () => 0.5), 500);
  assert.equal(backoffDelay(3, retry, () => 0), 0);
});

Deno.test("backoffDelay() property: always within [0, min(max, initial × 2^(n−1)))", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 60 }),
      fc.integer({ min: 0, max: 10_000 }),
      fc.integer({ min: 0, max: 100_000 }),
      fc.double({ min: 0, max: 0.999_999, noNaN: true }),
      (attempt, initialDelayMs, extra, r) => {
        const retry = { maxAttempts: 5, initialDelayMs, maxDelayMs: initialDelayMs + extra };
        const delay = backoffDelay(attempt, retry, () => r);
        const cap = Math.min(retry.maxDelayMs, initialDelayMs * 2 ** (attempt - 1));
        return delay >= 0 && delay <= cap && Number.isInteger(delay);
      },
    ),
  );
});

Deno.test("resolveRetry() fills defaults and rejects nonsense with a RangeError", () => {
  assert.deepEqual(resolveRetry(undefined, DEFAULT_RETRY, "x"), DEFAULT_RETRY);
  assert.equal(resolveRetry({ maxAttempts: Infinity }, DEFAULT_RETRY, "x").maxAttempts, Infinity);
  assert.throws(
    () => resolveRetry({ maxAttempts: 0 }, DEFAULT_RETRY, "retry"),
    /'maxAttempts'.*current value is 0/,
  );
  assert.throws(() => resolveRetry({ initialDelayMs: -1 }, DEFAULT_RETRY, "x"), RangeError);
  assert.throws(
    () => resolveRetry({ initialDelayMs: 50, maxDelayMs: 10 }, DEFAULT_RETRY, "x"),
    RangeError,
  );
});

Deno.test("manualSleep() advances its clock instead of waiting, and an aborted sleep leaves it alone", async () => {
  const clock = new ManualClock(0);
  const sleep = manualSleep(clock);
  await sleep(1_500);
  assert.equal(clock.now(), 1_500);
  const controller = new AbortController();
  const pending = sleep(1_000, controller.signal);
  controller.abort(new Error("stop"));
  await assert.rejects(pending, /stop/);
  assert.equal(clock.now(), 1_500);
});

Deno.test("systemSleep() rejects with the signal's reason when aborted", async () => {
  const controller = new AbortController();
  const pending = systemSleep(60_000, controller.signal);
  controller.abort(new Error("cancelled"));
  await assert.rejects(pending, /cancelled/);
  await assert.rejects(systemSleep(1, AbortSignal.abort(new Error("already"))), /already/);
});
