/**
 * Micro-benchmarks of the pick path of each strategy: `deno bench lib/balance/bench.ts`.
 * Not part of the tests.
 *
 * @module
 */

import type { Balancer, CallOutcome, Endpoint } from "./balancer.ts";
import { BALANCER_NAMES, createBalancer } from "./create_balancer.ts";

const OUTCOME: CallOutcome = { latencyMs: 12, ok: true };
const KEYS = Array.from({ length: 1_024 }, (_, i) => `order-${i}`);

for (const size of [3, 16, 128]) {
  const endpoints: Endpoint[] = Array.from({ length: size }, (_, i) => ({ id: `instance-${i}` }));
  for (const name of BALANCER_NAMES) {
    const balancer: Balancer = createBalancer(name);
    // Warm up state: every endpoint measured, a few calls in flight.
    for (const endpoint of endpoints) balancer.start(endpoint)(OUTCOME);
    for (let i = 0; i < 8; i++) balancer.start(endpoints[i % size]!);
    let call = 0;

    Deno.bench({
      name: `${name} pick, n = ${size}`,
      group: `pick, n = ${size}`,
      baseline: name === "random",
      fn: () => {
        balancer.pick(endpoints, name === "consistent_hash" ? { key: KEYS[call++ & 1023] } : {});
      },
    });

    Deno.bench({
      name: `${name} pick + start + done, n = ${size}`,
      group: `call, n = ${size}`,
      baseline: name === "random",
      fn: () => {
        const endpoint = balancer.pick(
          endpoints,
          name === "consistent_hash" ? { key: KEYS[call++ & 1023] } : {},
        );
        balancer.start(endpoint)(OUTCOME);
      },
    });
  }
}

{
  // The consistent-hash ring given a new array with the same ids each pick (O(n) check).
  const endpoints: Endpoint[] = Array.from({ length: 16 }, (_, i) => ({ id: `instance-${i}` }));
  const balancer = createBalancer("consistent_hash");
  let call = 0;
  Deno.bench("consistent_hash pick, n = 16, fresh array each pick", () => {
    balancer.pick(endpoints.slice(), { key: KEYS[call++ & 1023] });
  });
  Deno.bench("consistent_hash ring build, n = 16 × 100 virtual nodes", () => {
    const fresh = createBalancer("consistent_hash");
    fresh.pick(endpoints, { key: "k" });
  });
}
