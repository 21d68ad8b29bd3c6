import assert from "node:assert/strict";
import fc from "fast-check";
import type { CallOutcome, Endpoint } from "./balancer.ts";
import { NoEndpointsError } from "./errors.ts";
import { LeastOutstandingBalancer } from "./least_outstanding_balancer.ts";
import { countById, makeEndpoints, seededRandom } from "./_test_util.ts";

const OK: CallOutcome = { latencyMs: 1, ok: true };

Deno.test("LeastOutstandingBalancer.pick() avoids endpoints with calls in flight", () => {
  const [a, b, c] = [{ id: "a" }, { id: "b" }, { id: "c" }];
  const balancer = new LeastOutstandingBalancer({ random: seededRandom(1) });
  const doneA = balancer.start(a);
  balancer.start(a);
  balancer.start(b);
  assert.equal(balancer.pick([a, b, c]), c);
  assert.equal(balancer.pick([a, b]), b);
  doneA(OK);
  doneA(OK); // a second completion is ignored
  assert.equal(balancer.outstanding(a), 1);
  balancer.start(c);
  balancer.start(c);
  assert.equal(balancer.pick([a, b, c]) === c, false);
});

Deno.test("LeastOutstandingBalancer.pick() breaks ties at random, not always the first", () => {
  const endpoints = makeEndpoints(4);
  const busy = { id: "busy" };
  const balancer = new LeastOutstandingBalancer({ random: seededRandom(7) });
  balancer.start(busy);
  const counts = countById(
    Array.from({ length: 4_000 }, () => balancer.pick([busy, ...endpoints])),
  );
  assert.equal(counts.get("busy"), undefined);
  for (const endpoint of endpoints) {
    const count = counts.get(endpoint.id) ?? 0;
    assert.ok(count > 850 && count < 1_150, `${endpoint.id}: ${count}`);
  }
  // Idle set: uniform too.
  const idle = new LeastOutstandingBalancer({ random: seededRandom(8) });
  const idleCounts = countById(Array.from({ length: 4_000 }, () => idle.pick(endpoints)));
  for (const count of idleCounts.values()) assert.ok(count > 850 && count < 1_150, `${count}`);
});

Deno.test("LeastOutstandingBalancer.pick() never picks an endpoint with strictly more in flight than another", () => {
  type Op = { type: "pick"; mask: number } | { type: "complete"; index: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ type: fc.constant("pick" as const), mask: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ type: fc.constant("complete" as const), index: fc.nat() }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200 }), fc.integer(), (ops, seed) => {
      const pool = makeEndpoints(8);
      const balancer = new LeastOutstandingBalancer({ random: seededRandom(seed) });
      const inFlight: { endpoint: Endpoint; done: (outcome: CallOutcome) => void }[] = [];
      const model = new Map<string, number>();
      for (const step of ops) {
        if (step.type === "pick") {
          const eligible = pool.filter((_, i) => (step.mask & (1 << i)) !== 0);
          const chosen = balancer.pick(eligible);
          assert.ok(eligible.includes(chosen));
          const least = Math.min(...eligible.map((e) => model.get(e.id) ?? 0));
          assert.equal(model.get(chosen.id) ?? 0, least);
          model.set(chosen.id, (model.get(chosen.id) ?? 0) + 1);
          inFlight.push({ endpoint: chosen, done: balancer.start(chosen) });
        } else if (inFlight.length > 0) {
          const [call] = inFlight.splice(step.index % inFlight.length, 1);
          call!.done(OK);
          model.set(call!.endpoint.id, model.get(call!.endpoint.id)! - 1);
        }
        for (const endpoint of pool) {
          assert.equal(balancer.outstanding(endpoint), model.get(endpoint.id) ?? 0);
        }
      }
    }),
  );
});

Deno.test("LeastOutstandingBalancer forgets an endpoint once its calls end", () => {
  const balancer = new LeastOutstandingBalancer();
  const gone = { id: "gone" };
  const done = [balancer.start(gone), balancer.start(gone)];
  assert.equal(balancer.outstanding(gone), 2);
  for (const end of done) end(OK);
  assert.equal(balancer.outstanding(gone), 0);
});

Deno.test("LeastOutstandingBalancer.pick() throws NoEndpointsError on an empty list", () => {
  assert.throws(() => new LeastOutstandingBalancer().pick([]), NoEndpointsError);
});
