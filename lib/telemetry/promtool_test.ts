import assert from "node:assert/strict";
import { ManualTimers } from "@flotilla/resilience";
import { createFlotillaMetrics } from "./flotilla_metrics.ts";
import { pipelineEventRecorder } from "./pipeline_event_recorder.ts";
import { registerProcessMetrics } from "./process_metrics.ts";
import { Registry } from "./registry.ts";

function hasPromtool(): boolean {
  try {
    return Deno.statSync("/usr/bin/promtool").isFile;
  } catch {
    return false;
  }
}

async function promtool(text: string): Promise<{ code: number; output: string }> {
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, output: decoder.decode(stdout) + decoder.decode(stderr) };
}

Deno.test({
  name: "promtool check metrics accepts the Flotilla and process metrics, escapes included",
  ignore: !hasPromtool(), // apt-get install -y prometheus (tests/support/preflight.ts should)
  async fn() {
    const registry = new Registry({ maxSeries: 3 });
    const metrics = createFlotillaMetrics(registry);
    const timers = new ManualTimers();
    using _process = registerProcessMetrics(registry, { timers, clock: timers });
    timers.advance(600);
    metrics.serverRequests.inc({
      service: "order",
      action: "place",
      transport: "http",
      outcome: "ok",
    });
    metrics.serverDuration.observe({ service: "order", action: "place", transport: "http" }, 0.02);
    metrics.clientRequests.inc({ peer: "inventory", action: 'we"ird\\name\n', outcome: "ok" });
    for (const peer of ["a", "b", "c", "d", "e"]) {
      metrics.clientDuration.observe({ peer, action: "reserve" }, 0.3);
    }
    pipelineEventRecorder(metrics)({
      type: "breaker",
      service: "inventory",
      endpoint: "inventory-1",
      from: "closed",
      to: "open",
    });
    metrics.sagaOutcomes.inc({ saga: "checkout", outcome: "completed" });
    metrics.sagaDuration.observe({ saga: "checkout", outcome: "completed" }, 1.5);
    metrics.busConsumerLag.set({ stream: "shop.order", group: "notification" }, 0.25);
    registry.counter({ name: "odd_help_total", help: "back\\slash\nnewline" }).inc();
    const text = await registry.render();
    const { code, output } = await promtool(text);
    assert.equal(code, 0, `promtool failed:\n${output}\n---\n${text}`);
    assert.equal(output.trim(), "", output);
  },
});
