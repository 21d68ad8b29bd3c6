import assert from "node:assert/strict";
import fc from "fast-check";
import { NoEndpointsError } from "./errors.ts";
import { RandomBalancer } from "./random_balancer.ts";
import { countById, makeEndpoints, seededRandom } from "./_test_util.ts";

Deno.test("RandomBalancer.pick() maps random() onto the list", () => {
  const endpoints = makeEndpoints(4);
  const at = (value: number) => new RandomBalancer({ random: () => value }).pick(endpoints).id;
  assert.equal(at(0), "e0");
  assert.equal(at(0.26), "e1");
  assert.equal(at(0.999999), "e3");
  // A misbehaving source never indexes out of the list.
  assert.equal(at(1), "e3");
  assert.equal(at(-0.5), "e0");
  assert.equal(at(NaN), "e0");
});

Deno.test("RandomBalancer.pick() spreads picks evenly", () => {
  const endpoints = makeEndpoints(5);
  const balancer = new RandomBalancer({ random: seededRandom(42) });
  const counts = countById(Array.from({ length: 10_000 }, () => balancer.pick(endpoints)));
  for (const count of counts.values()) assert.ok(count > 1_800 && count < 2_200, `${count}`);
});

Deno.test("RandomBalancer.pick() only returns members of the list it is given", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 20 }), fc.integer(), (n, seed) => {
      const endpoints = makeEndpoints(n);
      const balancer = new RandomBalancer({ random: seededRandom(seed) });
      for (let i = 0; i < 20; i++) assert.ok(endpoints.includes(balancer.pick(endpoints)));
    }),
  );
});

Deno.test("RandomBalancer.pick() throws NoEndpointsError on an empty list", () => {
  assert.throws(() => new RandomBalancer().pick([]), NoEndpointsError);
});
