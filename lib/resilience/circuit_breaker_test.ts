import assert from "node:assert/strict";
import fc from "fast-check";
import { FlotillaError, ManualClock, NotFoundError, UnavailableError } from "@flotilla/core";
import {
  type BreakerPermit,
  CircuitBreaker,
  type CircuitBreakerEvent,
  type CircuitBreakerOptions,
  type CircuitState,
} from "./circuit_breaker.ts";
import { CircuitOpenError } from "./errors.ts";

const down = () => new UnavailableError("down");
const cancelled = () => new FlotillaError("CANCELLED", "gave up", { kind: "CANCELLED" });

function setup(options: CircuitBreakerOptions = {}) {
  const clock = new ManualClock(1_000_000);
  const events: CircuitBreakerEvent[] = [];
  const breaker = new CircuitBreaker({
    clock,
    slidingWindow: { type: "count", size: 10 },
    minimumNumberOfCalls: 4,
    ...options,
  });
  breaker.onStateChange((event) => events.push(event));
  return { clock, breaker, events };
}

function succeed(breaker: CircuitBreaker, times = 1, durationMs = 1): void {
  for (let i = 0; i < times; i++) take(breaker).onSuccess(durationMs);
}

function fail(breaker: CircuitBreaker, times = 1, error: unknown = down()): void {
  for (let i = 0; i < times; i++) take(breaker).onError(error, 1);
}

function take(breaker: CircuitBreaker): BreakerPermit {
  const permit = breaker.tryAcquire();
  assert.ok(permit, `expected a permit in state ${breaker.state}`);
  return permit;
}

/** Opens the breaker of `setup()` (4 failures) and moves it to half-open. */
function halfOpen(breaker: CircuitBreaker, clock: ManualClock): void {
  fail(breaker, 4);
  assert.equal(breaker.state, "open");
  clock.advance(5_000);
  assert.equal(breaker.state, "half_open");
}

Deno.test("CircuitBreaker() starts closed and lets calls through", () => {
  const { breaker } = setup();
  assert.equal(breaker.state, "closed");
  assert.equal(breaker.isCallPermitted(), true);
  assert.equal(breaker.retryAfterMs(), 0);
  const permit = take(breaker);
  assert.equal(permit.probe, false);
});

Deno.test("CircuitBreaker evaluates rates only once minimumNumberOfCalls are in the window", () => {
  const { breaker, events } = setup();
  fail(breaker, 3);
  assert.equal(breaker.state, "closed");
  assert.deepEqual(breaker.metrics().failureRate, 100);
  fail(breaker, 1);
  assert.equal(breaker.state, "open");
  assert.deepEqual(events.map((e) => [e.from, e.to, e.reason]), [
    ["closed", "open", "failure_rate"],
  ]);
});

Deno.test("CircuitBreaker opens at the failure rate threshold, not below it", () => {
  const { breaker } = setup({ slidingWindow: { type: "count", size: 4 } });
  succeed(breaker);
  succeed(breaker);
  fail(breaker);
  succeed(breaker);
  assert.equal(breaker.metrics().failureRate, 25);
  assert.equal(breaker.state, "closed");
  succeed(breaker); // window: S F S S
  assert.equal(breaker.metrics().failureRate, 25);
  fail(breaker); // window: F S S F = 50 %
  assert.equal(breaker.state, "open");
  assert.equal(breaker.metrics().failureRate, 50);
});

Deno.test("CircuitBreaker count window forgets calls beyond its size", () => {
  const { breaker } = setup({ slidingWindow: { type: "count", size: 5 }, minimumNumberOfCalls: 5 });
  fail(breaker, 2);
  succeed(breaker, 3);
  assert.deepEqual(pickRates(breaker), { calls: 5, failedCalls: 2, failureRate: 40 });
  succeed(breaker, 2);
  assert.deepEqual(pickRates(breaker), { calls: 5, failedCalls: 0, failureRate: 0 });
});

Deno.test("CircuitBreaker caps minimumNumberOfCalls at the size of a count window", () => {
  const { breaker } = setup({
    slidingWindow: { type: "count", size: 2 },
    minimumNumberOfCalls: 10,
  });
  fail(breaker, 2);
  assert.equal(breaker.state, "open");
});

Deno.test("CircuitBreaker time window counts the calls of the last sizeMs only", () => {
  const { breaker, clock } = setup({
    slidingWindow: { type: "time", sizeMs: 10_000, bucketMs: 1_000 },
    minimumNumberOfCalls: 5,
  });
  fail(breaker, 2);
  clock.advance(5_000);
  succeed(breaker, 2);
  assert.deepEqual(pickRates(breaker), { calls: 4, failedCalls: 2, failureRate: 50 });
  clock.advance(5_000); // the two failures fall out of the window
  assert.deepEqual(pickRates(breaker), { calls: 2, failedCalls: 0, failureRate: 0 });
  fail(breaker, 2);
  succeed(breaker, 1);
  assert.equal(breaker.state, "closed"); // 2 of 5 = 40 %
  fail(breaker, 1); // 3 of 6 = 50 %
  assert.equal(breaker.state, "open");
});

Deno.test("CircuitBreaker time window of spread failures opens the breaker", () => {
  const { breaker, clock } = setup({
    slidingWindow: { type: "time", sizeMs: 10_000 },
    minimumNumberOfCalls: 5,
  });
  for (let i = 0; i < 4; i++) {
    fail(breaker);
    clock.advance(2_000);
  }
  assert.equal(breaker.state, "closed");
  fail(breaker);
  assert.equal(breaker.state, "open");
});

Deno.test("CircuitBreaker opens on the slow-call rate", () => {
  const { breaker, events } = setup({ slowCallRateThreshold: 50, slowCallDurationMs: 1_000 });
  succeed(breaker, 1, 1_001);
  succeed(breaker, 2, 10);
  assert.equal(breaker.state, "closed");
  succeed(breaker, 1, 5_000);
  assert.equal(breaker.state, "open");
  assert.equal(events[0]?.reason, "slow_call_rate");
});

Deno.test("CircuitBreaker measures a call with its clock when no duration is given", () => {
  const { breaker, clock } = setup({ slowCallRateThreshold: 50, slowCallDurationMs: 1_000 });
  for (let i = 0; i < 2; i++) {
    const permit = take(breaker);
    clock.advance(1_500);
    permit.onSuccess();
  }
  assert.equal(breaker.metrics().slowCalls, 2);
});

Deno.test("CircuitBreaker never opens on a caller's mistakes", () => {
  const { breaker } = setup();
  fail(breaker, 50, new NotFoundError("ORDER_NOT_FOUND", "no such order"));
  fail(breaker, 50, new FlotillaError("BAD", "bad", { kind: "INVALID_ARGUMENT" }));
  assert.equal(breaker.state, "closed");
  assert.deepEqual(pickRates(breaker), { calls: 10, failedCalls: 0, failureRate: 0 });
});

Deno.test("CircuitBreaker ignores cancelled calls and released permits", () => {
  const { breaker } = setup();
  fail(breaker, 20, cancelled());
  for (let i = 0; i < 20; i++) take(breaker).release();
  assert.equal(breaker.metrics().calls, 0);
});

Deno.test("CircuitBreaker takes a replaceable classification", () => {
  const { breaker } = setup({ classify: () => "failure" });
  fail(breaker, 4, new NotFoundError("X", "x"));
  assert.equal(breaker.state, "open");
});

Deno.test("CircuitBreaker.tryAcquire() rejects while open and counts rejections", () => {
  const { breaker, clock } = setup({ endpoint: "inventory-1" });
  fail(breaker, 4);
  assert.equal(breaker.tryAcquire(), undefined);
  assert.equal(breaker.isCallPermitted(), false);
  clock.advance(1_500);
  assert.equal(breaker.retryAfterMs(), 3_500);
  assert.throws(() => breaker.acquire(), (error: unknown) => {
    assert.ok(error instanceof CircuitOpenError);
    assert.equal(error.code, "CIRCUIT_OPEN");
    assert.equal(error.kind, "UNAVAILABLE");
    assert.equal(error.retryable, true);
    assert.deepEqual(error.data, { endpoint: "inventory-1", retryAfterMs: 3_500 });
    return true;
  });
  assert.equal(breaker.metrics().rejectedCalls, 2);
});

Deno.test("CircuitBreaker moves open -> half_open lazily once the wait is over", () => {
  const { breaker, clock, events } = setup();
  fail(breaker, 4);
  clock.advance(4_999);
  assert.equal(breaker.tryAcquire(), undefined);
  clock.advance(1);
  assert.equal(breaker.isCallPermitted(), true);
  assert.equal(breaker.state, "half_open");
  assert.deepEqual(events.at(-1), {
    type: "state_change",
    from: "open",
    to: "half_open",
    reason: "wait_elapsed",
    at: 1_005_000,
  });
});

Deno.test("CircuitBreaker lets exactly permittedCallsInHalfOpen probes through", () => {
  const { breaker, clock } = setup({ permittedCallsInHalfOpen: 3 });
  halfOpen(breaker, clock);
  const probes = [take(breaker), take(breaker), take(breaker)];
  assert.ok(probes.every((p) => p.probe));
  assert.equal(breaker.tryAcquire(), undefined);
  assert.equal(breaker.isCallPermitted(), false);
  assert.equal(breaker.metrics().probesInFlight, 3);
  assert.equal(breaker.retryAfterMs(), 10_000); // until the oldest probe times out
  assert.throws(() => breaker.acquire(), CircuitOpenError);
});

Deno.test("CircuitBreaker closes, with an empty window, after the probes succeed", () => {
  const { breaker, clock, events } = setup();
  halfOpen(breaker, clock);
  const probes = [take(breaker), take(breaker), take(breaker)];
  probes[0]!.onSuccess(1);
  probes[1]!.onSuccess(1);
  assert.equal(breaker.state, "half_open");
  probes[2]!.onSuccess(1);
  assert.equal(breaker.state, "closed");
  assert.equal(events.at(-1)?.reason, "probes_passed");
  assert.equal(breaker.metrics().calls, 0);
  fail(breaker, 3);
  assert.equal(breaker.state, "closed"); // a fresh window needs 4 calls again
});

Deno.test("CircuitBreaker closes when one probe of three fails (33 % < 50 %)", () => {
  const { breaker, clock } = setup();
  halfOpen(breaker, clock);
  const probes = [take(breaker), take(breaker), take(breaker)];
  probes[0]!.onError(down(), 1);
  probes[1]!.onSuccess(1);
  probes[2]!.onSuccess(1);
  assert.equal(breaker.state, "closed");
});

Deno.test("CircuitBreaker reopens as soon as failed probes reach the threshold", () => {
  const { breaker, clock, events } = setup();
  halfOpen(breaker, clock);
  const probes = [take(breaker), take(breaker), take(breaker)];
  probes[0]!.onError(down(), 1);
  assert.equal(breaker.state, "half_open");
  probes[1]!.onError(down(), 1);
  assert.equal(breaker.state, "open");
  assert.deepEqual(events.at(-1)?.reason, "failure_rate");
  assert.equal(breaker.retryAfterMs(), 5_000);
  probes[2]!.onSuccess(1); // late: ignored
  assert.equal(breaker.state, "open");
  assert.equal(breaker.retryAfterMs(), 5_000);
});

Deno.test("CircuitBreaker with one permitted probe reopens on its failure", () => {
  const { breaker, clock } = setup({ permittedCallsInHalfOpen: 1 });
  halfOpen(breaker, clock);
  take(breaker).onError(down(), 1);
  assert.equal(breaker.state, "open");
});

Deno.test("CircuitBreaker reopens on slow probes", () => {
  const { breaker, clock } = setup({ slowCallRateThreshold: 60, slowCallDurationMs: 100 });
  halfOpen(breaker, clock);
  const probes = [take(breaker), take(breaker), take(breaker)];
  probes[0]!.onSuccess(500);
  probes[1]!.onSuccess(500);
  assert.equal(breaker.state, "open");
});

Deno.test("CircuitBreaker frees the slot of a probe that hangs past its timeout", () => {
  const { breaker, clock } = setup({ halfOpenProbeTimeoutMs: 2_000 });
  halfOpen(breaker, clock);
  const hung = take(breaker);
  const probes = [take(breaker), take(breaker)];
  probes[0]!.onSuccess(1);
  probes[1]!.onSuccess(1);
  assert.equal(breaker.state, "half_open");
  clock.advance(1_999);
  assert.equal(breaker.state, "half_open");
  clock.advance(1);
  // The hung probe counts as a failure: 1 of 3, under 50 %, so the breaker closes.
  assert.equal(breaker.state, "closed");
  hung.onSuccess(1); // late: ignored
  hung.onError(down(), 1);
  assert.equal(breaker.metrics().calls, 0);
});

Deno.test("CircuitBreaker reopens when every probe hangs, then probes again", () => {
  const { breaker, clock, events } = setup();
  halfOpen(breaker, clock);
  const hung = [take(breaker), take(breaker), take(breaker)];
  clock.advance(10_000);
  assert.equal(breaker.tryAcquire(), undefined);
  assert.equal(breaker.state, "open");
  for (const probe of hung) probe.onSuccess(1);
  assert.equal(breaker.state, "open");
  clock.advance(5_000);
  assert.equal(take(breaker).probe, true);
  assert.deepEqual(events.map((e) => e.to), ["open", "half_open", "open", "half_open"]);
});

Deno.test("CircuitBreaker lets another probe take the slot of a released one", () => {
  const { breaker, clock } = setup({ permittedCallsInHalfOpen: 2 });
  halfOpen(breaker, clock);
  const first = take(breaker);
  take(breaker).onError(cancelled(), 1);
  const third = take(breaker);
  assert.equal(breaker.tryAcquire(), undefined);
  first.release();
  const fourth = take(breaker);
  third.onSuccess(1);
  fourth.onSuccess(1);
  assert.equal(breaker.state, "closed");
});

Deno.test("CircuitBreaker ignores the completion of permits taken before a transition", () => {
  const { breaker, clock } = setup();
  const stale = [take(breaker), take(breaker), take(breaker)];
  fail(breaker, 4);
  clock.advance(5_000);
  const probe = take(breaker);
  for (const permit of stale) permit.onError(down(), 1);
  assert.equal(breaker.state, "half_open");
  assert.equal(breaker.metrics().calls, 0);
  probe.onSuccess(1);
  assert.equal(breaker.metrics().calls, 1);
});

Deno.test("BreakerPermit counts only its first completion", () => {
  const { breaker } = setup();
  const permit = take(breaker);
  permit.onError(down(), 1);
  permit.onError(down(), 1);
  permit.onSuccess(1);
  permit.release();
  assert.deepEqual(pickRates(breaker), { calls: 1, failedCalls: 1, failureRate: 100 });
});

Deno.test("CircuitBreaker.execute() counts the outcome and rejects while open", async () => {
  const { breaker } = setup();
  assert.equal(await breaker.execute(() => 42), 42);
  for (let i = 0; i < 3; i++) {
    await assert.rejects(breaker.execute(() => Promise.reject(down())), UnavailableError);
  }
  assert.deepEqual(pickRates(breaker), { calls: 4, failedCalls: 3, failureRate: 75 });
  assert.equal(breaker.state, "open");
  let called = false;
  await assert.rejects(
    breaker.execute(() => {
      called = true;
    }),
    CircuitOpenError,
  );
  assert.equal(called, false);
});

Deno.test("CircuitBreaker.reset() closes the breaker and forgets the window", () => {
  const { breaker, events } = setup();
  fail(breaker, 4);
  breaker.reset();
  assert.equal(breaker.state, "closed");
  assert.equal(events.at(-1)?.reason, "reset");
  assert.equal(breaker.metrics().calls, 0);
});

Deno.test("CircuitBreaker.onStateChange() unsubscribes, and a throwing listener fails nothing", () => {
  const { breaker, clock } = setup();
  const seen: CircuitState[] = [];
  const stop = breaker.onStateChange((event) => seen.push(event.to));
  breaker.onStateChange(() => {
    throw new Error("listener bug");
  });
  fail(breaker, 4);
  stop();
  clock.advance(5_000);
  assert.equal(breaker.state, "half_open");
  assert.deepEqual(seen, ["open"]);
});

Deno.test("CircuitBreaker() throws RangeError on out-of-range options", () => {
  assert.throws(() => new CircuitBreaker({ failureRateThreshold: 0 }), {
    name: "RangeError",
    message:
      "Cannot create the circuit breaker as 'failureRateThreshold' must be a percentage in (0, 100]: current value is 0",
  });
  assert.throws(() => new CircuitBreaker({ slowCallRateThreshold: 101 }), RangeError);
  assert.throws(() => new CircuitBreaker({ slidingWindow: { type: "count", size: 0 } }), {
    message:
      "Cannot create the circuit breaker as 'slidingWindow.size' must be a positive integer: current value is 0",
  });
  assert.throws(
    () => new CircuitBreaker({ slidingWindow: { type: "time", sizeMs: 1_000, bucketMs: 2_000 } }),
    RangeError,
  );
  assert.throws(
    () => new CircuitBreaker({ slidingWindow: { type: "sliding" } as never }),
    RangeError,
  );
  assert.throws(() => new CircuitBreaker({ minimumNumberOfCalls: 1.5 }), RangeError);
  assert.throws(() => new CircuitBreaker({ waitDurationInOpenMs: -1 }), RangeError);
  assert.throws(() => new CircuitBreaker({ permittedCallsInHalfOpen: 0 }), RangeError);
  assert.throws(() => new CircuitBreaker({ halfOpenProbeTimeoutMs: Infinity }), RangeError);
  assert.throws(() => new CircuitBreaker({ slowCallDurationMs: Number.NaN }), RangeError);
});

function pickRates(breaker: CircuitBreaker) {
  const { calls, failedCalls, failureRate } = breaker.metrics();
  return { calls, failedCalls, failureRate };
}

// --- Properties ----------------------------------------------------------------

type Outcome = "success" | "slow" | "failure" | "mistake" | "cancel" | "release";

type Command =
  | { type: "acquire"; count: number }
  | { type: "complete"; index: number; outcome: Outcome }
  | { type: "advance"; ms: number };

const outcomeArb: fc.Arbitrary<Outcome> = fc.oneof(
  { arbitrary: fc.constant("failure" as const), weight: 5 },
  { arbitrary: fc.constant("success" as const), weight: 3 },
  { arbitrary: fc.constant("slow" as const), weight: 1 },
  { arbitrary: fc.constant("mistake" as const), weight: 1 },
  { arbitrary: fc.constant("cancel" as const), weight: 1 },
  { arbitrary: fc.constant("release" as const), weight: 1 },
);

// Biased towards failures and short waits, so that runs open the breaker,
// fill its probe slots, let probes hang and time out, and close it again.
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    arbitrary: fc.record({
      type: fc.constant("acquire" as const),
      count: fc.integer({ min: 1, max: 6 }),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      type: fc.constant("complete" as const),
      index: fc.nat(20),
      outcome: outcomeArb,
    }),
    weight: 5,
  },
  {
    arbitrary: fc.record({
      type: fc.constant("advance" as const),
      ms: fc.oneof(fc.nat(1_000), fc.nat(12_000)),
    }),
    weight: 2,
  },
);

const optionsArb = fc.record({
  permittedCallsInHalfOpen: fc.integer({ min: 1, max: 5 }),
  minimumNumberOfCalls: fc.integer({ min: 1, max: 6 }),
  failureRateThreshold: fc.integer({ min: 1, max: 100 }),
  slowCallRateThreshold: fc.integer({ min: 1, max: 100 }),
  waitDurationInOpenMs: fc.integer({ min: 0, max: 8_000 }),
  halfOpenProbeTimeoutMs: fc.oneof(
    fc.integer({ min: 1, max: 2_000 }),
    fc.integer({ min: 1, max: 15_000 }),
  ),
  time: fc.boolean(),
});

type BreakerCase = typeof optionsArb extends fc.Arbitrary<infer T> ? T : never;

const ALLOWED: ReadonlySet<string> = new Set([
  "closed>open",
  "open>half_open",
  "half_open>open",
  "half_open>closed",
]);

/** What a run went through, to check that the generator reaches the interesting states. */
interface Coverage {
  probesFull: boolean;
  probeTimedOut: boolean;
  closedAfterProbes: boolean;
  reopened: boolean;
}

function run(
  options: BreakerCase,
  commands: readonly Command[],
  onStep: (breaker: CircuitBreaker, clock: ManualClock) => void = () => {},
) {
  const clock = new ManualClock(0);
  const breaker = new CircuitBreaker({
    ...options,
    slidingWindow: options.time
      ? { type: "time", sizeMs: 5_000, bucketMs: 500 }
      : { type: "count", size: 8 },
    slowCallDurationMs: 100,
    clock,
  });
  const coverage: Coverage = {
    probesFull: false,
    probeTimedOut: false,
    closedAfterProbes: false,
    reopened: false,
  };
  // Half-open episodes: probes granted, and probes released before their timeout, in each.
  let episode = 0;
  let seenState: CircuitState = "closed";
  const granted = new Map<number, number>();
  const released = new Map<number, number>();
  const outstanding: Array<{ permit: BreakerPermit; episode: number; at: number }> = [];
  breaker.onStateChange((event) => {
    assert.ok(ALLOWED.has(`${event.from}>${event.to}`), `${event.from} -> ${event.to}`);
    seenState = event.to;
    if (event.to === "half_open") episode++;
    if (event.from === "half_open") {
      if (event.to === "closed") coverage.closedAfterProbes = true;
      else coverage.reopened = true;
    }
  });
  const check = () => {
    // Coverage first, from the events seen so far: reading `state` applies due timeouts.
    if (
      seenState === "half_open" &&
      outstanding.some((o) =>
        o.episode === episode && o.permit.probe &&
        clock.now() - o.at >= options.halfOpenProbeTimeoutMs
      )
    ) {
      coverage.probeTimedOut = true;
    }
    if (breaker.state !== "half_open") return;
    const counted = (granted.get(episode) ?? 0) - (released.get(episode) ?? 0);
    assert.ok(counted <= options.permittedCallsInHalfOpen, `${counted} probes counted`);
    const running = outstanding.filter((o) => o.episode === episode && o.permit.probe);
    assert.ok(running.length <= options.permittedCallsInHalfOpen, `${running.length} running`);
  };
  for (const command of commands) {
    if (command.type === "acquire") {
      for (let i = 0; i < command.count; i++) {
        const permit = breaker.tryAcquire();
        if (permit === undefined) {
          if (breaker.state === "half_open") coverage.probesFull = true;
          continue;
        }
        outstanding.push({ permit, episode, at: clock.now() });
        if (permit.probe) granted.set(episode, (granted.get(episode) ?? 0) + 1);
      }
    } else if (command.type === "advance") {
      clock.advance(command.ms);
    } else if (outstanding.length > 0) {
      const [taken] = outstanding.splice(command.index % outstanding.length, 1);
      const { permit } = taken!;
      const releasesSlot = command.outcome === "release" || command.outcome === "cancel";
      if (
        releasesSlot && permit.probe && breaker.state === "half_open" &&
        taken!.episode === episode && clock.now() - taken!.at < options.halfOpenProbeTimeoutMs
      ) {
        // A probe released before its timeout frees its slot; a timed-out one stays counted.
        released.set(episode, (released.get(episode) ?? 0) + 1);
      }
      completeWith(permit, command.outcome);
    }
    check();
    onStep(breaker, clock);
  }
  return { breaker, clock, coverage };
}

function completeWith(permit: BreakerPermit, outcome: string): void {
  switch (outcome) {
    case "success":
      return permit.onSuccess(1);
    case "slow":
      return permit.onSuccess(1_000);
    case "failure":
      return permit.onError(down(), 1);
    case "mistake":
      return permit.onError(new NotFoundError("X", "x"), 1);
    case "cancel":
      return permit.onError(cancelled(), 1);
    default:
      return permit.release();
  }
}

Deno.test("CircuitBreaker never has more than permittedCallsInHalfOpen probes, under any interleaving", () => {
  const seen = { probesFull: 0, probeTimedOut: 0, closedAfterProbes: 0, reopened: 0 };
  fc.assert(
    fc.property(
      optionsArb,
      fc.array(commandArb, { minLength: 10, maxLength: 150, size: "max" }),
      (options, commands) => {
        const { coverage } = run(options, commands);
        for (const key of Object.keys(seen) as Array<keyof Coverage>) {
          if (coverage[key]) seen[key]++;
        }
      },
    ),
    { numRuns: 500 },
  );
  // The runs did reach the states the property is about.
  for (const [key, count] of Object.entries(seen)) assert.ok(count >= 25, `${key}: ${count} runs`);
});

Deno.test("CircuitBreaker is never stuck: it lets a call through within waitDuration + probe timeout", () => {
  fc.assert(
    fc.property(
      optionsArb,
      fc.array(commandArb, { maxLength: 100, size: "max" }),
      (options, commands) => {
        const { breaker, clock } = run(options, commands);
        const step = Math.max(options.waitDurationInOpenMs, options.halfOpenProbeTimeoutMs);
        let permit: BreakerPermit | undefined;
        for (let round = 0; round < 2 && permit === undefined; round++) {
          clock.advance(step);
          permit = breaker.tryAcquire();
        }
        assert.ok(permit !== undefined, `still rejecting in state ${breaker.state}`);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("CircuitBreaker never opens on caller mistakes, cancellations and successes", () => {
  const safe = commandArb.filter((c) =>
    c.type !== "complete" || (c.outcome !== "failure" && c.outcome !== "slow")
  );
  fc.assert(
    fc.property(
      optionsArb,
      fc.array(safe, { maxLength: 150, size: "max" }),
      (options, commands) => {
        run(options, commands, (breaker) => {
          assert.equal(breaker.state, "closed");
        });
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("CircuitBreaker count window rates match the last `size` outcomes", () => {
  const windowOutcomeArb = fc.constantFrom("success", "slow", "failure", "mistake");
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 100 }),
      fc.array(windowOutcomeArb, { maxLength: 60, size: "max" }),
      (size, minimum, threshold, outcomes) => {
        const breaker = new CircuitBreaker({
          clock: new ManualClock(0),
          slidingWindow: { type: "count", size },
          minimumNumberOfCalls: minimum,
          failureRateThreshold: threshold,
          slowCallDurationMs: 100,
        });
        const model: boolean[] = [];
        for (const outcome of outcomes) {
          completeWith(take(breaker), outcome);
          model.push(outcome === "failure");
          const window = model.slice(-size);
          const failures = window.filter(Boolean).length;
          const slow = outcomes.slice(0, model.length).slice(-size).filter((o) => o === "slow")
            .length;
          const metrics = breaker.metrics();
          // The default slowCallRateThreshold, 100, opens when every call in the window is slow.
          const opens = window.length >= Math.min(minimum, size) &&
            (failures * 100 >= threshold * window.length || slow === window.length);
          if (opens) {
            assert.equal(metrics.state, "open");
            return;
          }
          assert.equal(metrics.state, "closed");
          assert.equal(metrics.calls, window.length);
          assert.equal(metrics.failedCalls, failures);
          assert.equal(metrics.slowCalls, slow);
          assert.equal(metrics.failureRate, (failures * 100) / window.length);
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("CircuitBreaker time window rates match the calls of the buckets in the window", () => {
  const eventArb = fc.record({ advance: fc.nat(3_000), failed: fc.boolean() });
  fc.assert(
    fc.property(fc.array(eventArb, { maxLength: 60, size: "max" }), (events) => {
      const clock = new ManualClock(0);
      const breaker = new CircuitBreaker({
        clock,
        slidingWindow: { type: "time", sizeMs: 10_000, bucketMs: 1_000 },
        failureRateThreshold: 100,
        minimumNumberOfCalls: 1_000,
      });
      const model: Array<{ at: number; failed: boolean }> = [];
      for (const event of events) {
        clock.advance(event.advance);
        if (event.failed) fail(breaker);
        else succeed(breaker);
        model.push({ at: clock.now(), failed: event.failed });
        const bucket = Math.floor(clock.now() / 1_000);
        const inWindow = model.filter((m) => Math.floor(m.at / 1_000) > bucket - 10);
        const metrics = breaker.metrics();
        assert.equal(metrics.calls, inWindow.length);
        assert.equal(metrics.failedCalls, inWindow.filter((m) => m.failed).length);
      }
    }),
    { numRuns: 300 },
  );
});
