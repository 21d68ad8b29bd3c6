import assert from "node:assert/strict";
import fc from "fast-check";
import { ManualClock } from "@flotilla/core";
import { RetryBudget } from "./retry_budget.ts";

Deno.test("RetryBudget grants ratio × requests retries", () => {
  const budget = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 0, clock: new ManualClock(0) });
  for (let i = 0; i < 10; i++) budget.recordRequest();
  assert.equal(budget.tryWithdraw(), true);
  assert.equal(budget.tryWithdraw(), true);
  assert.equal(budget.tryWithdraw(), false);
  assert.deepEqual(budget.stats(), { requests: 10, retries: 2, available: 0, refused: 1 });
});

Deno.test("RetryBudget lets a quiet service retry minRetriesPerSecond × window seconds", () => {
  const budget = new RetryBudget({ minRetriesPerSecond: 10, windowMs: 10_000 });
  for (let i = 0; i < 100; i++) assert.equal(budget.tryWithdraw(), true);
  assert.equal(budget.tryWithdraw(), false);
});

Deno.test("RetryBudget forgets requests and retries older than the window", () => {
  const clock = new ManualClock(0);
  const budget = new RetryBudget({ ratio: 0.5, minRetriesPerSecond: 0, clock });
  for (let i = 0; i < 4; i++) budget.recordRequest();
  assert.equal(budget.tryWithdraw(), true);
  assert.equal(budget.tryWithdraw(), true);
  assert.equal(budget.tryWithdraw(), false);
  clock.advance(9_999);
  assert.equal(budget.stats().requests, 4);
  clock.advance(1);
  assert.deepEqual(budget.stats(), { requests: 0, retries: 0, available: 0, refused: 1 });
  assert.equal(budget.tryWithdraw(), false);
  budget.recordRequest();
  budget.recordRequest();
  assert.equal(budget.tryWithdraw(), true);
});

Deno.test("RetryBudget copes with fractional ratios without rounding errors", () => {
  const budget = new RetryBudget({
    ratio: 0.57,
    minRetriesPerSecond: 0,
    clock: new ManualClock(0),
  });
  for (let i = 0; i < 100; i++) budget.recordRequest();
  let granted = 0;
  while (budget.tryWithdraw()) granted++;
  assert.equal(granted, 57);
});

Deno.test("RetryBudget() throws RangeError on out-of-range options", () => {
  assert.throws(() => new RetryBudget({ ratio: -0.1 }), {
    name: "RangeError",
    message:
      "Cannot create the retry budget as 'ratio' must be a number >= 0: current value is -0.1",
  });
  assert.throws(() => new RetryBudget({ windowMs: 0 }), RangeError);
  assert.throws(() => new RetryBudget({ windowMs: 1_000, bucketMs: 2_000 }), RangeError);
  assert.throws(() => new RetryBudget({ minRetriesPerSecond: Infinity }), RangeError);
});

type Op = { type: "request"; count: number } | { type: "retry"; count: number } | {
  type: "advance";
  ms: number;
};

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ type: fc.constant("request" as const), count: fc.integer({ min: 1, max: 20 }) }),
  // A storm: every failed request asks for several retries.
  fc.record({ type: fc.constant("retry" as const), count: fc.integer({ min: 1, max: 50 }) }),
  fc.record({ type: fc.constant("advance" as const), ms: fc.oneof(fc.nat(1_500), fc.nat(12_000)) }),
);

Deno.test("RetryBudget never grants more than ratio × requests + min × window seconds, in any storm", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(0, 0.1, 0.2, 0.5, 1),
      fc.constantFrom(0, 1, 10),
      fc.constantFrom(1_000, 10_000),
      fc.array(opArb, { maxLength: 200, size: "max" }),
      (ratio, minRetriesPerSecond, windowMs, ops) => {
        const clock = new ManualClock(0);
        const bucketMs = Math.min(1_000, windowMs);
        const budget = new RetryBudget({ ratio, minRetriesPerSecond, windowMs, bucketMs, clock });
        const reserve = minRetriesPerSecond * windowMs / 1_000;
        const requests: number[] = [];
        const grants: number[] = [];
        for (const op of ops) {
          if (op.type === "advance") {
            clock.advance(op.ms);
            continue;
          }
          for (let i = 0; i < op.count; i++) {
            const now = clock.now();
            if (op.type === "request") {
              budget.recordRequest();
              requests.push(now);
              continue;
            }
            // The model: the same buckets, counted naively.
            const bucket = Math.floor(now / bucketMs);
            const inWindow = (at: number) =>
              Math.floor(at / bucketMs) > bucket - windowMs / bucketMs;
            const expected = grants.filter(inWindow).length + 1 <=
              ratio * requests.filter(inWindow).length + reserve + 1e-9;
            const granted = budget.tryWithdraw();
            assert.equal(granted, expected);
            if (!granted) continue;
            grants.push(now);
            // The bound in plain time: the retries granted in any span of windowMs − bucketMs
            // never exceed ratio × the requests of the windowMs before + the reserve.
            const span = grants.filter((at) => at > now - (windowMs - bucketMs)).length;
            const earned = ratio * requests.filter((at) => at > now - windowMs).length + reserve;
            assert.ok(span <= earned + 1e-9, `${span} retries > ${earned}`);
          }
        }
      },
    ),
    { numRuns: 300 },
  );
});
