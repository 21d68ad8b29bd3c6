import assert from "node:assert/strict";
import fc from "fast-check";
import { ManualClock } from "@flotilla/core";
import type { BalancerName, CallOutcome, Endpoint } from "./balancer.ts";
import { ConsistentHashBalancer } from "./consistent_hash_balancer.ts";
import { BALANCER_NAMES, createBalancer, DEFAULT_BALANCER } from "./create_balancer.ts";
import { NoEndpointsError } from "./errors.ts";
import { LeastOutstandingBalancer } from "./least_outstanding_balancer.ts";
import { P2cEwmaBalancer } from "./p2c_ewma_balancer.ts";
import { RandomBalancer } from "./random_balancer.ts";
import { RoundRobinBalancer } from "./round_robin_balancer.ts";
import { makeEndpoints, seededRandom } from "./_test_util.ts";

Deno.test("createBalancer() creates each built-in strategy by name", () => {
  const expected: Record<BalancerName, unknown> = {
    round_robin: RoundRobinBalancer,
    random: RandomBalancer,
    least_outstanding: LeastOutstandingBalancer,
    p2c_ewma: P2cEwmaBalancer,
    consistent_hash: ConsistentHashBalancer,
  };
  assert.deepEqual([...BALANCER_NAMES].sort(), Object.keys(expected).sort());
  for (const name of BALANCER_NAMES) {
    const balancer = createBalancer(name);
    assert.ok(balancer instanceof (expected[name] as new () => unknown));
    assert.equal(balancer.name, name);
  }
  assert.equal(DEFAULT_BALANCER, "p2c_ewma");
});

Deno.test("createBalancer() passes the options on and validates them", () => {
  const balancer = createBalancer("round_robin", { random: () => 0.5 });
  assert.equal(balancer.pick(makeEndpoints(4)).id, "e2");
  assert.throws(() => createBalancer("p2c_ewma", { decayMs: -1 }), RangeError);
  assert.throws(() => createBalancer("consistent_hash", { virtualNodes: 0 }), RangeError);
  // Options of other strategies are ignored.
  createBalancer("random", { virtualNodes: 0 });
});

Deno.test("createBalancer() throws RangeError on an unknown name", () => {
  assert.throws(() => createBalancer("fastest" as BalancerName), {
    name: "RangeError",
    message:
      `Cannot create the balancer as 'name' must be one of "round_robin", "random", "least_outstanding", "p2c_ewma", "consistent_hash": current value is "fastest"`,
  });
});

Deno.test("every strategy's pick([]) throws NoEndpointsError naming the service", () => {
  for (const name of BALANCER_NAMES) {
    const balancer = createBalancer(name);
    for (const context of [{ service: "payment" }, { service: "payment", key: "k" }]) {
      assert.throws(() => balancer.pick([], context), (error) => {
        assert.ok(error instanceof NoEndpointsError, name);
        assert.equal(error.service, "payment");
        assert.equal(error.retryable, false);
        return true;
      });
    }
  }
});

Deno.test("every strategy only ever returns a member of the eligible set", () => {
  type Step =
    | { type: "pick"; mask: number; key: string | undefined; fresh: boolean }
    | { type: "complete"; index: number; latencyMs: number; ok: boolean; advanceMs: number };
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({
      type: fc.constant("pick" as const),
      mask: fc.integer({ min: 1, max: 1023 }),
      key: fc.option(fc.string({ maxLength: 8 }), { nil: undefined }),
      fresh: fc.boolean(),
    }),
    fc.record({
      type: fc.constant("complete" as const),
      index: fc.nat(),
      latencyMs: fc.double({ min: 0, max: 1_000, noNaN: true }),
      ok: fc.boolean(),
      advanceMs: fc.integer({ min: 0, max: 120_000 }),
    }),
  );
  fc.assert(
    fc.property(
      fc.constantFrom(...BALANCER_NAMES),
      fc.array(step, { minLength: 1, maxLength: 150 }),
      fc.integer(),
      (name, steps, seed) => {
        const clock = new ManualClock(0);
        const balancer = createBalancer(name, {
          clock,
          random: seededRandom(seed),
          virtualNodes: 10,
        });
        const pool = makeEndpoints(10);
        const inFlight: ((outcome: CallOutcome) => void)[] = [];
        for (const s of steps) {
          if (s.type === "pick") {
            const eligible: Endpoint[] = pool.filter((_, i) => (s.mask & (1 << i)) !== 0)
              .map((endpoint) => s.fresh ? { ...endpoint } : endpoint);
            const chosen = balancer.pick(eligible, { key: s.key });
            assert.ok(eligible.includes(chosen), `${name} returned ${chosen.id}`);
            inFlight.push(balancer.start(chosen));
          } else if (inFlight.length > 0) {
            clock.advance(s.advanceMs);
            const [done] = inFlight.splice(s.index % inFlight.length, 1);
            done!({ latencyMs: s.latencyMs, ok: s.ok });
          }
        }
      },
    ),
  );
});
