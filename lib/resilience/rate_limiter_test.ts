import assert from "node:assert/strict";
import fc from "fast-check";
import { ManualClock } from "@flotilla/core";
import { type RateLimitedError, RateLimiter } from "./rate_limiter.ts";

Deno.test("RateLimiter lets a burst through, then one call per 1/rate", () => {
  const clock = new ManualClock(0);
  const limiter = new RateLimiter({ ratePerSecond: 10, burst: 3, clock, name: "order" });
  assert.deepEqual([1, 2, 3, 4].map(() => limiter.tryAcquire()), [true, true, true, false]);
  clock.advance(99);
  assert.equal(limiter.tryAcquire(), false);
  clock.advance(1);
  assert.equal(limiter.tryAcquire(), true);
  assert.throws(() => limiter.acquire(), (e: RateLimitedError) => {
    assert.equal(e.code, "RATE_LIMITED");
    assert.equal(e.kind, "RESOURCE_EXHAUSTED");
    assert.equal(e.retryable, true);
    assert.deepEqual(e.data, { name: "order", ratePerSecond: 10, retryAfterMs: 100 });
    return true;
  });
  clock.advance(10_000);
  assert.equal([1, 2, 3, 4].filter(() => limiter.tryAcquire()).length, 3, "never above the burst");
});

Deno.test("RateLimiter.update() changes the limits in force, keeping the tokens it holds", () => {
  const clock = new ManualClock(0);
  const limiter = new RateLimiter({ ratePerSecond: 1, burst: 5, clock });
  limiter.update({ ratePerSecond: 100, burst: 2 });
  assert.deepEqual(limiter.limit, { ratePerSecond: 100, burst: 2 });
  assert.deepEqual([1, 2, 3].map(() => limiter.tryAcquire()), [true, true, false]);
  clock.advance(10);
  assert.equal(limiter.tryAcquire(), true);
  assert.throws(() => limiter.update({ ratePerSecond: 0 }), RangeError);
  assert.throws(() => limiter.update({ ratePerSecond: 5, burst: 0.5 }), RangeError);
  assert.deepEqual(
    limiter.limit,
    { ratePerSecond: 100, burst: 2 },
    "a refused update changes nothing",
  );
});

Deno.test("RateLimiter never lets through more than burst + rate × elapsed (property)", () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 1000 }),
    fc.integer({ min: 1, max: 50 }),
    fc.array(fc.integer({ min: 0, max: 500 }), { minLength: 1, maxLength: 200 }),
    (rate, burst, gaps) => {
      const clock = new ManualClock(0);
      const limiter = new RateLimiter({ ratePerSecond: rate, burst, clock });
      let allowed = 0;
      for (const gap of gaps) {
        clock.advance(gap);
        if (limiter.tryAcquire()) allowed++;
      }
      return allowed <= burst + (rate * clock.now()) / 1000 + 1e-9;
    },
  ));
});
