import assert from "node:assert/strict";
import fc from "fast-check";
import type { Endpoint } from "./balancer.ts";
import { ConsistentHashBalancer } from "./consistent_hash_balancer.ts";
import { NoEndpointsError } from "./errors.ts";
import { countById, makeEndpoints, seededRandom } from "./_test_util.ts";

const KEYS = Array.from({ length: 2_000 }, (_, i) => `order-${i}`);

function owners(
  balancer: ConsistentHashBalancer,
  endpoints: readonly Endpoint[],
  keys: readonly string[] = KEYS,
): string[] {
  return keys.map((key) => balancer.pick(endpoints, { key }).id);
}

const ids = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), {
  minLength: 2,
  maxLength: 12,
});

Deno.test("ConsistentHashBalancer.pick() maps the same key to the same endpoint", () => {
  const endpoints = makeEndpoints(5);
  const balancer = new ConsistentHashBalancer();
  const first = owners(balancer, endpoints);
  assert.deepEqual(owners(balancer, endpoints), first);
  // A fresh array of fresh objects with the same ids: same mapping, current objects.
  const copies = endpoints.map((endpoint) => ({ ...endpoint }));
  assert.deepEqual(owners(balancer, copies), first);
  assert.ok(copies.includes(balancer.pick(copies, { key: "order-1" })));
});

Deno.test("ConsistentHashBalancer.pick() depends only on the set of ids, not order or instance", () => {
  fc.assert(
    fc.property(ids, fc.integer(), (idList, seed) => {
      const endpoints = idList.map((id) => ({ id }));
      const shuffled = [...endpoints].sort(() => seededRandom(seed)() - 0.5).reverse();
      const keys = KEYS.slice(0, 200);
      assert.deepEqual(
        owners(new ConsistentHashBalancer(), shuffled, keys),
        owners(new ConsistentHashBalancer(), endpoints, keys),
      );
    }),
    { numRuns: 50 },
  );
});

Deno.test("ConsistentHashBalancer.pick() moves only the keys of a removed endpoint, about 1/n", () => {
  fc.assert(
    fc.property(ids, fc.nat(), (idList, removeAt) => {
      const endpoints = idList.map((id) => ({ id }));
      const n = endpoints.length;
      const removed = endpoints[removeAt % n]!;
      const survivors = endpoints.filter((endpoint) => endpoint !== removed);
      const balancer = new ConsistentHashBalancer();
      const before = owners(balancer, endpoints);
      const after = owners(balancer, survivors);
      let moved = 0;
      for (let i = 0; i < KEYS.length; i++) {
        if (before[i] === removed.id) {
          moved++;
          assert.notEqual(after[i], removed.id);
        } else {
          // Never moves a key between two surviving endpoints.
          assert.equal(
            after[i],
            before[i],
            `key ${KEYS[i]} moved from ${before[i]} to ${after[i]}`,
          );
        }
      }
      const share = moved / KEYS.length;
      assert.ok(share > 0.3 / n && share < 2.5 / n, `moved ${share} of keys with n = ${n}`);
      // When it comes back, its keys return to it.
      assert.deepEqual(owners(balancer, endpoints), before);
    }),
    { numRuns: 60 },
  );
});

Deno.test("ConsistentHashBalancer.pick() spreads keys evenly with 100 virtual nodes", () => {
  const endpoints = makeEndpoints(10);
  const keys = Array.from({ length: 20_000 }, (_, i) => `user:${i}`);
  const balancer = new ConsistentHashBalancer();
  const counts = countById(keys.map((key) => balancer.pick(endpoints, { key })));
  assert.equal(counts.size, 10);
  for (const [id, count] of counts) {
    assert.ok(count > 0.7 * 2_000 && count < 1.3 * 2_000, `${id}: ${count}`);
  }
  // Removing one of ten moves about a tenth.
  const before = owners(balancer, endpoints, keys);
  const after = owners(balancer, endpoints.slice(1), keys);
  const moved = keys.filter((_, i) => before[i] !== after[i]).length;
  assert.ok(moved > 0.07 * keys.length && moved < 0.13 * keys.length, `${moved}`);
});

Deno.test("ConsistentHashBalancer.pick() only returns members of the list it is given", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          mask: fc.integer({ min: 1, max: 63 }),
          key: fc.option(fc.string(), { nil: undefined }),
          fresh: fc.boolean(),
        }),
        { minLength: 1, maxLength: 60 },
      ),
      (steps) => {
        const pool = makeEndpoints(6);
        const balancer = new ConsistentHashBalancer({ virtualNodes: 8 });
        for (const { mask, key, fresh } of steps) {
          const eligible = pool.filter((_, i) => (mask & (1 << i)) !== 0)
            .map((endpoint) => fresh ? { ...endpoint } : endpoint);
          assert.ok(eligible.includes(balancer.pick(eligible, { key })));
        }
      },
    ),
  );
});

Deno.test("ConsistentHashBalancer.pick() without a key falls back to round robin", () => {
  const endpoints = makeEndpoints(3);
  const balancer = new ConsistentHashBalancer({ random: () => 0 });
  const picked = Array.from({ length: 6 }, () => balancer.pick(endpoints).id);
  assert.deepEqual(picked, ["e0", "e1", "e2", "e0", "e1", "e2"]);
});

Deno.test("ConsistentHashBalancer.pick() treats duplicate ids as one endpoint", () => {
  const a = { id: "a" };
  const b = { id: "b" };
  const balancer = new ConsistentHashBalancer();
  const plain = owners(balancer, [a, b], KEYS.slice(0, 100));
  const duplicated = owners(balancer, [a, b, { id: "a" }], KEYS.slice(0, 100));
  assert.deepEqual(duplicated, plain);
});

Deno.test("ConsistentHashBalancer.pick() throws NoEndpointsError on an empty list", () => {
  const balancer = new ConsistentHashBalancer();
  assert.throws(() => balancer.pick([], { key: "k" }), NoEndpointsError);
  assert.throws(() => balancer.pick([]), NoEndpointsError);
});

Deno.test("ConsistentHashBalancer() throws RangeError when virtualNodes is not a positive integer", () => {
  assert.throws(() => new ConsistentHashBalancer({ virtualNodes: 0 }), {
    name: "RangeError",
    message:
      "Cannot create the consistent_hash balancer as 'virtualNodes' must be an integer between 1 and 65536: current value is 0",
  });
  assert.throws(() => new ConsistentHashBalancer({ virtualNodes: 1.5 }), RangeError);
});
