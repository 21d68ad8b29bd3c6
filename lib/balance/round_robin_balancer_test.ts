import assert from "node:assert/strict";
import fc from "fast-check";
import { NoEndpointsError } from "./errors.ts";
import { RoundRobinBalancer } from "./round_robin_balancer.ts";
import { countById, makeEndpoints, seededRandom } from "./_test_util.ts";

Deno.test("RoundRobinBalancer.pick() rotates in list order from a random start", () => {
  const endpoints = makeEndpoints(4);
  const balancer = new RoundRobinBalancer({ random: () => 0.5 });
  const ids = Array.from({ length: 6 }, () => balancer.pick(endpoints).id);
  assert.deepEqual(ids, ["e2", "e3", "e0", "e1", "e2", "e3"]);
});

Deno.test("RoundRobinBalancer.pick() gives each of n endpoints exactly k of k·n picks", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 30 }),
      fc.integer({ min: 1, max: 20 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (n, k, start) => {
        const endpoints = makeEndpoints(n);
        const balancer = new RoundRobinBalancer({ random: () => start });
        const counts = countById(Array.from({ length: k * n }, () => balancer.pick(endpoints)));
        assert.equal(counts.size, n);
        for (const count of counts.values()) assert.equal(count, k);
      },
    ),
  );
});

Deno.test("RoundRobinBalancer.pick() keeps rotating as the eligible set changes", () => {
  const [a, b, c, d] = [{ id: "a" }, { id: "b" }, { id: "c" }, { id: "d" }];
  const balancer = new RoundRobinBalancer({ random: () => 0 });
  assert.equal(balancer.pick([a, b, c]), a);
  assert.equal(balancer.pick([a, b, c]), b);
  // b's breaker opens: the rotation continues over what is left.
  assert.equal(balancer.pick([a, c]), a);
  assert.equal(balancer.pick([a, c]), c);
  assert.equal(balancer.pick([a, c]), a);
  // d joins and b comes back.
  const four = [a, b, c, d];
  const counts = countById(Array.from({ length: 40 }, () => balancer.pick(four)));
  assert.deepEqual([...counts.values()], [10, 10, 10, 10]);
});

Deno.test("RoundRobinBalancer.pick() only returns members of the list it is given", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 50 }),
      fc.integer(),
      (sizes, seed) => {
        const balancer = new RoundRobinBalancer({ random: seededRandom(seed) });
        for (const size of sizes) {
          const endpoints = makeEndpoints(size);
          assert.ok(endpoints.includes(balancer.pick(endpoints)));
        }
      },
    ),
  );
});

Deno.test("RoundRobinBalancer.pick() throws NoEndpointsError on an empty list", () => {
  const balancer = new RoundRobinBalancer();
  assert.throws(() => balancer.pick([], { service: "payment" }), (error) => {
    assert.ok(error instanceof NoEndpointsError);
    assert.equal(error.service, "payment");
    return true;
  });
});

Deno.test("RoundRobinBalancer.start() returns a shared no-op", () => {
  const balancer = new RoundRobinBalancer();
  const [a, b] = [{ id: "a" }, { id: "b" }];
  assert.equal(balancer.start(a), balancer.start(b));
  balancer.start(a)({ latencyMs: 1, ok: true });
  assert.equal(balancer.name, "round_robin");
});
