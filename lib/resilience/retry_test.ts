import assert from "node:assert/strict";
import fc from "fast-check";
import {
  FlotillaError,
  fromProblem,
  ManualClock,
  NotFoundError,
  UnavailableError,
} from "@flotilla/core";
import { BulkheadFullError, CircuitOpenError } from "./errors.ts";
import { isUnsentError, retry, type RetryContext, RetryPolicy } from "./retry.ts";
import { RetryBudget } from "./retry_budget.ts";
import { ManualTimers } from "./timers.ts";

const down = () => new UnavailableError("down");
const connectionRefused = () =>
  new UnavailableError("Cannot reach inventory", { code: "CONNECTION_REFUSED" });
const connectionLost = () =>
  new UnavailableError("Cannot reach inventory", { code: "CONNECTION_FAILED" });
const context = (overrides: Partial<RetryContext> = {}): RetryContext => ({
  attempt: 1,
  idempotent: true,
  hasIdempotencyKey: false,
  remainingMs: 10_000,
  delayMs: 10,
  ...overrides,
});

Deno.test("RetryPolicy.delayMs() draws a full-jitter delay under an exponential cap", () => {
  const at = (random: number) => new RetryPolicy({ random: () => random });
  assert.equal(at(0).delayMs(1), 0);
  assert.equal(at(0.5).delayMs(1), 25);
  assert.equal(at(0.5).delayMs(2), 50);
  assert.equal(at(0.5).delayMs(3), 100);
  assert.equal(at(0.5).delayMs(7), 1_000); // 50 × 64 = 3200, capped at 2000
  assert.equal(at(0.5).delayMs(60), 1_000);
});

Deno.test("RetryPolicy.delayMs() stays in [0, min(maxDelayMs, baseDelayMs × 2^(n−1)))", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 2_000 }),
      fc.integer({ min: 0, max: 10_000 }),
      fc.integer({ min: 1, max: 100 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (base, extra, attempt, random) => {
        const policy = new RetryPolicy({
          baseDelayMs: base,
          maxDelayMs: base + extra,
          random: () => random,
        });
        const delay = policy.delayMs(attempt);
        assert.ok(delay >= 0);
        assert.ok(delay <= Math.min(base + extra, base * 2 ** (attempt - 1)));
      },
    ),
  );
});

Deno.test("RetryPolicy.shouldRetry() retries retryable failures of idempotent calls", () => {
  const policy = new RetryPolicy();
  assert.equal(policy.shouldRetry(down(), context()), true);
  assert.equal(policy.shouldRetry(fromProblem(undefined, 503), context()), true);
  assert.equal(policy.shouldRetry(fromProblem(undefined, 429), context()), true);
  assert.equal(
    policy.shouldRetry(new FlotillaError("SLOW", "slow", { kind: "DEADLINE_EXCEEDED" }), context()),
    true,
  );
});

Deno.test("RetryPolicy.shouldRetry() retries a call that is not idempotent only with a key", () => {
  const policy = new RetryPolicy();
  assert.equal(policy.shouldRetry(down(), context({ idempotent: false })), false);
  assert.equal(
    policy.shouldRetry(down(), context({ idempotent: false, hasIdempotencyKey: true })),
    true,
  );
});

Deno.test("RetryPolicy.shouldRetry() retries what was never sent, even when not idempotent", () => {
  const policy = new RetryPolicy();
  const notIdempotent = context({ idempotent: false });
  assert.equal(policy.shouldRetry(new CircuitOpenError(1_000), notIdempotent), true);
  assert.equal(
    policy.shouldRetry(
      new BulkheadFullError({ reason: "full", maxConcurrent: 1, maxQueue: 0 }),
      notIdempotent,
    ),
    true,
  );
  assert.equal(policy.shouldRetry(connectionRefused(), notIdempotent), true);
  // A connection lost after sending: the callee may have acted.
  assert.equal(policy.shouldRetry(connectionLost(), notIdempotent), false);
  assert.equal(policy.shouldRetry(connectionLost(), context()), true);
  // A CONNECTION_REFUSED relayed by the peer: the peer did get the request.
  const relayed = fromProblem({ code: "CONNECTION_REFUSED", kind: "UNAVAILABLE" }, 503);
  assert.equal(policy.shouldRetry(relayed, notIdempotent), false);
  assert.equal(policy.shouldRetry(relayed, context()), true);
});

Deno.test("RetryPolicy.shouldRetry() never retries mistakes, non-retryable errors or NO_ENDPOINTS", () => {
  const policy = new RetryPolicy();
  assert.equal(policy.shouldRetry(new NotFoundError("X", "x"), context()), false);
  assert.equal(policy.shouldRetry(fromProblem(undefined, 400), context()), false);
  assert.equal(policy.shouldRetry(new FlotillaError("BUG", "bug"), context()), false); // INTERNAL
  assert.equal(policy.shouldRetry(new TypeError("bug"), context()), false);
  assert.equal(
    policy.shouldRetry(new FlotillaError("CANCELLED", "c", { kind: "CANCELLED" }), context()),
    false,
  );
  const noEndpoints = new UnavailableError("nobody there", { code: "NO_ENDPOINTS" });
  assert.equal(policy.shouldRetry(noEndpoints, context()), false);
  assert.deepEqual(policy.decide(noEndpoints, context()), { retry: false, reason: "no_endpoints" });
});

Deno.test("RetryPolicy.shouldRetry() stops after maxAttempts, counting the first", () => {
  const policy = new RetryPolicy({ maxAttempts: 3 });
  assert.equal(policy.shouldRetry(down(), context({ attempt: 2 })), true);
  assert.equal(policy.shouldRetry(down(), context({ attempt: 3 })), false);
  assert.equal(new RetryPolicy({ maxAttempts: 1 }).shouldRetry(down(), context()), false);
});

Deno.test("RetryPolicy.shouldRetry() never retries when the deadline cannot fit delay + minAttemptMs", () => {
  const policy = new RetryPolicy({ minAttemptMs: 20 });
  assert.equal(policy.shouldRetry(down(), context({ remainingMs: 110, delayMs: 90 })), true);
  assert.equal(policy.shouldRetry(down(), context({ remainingMs: 109, delayMs: 90 })), false);
  assert.equal(
    policy.shouldRetry(new CircuitOpenError(1), context({ remainingMs: 5, delayMs: 0 })),
    false,
  );
  assert.equal(policy.shouldRetry(down(), context({ remainingMs: Infinity })), true);
});

Deno.test("RetryPolicy.decide() says why, and asks the budget last", () => {
  const clock = new ManualClock(0);
  const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 0.1, windowMs: 10_000, clock });
  const policy = new RetryPolicy({ random: () => 0.5 });
  assert.deepEqual(policy.decide(down(), context({ idempotent: false }), budget), {
    retry: false,
    reason: "not_idempotent",
  });
  assert.deepEqual(policy.decide(new NotFoundError("X", "x"), context(), budget), {
    retry: false,
    reason: "not_retryable",
  });
  assert.deepEqual(policy.decide(down(), context({ attempt: 3 }), budget), {
    retry: false,
    reason: "attempts_exhausted",
  });
  assert.deepEqual(policy.decide(down(), context({ remainingMs: 10 }), budget), {
    retry: false,
    reason: "deadline",
  });
  assert.equal(budget.stats().retries, 0);
  assert.deepEqual(policy.decide(down(), context(), budget), { retry: true, delayMs: 25 });
  assert.deepEqual(policy.decide(down(), context(), budget), {
    retry: false,
    reason: "budget_exhausted",
  });
});

Deno.test("RetryPolicy takes a replaceable classification and unsent test", () => {
  const policy = new RetryPolicy({ classify: () => "failure", isUnsent: () => false });
  const retryable = Object.assign(new Error("x"), { retryable: true });
  assert.equal(policy.shouldRetry(retryable, context()), true);
  assert.equal(policy.shouldRetry(new CircuitOpenError(1), context({ idempotent: false })), false);
});

Deno.test("isUnsentError() trusts only locally raised rejections", () => {
  assert.equal(isUnsentError(new CircuitOpenError(1)), true);
  assert.equal(isUnsentError(connectionRefused()), true);
  assert.equal(isUnsentError(connectionLost()), false);
  assert.equal(isUnsentError(down()), false);
  assert.equal(
    isUnsentError(fromProblem({ code: "CIRCUIT_OPEN", kind: "UNAVAILABLE" }, 503)),
    false,
  );
});

Deno.test("RetryPolicy() throws RangeError on out-of-range options", () => {
  assert.throws(() => new RetryPolicy({ maxAttempts: 0 }), {
    name: "RangeError",
    message:
      "Cannot create the retry policy as 'maxAttempts' must be a positive integer: current value is 0",
  });
  assert.throws(() => new RetryPolicy({ baseDelayMs: -1 }), RangeError);
  assert.throws(() => new RetryPolicy({ baseDelayMs: 100, maxDelayMs: 50 }), {
    message:
      "Cannot create the retry policy as 'maxDelayMs' must be a number >= 'baseDelayMs': current value is 50",
  });
  assert.throws(() => new RetryPolicy({ minAttemptMs: Number.NaN }), RangeError);
  assert.equal(new RetryPolicy({ baseDelayMs: 5_000 }).delayMs(1) <= 5_000, true);
});

// --- retry() -------------------------------------------------------------------

/** A sleep that moves the clock instead of waiting. */
function fakeSleep(clock: ManualClock, delays: number[]) {
  return (ms: number) => {
    delays.push(ms);
    clock.advance(ms);
    return Promise.resolve();
  };
}

Deno.test("retry() retries until success, sleeping the backoff in between", async () => {
  const clock = new ManualClock(0);
  const delays: number[] = [];
  const attempts: number[] = [];
  const result = await retry((attempt) => {
    attempts.push(attempt);
    if (attempt < 3) throw down();
    return "ok";
  }, { idempotent: true, clock, sleep: fakeSleep(clock, delays), random: () => 0.5 });
  assert.equal(result, "ok");
  assert.deepEqual(attempts, [1, 2, 3]);
  assert.deepEqual(delays, [25, 50]);
});

Deno.test("retry() rethrows the last error once the policy gives up", async () => {
  const clock = new ManualClock(0);
  const retries: number[] = [];
  let calls = 0;
  await assert.rejects(
    retry(() => {
      calls++;
      throw new UnavailableError(`down ${calls}`);
    }, {
      idempotent: true,
      maxAttempts: 4,
      clock,
      sleep: fakeSleep(clock, []),
      onRetry: (event) => retries.push(event.attempt),
    }),
    { message: "down 4" },
  );
  assert.equal(calls, 4);
  assert.deepEqual(retries, [1, 2, 3]);
});

Deno.test("retry() does not retry a call that is not idempotent by default", async () => {
  let calls = 0;
  await assert.rejects(
    retry(() => {
      calls++;
      throw down();
    }, { sleep: () => Promise.resolve() }),
    UnavailableError,
  );
  assert.equal(calls, 1);
});

Deno.test("retry() stops when the next attempt would not fit before the deadline", async () => {
  const clock = new ManualClock(0);
  let calls = 0;
  await assert.rejects(
    retry(() => {
      calls++;
      clock.advance(400);
      throw down();
    }, {
      idempotent: true,
      maxAttempts: 10,
      deadline: 1_000,
      clock,
      random: () => 0,
      sleep: fakeSleep(clock, []),
    }),
    UnavailableError,
  );
  assert.equal(calls, 3); // after the second, 200 ms are left: enough; after the third, none
});

Deno.test("retry() records the call in the budget and stops when it is spent", async () => {
  const clock = new ManualClock(0);
  const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 0.1, clock });
  let calls = 0;
  await assert.rejects(
    retry(() => {
      calls++;
      throw down();
    }, { idempotent: true, maxAttempts: 5, budget, clock, sleep: () => Promise.resolve() }),
  );
  assert.equal(calls, 2); // one retry in the budget
  assert.deepEqual(budget.stats(), { requests: 1, retries: 1, available: 0, refused: 1 });
});

Deno.test("retry() stops with the signal's reason when aborted during the backoff", async () => {
  const timers = new ManualTimers();
  const controller = new AbortController();
  let calls = 0;
  const retried = retry(() => {
    calls++;
    throw down();
  }, { idempotent: true, timers, clock: timers, signal: controller.signal, random: () => 1 });
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(timers.pending, 1);
  controller.abort(new Error("caller gave up"));
  await assert.rejects(retried, { message: "caller gave up" });
  assert.equal(calls, 1);
  assert.equal(timers.pending, 0);
});

Deno.test("retry() sleeps on the injected timers by default", async () => {
  const timers = new ManualTimers();
  let calls = 0;
  const retried = retry(() => {
    calls++;
    if (calls === 1) throw down();
    return calls;
  }, { idempotent: true, timers, clock: timers, random: () => 0.5 });
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(calls, 1);
  timers.advance(25);
  assert.equal(await retried, 2);
});

Deno.test("retry() does not start when the signal is already aborted", async () => {
  let calls = 0;
  await assert.rejects(
    retry(() => calls++, { signal: AbortSignal.abort(new Error("no")) }),
    { message: "no" },
  );
  assert.equal(calls, 0);
});
