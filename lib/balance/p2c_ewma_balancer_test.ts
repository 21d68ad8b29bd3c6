import assert from "node:assert/strict";
import fc from "fast-check";
import { ManualClock } from "@flotilla/core";
import type { Endpoint } from "./balancer.ts";
import { NoEndpointsError } from "./errors.ts";
import { P2cEwmaBalancer } from "./p2c_ewma_balancer.ts";
import { countById, makeEndpoints, seededRandom, simulate } from "./_test_util.ts";

const FAST = { id: "fast" };
const SLOW = { id: "slow" };

Deno.test("P2cEwmaBalancer.pick() sends the clear majority to the faster endpoint", () => {
  for (const concurrency of [1, 4, 16]) {
    const clock = new ManualClock(0);
    const balancer = new P2cEwmaBalancer({ clock, random: seededRandom(concurrency) });
    const picked = simulate(balancer, clock, [FAST, SLOW], {
      calls: 2_000,
      concurrency,
      latencyOf: (endpoint) => endpoint === FAST ? 5 : 50,
    });
    const fast = countById(picked).get("fast") ?? 0;
    assert.ok(fast > 0.8 * picked.length, `concurrency ${concurrency}: ${fast} of 2000 to fast`);
  }
});

Deno.test("P2cEwmaBalancer.pick() prefers faster endpoints whatever the latencies and load", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 20 }),
      fc.integer({ min: 4, max: 20 }),
      fc.integer({ min: 1, max: 8 }),
      fc.integer(),
      (fastMs, ratio, concurrency, seed) => {
        const clock = new ManualClock(1_000_000);
        const balancer = new P2cEwmaBalancer({ clock, random: seededRandom(seed) });
        const endpoints = [...makeEndpoints(2, "fast"), ...makeEndpoints(2, "slow")];
        const picked = simulate(balancer, clock, endpoints, {
          calls: 600,
          concurrency,
          latencyOf: (endpoint) => endpoint.id.startsWith("fast") ? fastMs : fastMs * ratio,
        });
        const fast = picked.filter((endpoint) => endpoint.id.startsWith("fast")).length;
        assert.ok(fast > (2 / 3) * picked.length, `${fast} of ${picked.length} to fast`);
      },
    ),
    { numRuns: 50 },
  );
});

Deno.test("P2cEwmaBalancer.pick() shifts away when the fast endpoint becomes slow", () => {
  const clock = new ManualClock(0);
  const balancer = new P2cEwmaBalancer({ clock, random: seededRandom(3) });
  const picked = simulate(balancer, clock, [FAST, SLOW], {
    calls: 4_000,
    concurrency: 4,
    // "fast" degrades to 200 ms half-way; "slow" stays at 50 ms.
    latencyOf: (endpoint, call) => endpoint === FAST ? (call < 2_000 ? 5 : 200) : 50,
  });
  const before = countById(picked.slice(0, 2_000));
  const after = countById(picked.slice(2_100));
  assert.ok((before.get("fast") ?? 0) > 1_600, `before: ${before.get("fast")}`);
  assert.ok((after.get("slow") ?? 0) > 0.75 * 1_900, `after: ${after.get("slow")}`);
});

Deno.test("P2cEwmaBalancer.pick() with a failure penalty moves traffic away from an endpoint that fails fast", () => {
  const clock = new ManualClock(0);
  const balancer = new P2cEwmaBalancer({ clock, random: seededRandom(5), failurePenaltyMs: 1_000 });
  const flaky = { id: "flaky" };
  const healthy = { id: "healthy" };
  const picked = simulate(balancer, clock, [flaky, healthy], {
    calls: 1_000,
    concurrency: 2,
    latencyOf: (endpoint) => endpoint === flaky ? 1 : 20,
    okOf: (endpoint, call) => endpoint !== flaky || call % 2 === 0,
  });
  assert.ok((countById(picked).get("healthy") ?? 0) > 900);
});

Deno.test("P2cEwmaBalancer.cost() is the decayed peak EWMA times (outstanding + 1)", () => {
  const clock = new ManualClock(0);
  const balancer = new P2cEwmaBalancer({ clock, decayMs: 10_000, failurePenaltyMs: 1_000 });
  const a = { id: "a" };
  assert.equal(balancer.cost(a), 0);
  balancer.start(a)({ latencyMs: 10, ok: true });
  assert.equal(balancer.cost(a), 10);
  // A higher sample replaces the estimate at once (peak).
  clock.advance(1);
  balancer.start(a)({ latencyMs: 40, ok: true });
  assert.equal(balancer.cost(a), 40);
  // Idle time decays the estimate with time constant decayMs.
  clock.advance(10_000);
  assertClose(balancer.cost(a), 40 * Math.exp(-1));
  // A lower sample is averaged in with the weight of the time elapsed.
  balancer.start(a)({ latencyMs: 4, ok: true });
  clock.advance(10_000);
  const expected = (40 * Math.exp(-1) + 4 * (1 - Math.exp(-1))) * Math.exp(-1);
  assertClose(balancer.cost(a), expected);
  balancer.start(a);
  balancer.start(a);
  assertClose(balancer.cost(a), expected * 3);
  assert.equal(balancer.outstanding(a), 2);
  // A failure counts as at least failurePenaltyMs (1 s).
  const b = { id: "b" };
  balancer.start(b)({ latencyMs: 3, ok: false });
  assert.equal(balancer.cost(b), 1_000);
});

Deno.test("P2cEwmaBalancer gives a new endpoint traffic, one call at a time until measured", () => {
  const clock = new ManualClock(0);
  const balancer = new P2cEwmaBalancer({ clock, random: seededRandom(9) });
  const old = makeEndpoints(3, "old");
  for (const endpoint of old) balancer.start(endpoint)({ latencyMs: 10, ok: true });
  const fresh = { id: "fresh" };
  const endpoints = [...old, fresh];
  // The fresh endpoint is cheapest, so it is picked as soon as it is sampled.
  let picks = 0;
  while (balancer.pick(endpoints) !== fresh) picks++;
  assert.ok(picks < 50);
  const done = balancer.start(fresh);
  // While its first call is in flight it loses every comparison.
  const whileCold = Array.from({ length: 200 }, () => balancer.pick(endpoints));
  assert.equal(whileCold.includes(fresh), false);
  done({ latencyMs: 5, ok: true });
  assert.equal(balancer.cost(fresh), 5);
});

Deno.test("P2cEwmaBalancer probes a slow endpoint again once its latency is old", () => {
  const clock = new ManualClock(0);
  const balancer = new P2cEwmaBalancer({ clock, random: seededRandom(11) });
  // 6 000 sequential calls of 5 ms = 30 s, three time constants.
  const picked = simulate(balancer, clock, [FAST, SLOW], {
    calls: 6_000,
    concurrency: 1,
    latencyOf: (endpoint) => endpoint === FAST ? 5 : 50,
  });
  const slowCalls = picked.flatMap((endpoint, i) => endpoint === SLOW ? [i] : []);
  assert.ok(slowCalls.length >= 2 && slowCalls.length < 10, `${slowCalls}`);
  assert.ok(slowCalls.some((i) => i > 1_000), `${slowCalls}`);
});

Deno.test("P2cEwmaBalancer forgets endpoints idle for forgetAfterMs, never one in flight", () => {
  const clock = new ManualClock(0);
  const balancer = new P2cEwmaBalancer({ clock, forgetAfterMs: 60_000 });
  const [a, b, c] = [{ id: "a" }, { id: "b" }, { id: "c" }];
  balancer.start(a)({ latencyMs: 10, ok: true });
  balancer.start(b)({ latencyMs: 10, ok: true });
  const endC = balancer.start(c);
  assert.equal(balancer.trackedEndpoints, 3);
  clock.advance(30_000);
  balancer.start(b)({ latencyMs: 10, ok: true });
  clock.advance(30_000);
  balancer.start(b)({ latencyMs: 10, ok: true }); // triggers the sweep
  assert.equal(balancer.trackedEndpoints, 2); // a forgotten; c still in flight
  assert.equal(balancer.cost(a), 0);
  assert.equal(balancer.outstanding(c), 1);
  endC({ latencyMs: 10, ok: true });
  assert.equal(balancer.outstanding(c), 0);
});

Deno.test("P2cEwmaBalancer.pick() only returns members of the list it is given", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 255 }), { minLength: 1, maxLength: 100 }),
      fc.integer(),
      (masks, seed) => {
        const clock = new ManualClock(0);
        const random = seededRandom(seed);
        const balancer = new P2cEwmaBalancer<Endpoint>({ clock, random });
        const pool = makeEndpoints(8);
        for (const mask of masks) {
          const eligible = pool.filter((_, i) => (mask & (1 << i)) !== 0);
          const chosen = balancer.pick(eligible);
          assert.ok(eligible.includes(chosen));
          const done = balancer.start(chosen);
          clock.advance(Math.floor(random() * 100));
          if (random() < 0.8) done({ latencyMs: random() * 100, ok: random() < 0.9 });
        }
      },
    ),
  );
});

Deno.test("P2cEwmaBalancer.pick() compares two distinct endpoints", () => {
  // With two endpoints both are always compared: the cheaper always wins.
  const clock = new ManualClock(0);
  const balancer = new P2cEwmaBalancer({ clock, random: seededRandom(2) });
  balancer.start(FAST)({ latencyMs: 5, ok: true });
  balancer.start(SLOW)({ latencyMs: 50, ok: true });
  for (let i = 0; i < 100; i++) assert.equal(balancer.pick([SLOW, FAST]), FAST);
});

Deno.test("P2cEwmaBalancer.pick() throws NoEndpointsError on an empty list", () => {
  assert.throws(() => new P2cEwmaBalancer().pick([], { service: "s" }), NoEndpointsError);
  assert.equal(new P2cEwmaBalancer().pick([FAST]), FAST);
});

Deno.test("P2cEwmaBalancer() throws RangeError on out-of-range options", () => {
  assert.throws(() => new P2cEwmaBalancer({ decayMs: 0 }), {
    name: "RangeError",
    message:
      "Cannot create the p2c_ewma balancer as 'decayMs' must be a positive number: current value is 0",
  });
  assert.throws(() => new P2cEwmaBalancer({ decayMs: NaN }), RangeError);
  assert.throws(() => new P2cEwmaBalancer({ failurePenaltyMs: -1 }), RangeError);
  assert.throws(() => new P2cEwmaBalancer({ forgetAfterMs: 0 }), RangeError);
  new P2cEwmaBalancer({ forgetAfterMs: Infinity, failurePenaltyMs: 0 });
});

function assertClose(actual: number, expected: number): void {
  assert.ok(Math.abs(actual - expected) < 1e-9 * Math.max(1, expected), `${actual} ≉ ${expected}`);
}

Deno.test("P2cEwmaBalancer.forget() gives a returning endpoint a fresh start", () => {
  const clock = new ManualClock(0);
  const balancer = new P2cEwmaBalancer<{ id: string }>({ clock, random: () => 0 });
  const a = { id: "a" };
  balancer.start(a)({ latencyMs: 500, ok: false });
  assert.ok(balancer.cost(a) > 0);
  balancer.forget("a");
  assert.equal(balancer.cost(a), 0);
  assert.equal(balancer.trackedEndpoints, 0);
});
