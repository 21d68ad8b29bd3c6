/**
 * Process metrics that pass `promtool check metrics`: memory, CPU, start
 * time and event-loop lag.
 *
 * @module
 */

import process from "node:process";
import type { Clock } from "@flotilla/core";
import type { Timers } from "@flotilla/resilience";
import { formatValue } from "./_exposition.ts";
import { unrefTimers } from "./batch_span_processor.ts";
import { hrClock } from "./hr_clock.ts";
import type { Metric, MetricType } from "./metric.ts";
import type { Registry } from "./registry.ts";

/** Options of {@link registerProcessMetrics}. */
export interface ProcessMetricsOptions {
  /** How often the event-loop lag is sampled, ms. @default {500} */
  lagIntervalMs?: number;
  /** Timers of the lag sampler. @default {unref'd system timers} */
  timers?: Timers;
  /** Clock of the lag sampler. @default {hrClock} */
  clock?: Clock;
  /** Reads memory. @default {Deno.memoryUsage} */
  memoryUsage?: () => { rss: number; heapTotal: number; heapUsed: number; external: number };
  /** Reads CPU time in microseconds. @default {node:process cpuUsage} */
  cpuUsage?: () => { user: number; system: number };
  /** When the process started, epoch ms. @default {performance.timeOrigin} */
  startTimeMs?: number;
}

/** The lag sampler registered by {@link registerProcessMetrics}; dispose it to stop sampling. */
export interface ProcessMetrics extends Disposable {
  /** The last lag measured, seconds. */
  readonly lagSeconds: number;
  /** Stops the lag sampler. */
  stop(): void;
}

function valueMetric(name: string, help: string, type: MetricType, read: () => number): Metric {
  return {
    name,
    help,
    type,
    renderSamples(lines) {
      lines.push(`${name} ${formatValue(read())}`);
    },
  };
}

/**
 * Registers `process_resident_memory_bytes`, `process_cpu_user_seconds_total`,
 * `process_cpu_system_seconds_total`, `process_cpu_seconds_total`,
 * `process_start_time_seconds`, `deno_heap_used_bytes`,
 * `deno_heap_total_bytes`, `deno_external_memory_bytes`,
 * `deno_eventloop_lag_seconds` and `deno_eventloop_lag_max_seconds` (the
 * largest lag since the previous scrape), and starts the lag sampler: a
 * timer that should fire every `lagIntervalMs` and measures how late it
 * fires. The timer is unref'd: it never keeps the process alive.
 *
 * @example
 * ```ts
 * import { Registry, registerProcessMetrics } from "@flotilla/telemetry";
 *
 * const registry = new Registry();
 * using _sampler = registerProcessMetrics(registry);
 * ```
 */
export function registerProcessMetrics(
  registry: Registry,
  options: ProcessMetricsOptions = {},
): ProcessMetrics {
  const intervalMs = options.lagIntervalMs ?? 500;
  if (!(Number.isFinite(intervalMs) && intervalMs > 0)) {
    throw new RangeError(
      `Cannot register the process metrics as 'lagIntervalMs' must be a positive number: current value is ${intervalMs}`,
    );
  }
  const timers = options.timers ?? unrefTimers;
  const clock = options.clock ?? hrClock;
  const memoryUsage = options.memoryUsage ?? (() => Deno.memoryUsage());
  const cpuUsage = options.cpuUsage ?? (() => process.cpuUsage());
  const startSeconds = (options.startTimeMs ?? performance.timeOrigin) / 1000;

  let memory = memoryUsage();
  let cpu = cpuUsage();
  registry.addCollector(() => {
    memory = memoryUsage();
    cpu = cpuUsage();
  });
  let lag = 0;
  let maxLag = 0;
  let reportedMax = 0;
  registry.addCollector(() => {
    reportedMax = maxLag;
    maxLag = 0;
  });
  const metrics: Metric[] = [
    valueMetric(
      "process_resident_memory_bytes",
      "Resident memory size in bytes.",
      "gauge",
      () => memory.rss,
    ),
    valueMetric(
      "process_cpu_user_seconds_total",
      "User CPU time spent in seconds.",
      "counter",
      () => cpu.user / 1e6,
    ),
    valueMetric(
      "process_cpu_system_seconds_total",
      "System CPU time spent in seconds.",
      "counter",
      () => cpu.system / 1e6,
    ),
    valueMetric(
      "process_cpu_seconds_total",
      "Total user and system CPU time spent in seconds.",
      "counter",
      () => (cpu.user + cpu.system) / 1e6,
    ),
    valueMetric(
      "process_start_time_seconds",
      "Start time of the process since unix epoch in seconds.",
      "gauge",
      () => startSeconds,
    ),
    valueMetric(
      "deno_heap_used_bytes",
      "V8 heap used, in bytes.",
      "gauge",
      () => memory.heapUsed,
    ),
    valueMetric(
      "deno_heap_total_bytes",
      "V8 heap allocated, in bytes.",
      "gauge",
      () => memory.heapTotal,
    ),
    valueMetric(
      "deno_external_memory_bytes",
      "Memory of JavaScript objects bound to native ones, in bytes.",
      "gauge",
      () => memory.external,
    ),
    valueMetric(
      "deno_eventloop_lag_seconds",
      "Event-loop lag: how late the last sampling timer fired, in seconds.",
      "gauge",
      () => lag,
    ),
    valueMetric(
      "deno_eventloop_lag_max_seconds",
      "Largest event-loop lag sampled since the previous scrape, in seconds.",
      "gauge",
      () => reportedMax,
    ),
  ];
  for (const metric of metrics) registry.register(metric);

  let expected = clock.now() + intervalMs;
  let timer: number | undefined;
  const tick = () => {
    const now = clock.now();
    lag = Math.max(0, now - expected) / 1000;
    if (lag > maxLag) maxLag = lag;
    expected = now + intervalMs;
    timer = timers.setTimeout(tick, intervalMs);
  };
  timer = timers.setTimeout(tick, intervalMs);
  const stop = () => {
    if (timer !== undefined) timers.clearTimeout(timer);
    timer = undefined;
  };
  return {
    get lagSeconds() {
      return lag;
    },
    stop,
    [Symbol.dispose]: stop,
  };
}
