import assert from "node:assert/strict";
import fc from "fast-check";
import { type LatencySpec, sampleLatency } from "./latency.ts";
import { Prng } from "./prng.ts";

const spec: fc.Arbitrary<LatencySpec> = fc.oneof(
  fc.record({ type: fc.constant("fixed" as const), ms: fc.nat(10_000) }),
  fc.tuple(fc.nat(5_000), fc.nat(5_000)).map(([a, b]) => ({
    type: "uniform" as const,
    minMs: Math.min(a, b),
    maxMs: Math.max(a, b),
  })),
  fc.record({
    type: fc.constant("normal" as const),
    meanMs: fc.nat(1_000),
    stdDevMs: fc.nat(1_000),
    maxMs: fc.option(fc.nat(2_000), { nil: undefined }),
  }),
  fc.record({
    type: fc.constant("exponential" as const),
    meanMs: fc.integer({ min: 1, max: 1_000 }),
    maxMs: fc.option(fc.nat(2_000), { nil: undefined }),
  }),
);

Deno.test("sampleLatency() is never negative, within bounds and caps (property)", () => {
  fc.assert(fc.property(spec, fc.integer({ min: 0, max: 0xffff_ffff }), (latency, seed) => {
    const prng = new Prng(seed);
    for (let i = 0; i < 20; i++) {
      const ms = sampleLatency(latency, () => prng.next());
      assert.ok(Number.isFinite(ms) && ms >= 0);
      if (latency.type === "fixed") assert.equal(ms, latency.ms);
      if (latency.type === "uniform") assert.ok(ms >= latency.minMs && ms <= latency.maxMs);
      if (
        (latency.type === "normal" || latency.type === "exponential") && latency.maxMs !== undefined
      ) {
        assert.ok(ms <= latency.maxMs);
      }
    }
  }));
});

Deno.test("sampleLatency() means match the distributions over 20 000 seeded draws", () => {
  const mean = (latency: LatencySpec) => {
    const prng = new Prng(1);
    let sum = 0;
    for (let i = 0; i < 20_000; i++) sum += sampleLatency(latency, () => prng.next());
    return sum / 20_000;
  };
  assert.ok(Math.abs(mean({ type: "exponential", meanMs: 50 }) - 50) < 2);
  assert.ok(Math.abs(mean({ type: "normal", meanMs: 100, stdDevMs: 10 }) - 100) < 1);
  assert.ok(Math.abs(mean({ type: "uniform", minMs: 10, maxMs: 30 }) - 20) < 0.5);
});
