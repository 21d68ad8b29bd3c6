import assert from "node:assert/strict";
import { alwaysOff, alwaysOn, parentBased, samplerFromEnv, traceIdRatio } from "./sampler.ts";

/** Deterministic trace ids from a seeded PRNG (mulberry32). */
function seededIds(seed: number, count: number): string[] {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0).toString(16).padStart(8, "0");
  };
  return Array.from({ length: count }, () => next() + next() + next() + next());
}

Deno.test("traceIdRatio() samples about its ratio of seeded trace ids", () => {
  const ids = seededIds(42, 20_000);
  for (const ratio of [0.01, 0.1, 0.25, 0.5, 0.9]) {
    const sampler = traceIdRatio(ratio);
    const share = ids.filter((id) => sampler.shouldSample(id, undefined)).length / ids.length;
    assert.ok(Math.abs(share - ratio) < 0.02, `ratio ${ratio}: sampled ${share}`);
  }
});

Deno.test("traceIdRatio() decides from the id alone: same id, same answer, nested by ratio", () => {
  const ids = seededIds(7, 2_000);
  const low = traceIdRatio(0.1);
  const high = traceIdRatio(0.5);
  for (const id of ids) {
    assert.equal(low.shouldSample(id, undefined), traceIdRatio(0.1).shouldSample(id, undefined));
    // A trace kept at 10 % is kept at 50 %: services with different ratios stay consistent.
    if (low.shouldSample(id, undefined)) assert.ok(high.shouldSample(id, undefined));
  }
});

Deno.test("traceIdRatio() reads the rightmost 56 bits: boundaries and extremes", () => {
  const half = traceIdRatio(0.5);
  assert.equal(half.shouldSample("ffffffffffffffff" + "0080000000000000", undefined), true);
  assert.equal(half.shouldSample("ffffffffffffffff" + "007fffffffffffff", undefined), false);
  assert.equal(traceIdRatio(0).shouldSample("f".repeat(32), undefined), false);
  assert.equal(traceIdRatio(1).shouldSample("0".repeat(31) + "1", undefined), true);
  assert.throws(() => traceIdRatio(1.5), RangeError);
  assert.throws(() => traceIdRatio(NaN), RangeError);
});

Deno.test("parentBased() honours the parent's flag and asks the root sampler only for roots", () => {
  const sampler = parentBased(alwaysOff);
  assert.equal(sampler.shouldSample("a".repeat(32), true), true);
  assert.equal(sampler.shouldSample("a".repeat(32), false), false);
  assert.equal(sampler.shouldSample("a".repeat(32), undefined), false);
  assert.equal(parentBased(alwaysOn).shouldSample("a".repeat(32), undefined), true);
  assert.equal(parentBased(alwaysOn).shouldSample("a".repeat(32), false), false);
});

Deno.test("samplerFromEnv() maps OTEL_TRACES_SAMPLER and its argument", () => {
  assert.equal(
    samplerFromEnv(undefined, undefined).description,
    "ParentBased{root=AlwaysOnSampler}",
  );
  assert.equal(
    samplerFromEnv("parentbased_traceidratio", "0.25").description,
    "ParentBased{root=TraceIdRatioBased{0.25}}",
  );
  assert.equal(samplerFromEnv("traceidratio", "nope").description, "TraceIdRatioBased{1}");
  assert.equal(samplerFromEnv("always_off", undefined), alwaysOff);
  assert.throws(() => samplerFromEnv("jaeger_remote", undefined), RangeError);
});
