import assert from "node:assert/strict";
import { Backoff } from "./backoff.ts";

Deno.test("Backoff.next() doubles from 250 ms and caps at 10 s", () => {
  const backoff = new Backoff({ jitter: 0 });
  const delays = Array.from({ length: 9 }, () => backoff.next(0));
  assert.deepEqual(delays, [250, 500, 1000, 2000, 4000, 8000, 10000, 10000, 10000]);
  assert.equal(backoff.crashes, 9);
});

Deno.test("Backoff.next() starts over after the service stayed up 30 s", () => {
  const backoff = new Backoff({ jitter: 0 });
  backoff.next(0);
  backoff.next(29_999);
  assert.equal(backoff.next(29_999), 1000);
  assert.equal(backoff.next(30_000), 250);
  assert.equal(backoff.crashes, 1);
});

Deno.test("Backoff.next() spreads delays by the jitter fraction", () => {
  const low = new Backoff({ jitter: 0.2, random: () => 0 });
  const high = new Backoff({ jitter: 0.2, random: () => 0.999999 });
  const mid = new Backoff({ jitter: 0.2, random: () => 0.5 });
  assert.equal(low.next(), 200);
  assert.equal(high.next(), 300);
  assert.equal(mid.next(), 250);
});

Deno.test("Backoff.next() never exceeds maxMs, even with jitter", () => {
  const backoff = new Backoff({ random: () => 0.999999 });
  for (let i = 0; i < 20; i++) assert.ok(backoff.next() <= 10_000);
});

Deno.test("Backoff.next() honours custom options", () => {
  const backoff = new Backoff({ initialMs: 10, factor: 3, maxMs: 100, jitter: 0, resetAfterMs: 5 });
  assert.deepEqual([backoff.next(), backoff.next(), backoff.next(), backoff.next()], [
    10,
    30,
    90,
    100,
  ]);
  assert.equal(backoff.next(5), 10);
});

Deno.test("Backoff.reset() forgets the crashes", () => {
  const backoff = new Backoff({ jitter: 0 });
  backoff.next();
  backoff.next();
  backoff.reset();
  assert.equal(backoff.crashes, 0);
  assert.equal(backoff.next(), 250);
});

Deno.test("Backoff() throws RangeError on out-of-range options", () => {
  assert.throws(() => new Backoff({ initialMs: 0 }), {
    name: "RangeError",
    message:
      "Cannot create the backoff as 'initialMs' must be a positive number: current value is 0",
  });
  assert.throws(() => new Backoff({ factor: 0.5 }), RangeError);
  assert.throws(() => new Backoff({ initialMs: 500, maxMs: 100 }), RangeError);
  assert.throws(() => new Backoff({ jitter: 1.5 }), RangeError);
  assert.throws(() => new Backoff({ resetAfterMs: -1 }), RangeError);
  assert.throws(() => new Backoff({ maxMs: Infinity }), RangeError);
});
