import assert from "node:assert/strict";
import { ManualTimers } from "@flotilla/resilience";
import { registerProcessMetrics } from "./process_metrics.ts";
import { Registry } from "./registry.ts";

Deno.test("registerProcessMetrics() measures event-loop lag as timer drift and reports memory", async () => {
  const registry = new Registry();
  const timers = new ManualTimers();
  using sampler = registerProcessMetrics(registry, {
    timers,
    clock: timers,
    lagIntervalMs: 100,
    memoryUsage: () => ({
      rss: 50_000_000,
      heapTotal: 20_000_000,
      heapUsed: 10_000_000,
      external: 1,
    }),
    cpuUsage: () => ({ user: 1_500_000, system: 500_000 }),
    startTimeMs: 1_700_000_000_000,
  });
  timers.advance(100);
  assert.equal(sampler.lagSeconds, 0);
  // The loop was blocked: the next tick fires 250 ms late.
  timers.clock.advance(350);
  timers.advance(0);
  assert.equal(sampler.lagSeconds, 0.25);
  const text = await registry.render();
  assert.ok(text.includes("process_resident_memory_bytes 50000000"));
  assert.ok(text.includes("deno_heap_used_bytes 10000000"));
  assert.ok(text.includes("process_cpu_seconds_total 2"));
  assert.ok(text.includes("process_start_time_seconds 1700000000"));
  assert.ok(text.includes("deno_eventloop_lag_seconds 0.25"));
  assert.ok(text.includes("deno_eventloop_lag_max_seconds 0.25"));
  timers.advance(100);
  const next = await registry.render();
  assert.ok(next.includes("deno_eventloop_lag_max_seconds 0\n"), "the max resets after a scrape");
  sampler.stop();
  assert.throws(() => registerProcessMetrics(new Registry(), { lagIntervalMs: 0 }), RangeError);
});
