/**
 * A set of metrics rendered together in the Prometheus text exposition
 * format, version 0.0.4.
 *
 * @module
 */

import { escapeHelp } from "./_exposition.ts";
import { Counter } from "./counter.ts";
import { Gauge } from "./gauge.ts";
import { Histogram, type HistogramOptions } from "./histogram.ts";
import type { Metric, MetricOptions } from "./metric.ts";

/** The `Content-Type` of the text exposition format 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Runs before each render to refresh gauges from their source (an outbox's backlog…). */
export type Collector = () => void | Promise<void>;

/** Options of {@link Registry}. */
export interface RegistryOptions {
  /** Default cap on the label sets of each metric. @default {1000} */
  maxSeries?: number;
  /** Told when a collector throws; the render goes on without its update. */
  onCollectError?: (error: unknown) => void;
}

/** The metric options a {@link Registry} fills in (the overflow hook). */
export type RegistryMetricOptions<L extends string> = Omit<MetricOptions<L>, "onOverflow">;

/**
 * Holds metrics and renders them for a scrape. Metric names are unique;
 * label sets beyond a metric's `maxSeries` fold into `other` and are counted
 * in `flotilla_telemetry_label_overflow_total{metric}`.
 *
 * @example
 * ```ts
 * import { Registry } from "@flotilla/telemetry";
 *
 * const registry = new Registry();
 * registry.counter({ name: "jobs_total", help: "Jobs run.", labelNames: ["kind"] })
 *   .inc({ kind: "email" });
 * const text = await registry.render();
 * ```
 */
export class Registry {
  readonly #metrics = new Map<string, Metric>();
  readonly #collectors = new Set<Collector>();
  readonly #maxSeries: number | undefined;
  readonly #onCollectError: (error: unknown) => void;
  #overflow: Counter<"metric"> | undefined;

  /** Creates an empty registry. */
  constructor(options: RegistryOptions = {}) {
    this.#maxSeries = options.maxSeries;
    this.#onCollectError = options.onCollectError ?? (() => {});
  }

  /** Creates and registers a counter. */
  counter<L extends string = never>(options: RegistryMetricOptions<L>): Counter<L> {
    return this.register(new Counter<L>(this.#withDefaults(options)));
  }

  /** Creates and registers a gauge. */
  gauge<L extends string = never>(options: RegistryMetricOptions<L>): Gauge<L> {
    return this.register(new Gauge<L>(this.#withDefaults(options)));
  }

  /** Creates and registers a histogram. */
  histogram<L extends string = never>(
    options: Omit<HistogramOptions<L>, "onOverflow">,
  ): Histogram<L> {
    return this.register(new Histogram<L>(this.#withDefaults(options)));
  }

  /**
   * Registers a metric.
   *
   * @throws {RangeError} when a metric of that name (or of a histogram's
   * `_bucket`/`_sum`/`_count` name) is already registered.
   */
  register<M extends Metric>(metric: M): M {
    const names = metric.type === "histogram"
      ? [metric.name, `${metric.name}_bucket`, `${metric.name}_sum`, `${metric.name}_count`]
      : [metric.name];
    for (const name of names) {
      if (this.#taken(name)) {
        throw new RangeError(
          `Cannot register metric "${metric.name}" as the name "${name}" is already taken`,
        );
      }
    }
    this.#metrics.set(metric.name, metric);
    return metric;
  }

  /** The metric called `name`, if registered. */
  get(name: string): Metric | undefined {
    return this.#metrics.get(name);
  }

  /** Adds a collector run before each render; returns a function that removes it. */
  addCollector(collector: Collector): () => void {
    this.#collectors.add(collector);
    return () => this.#collectors.delete(collector);
  }

  /** Runs the collectors, then renders every metric in registration order. */
  async render(): Promise<string> {
    for (const collector of this.#collectors) {
      try {
        await collector();
      } catch (error) {
        this.#onCollectError(error);
      }
    }
    return this.renderNow();
  }

  /** Renders every metric as it stands, without running the collectors. */
  renderNow(): string {
    const lines: string[] = [];
    for (const metric of this.#metrics.values()) {
      lines.push(`# HELP ${metric.name} ${escapeHelp(metric.help)}`);
      lines.push(`# TYPE ${metric.name} ${metric.type}`);
      metric.renderSamples(lines);
    }
    lines.push("");
    return lines.join("\n");
  }

  #taken(name: string): boolean {
    if (this.#metrics.has(name)) return true;
    for (const metric of this.#metrics.values()) {
      if (
        metric.type === "histogram" &&
        (name === `${metric.name}_bucket` || name === `${metric.name}_sum` ||
          name === `${metric.name}_count`)
      ) return true;
    }
    return false;
  }

  #withDefaults<O extends { maxSeries?: number }>(
    options: O,
  ): O & { onOverflow: (metric: string) => void } {
    return {
      ...(this.#maxSeries === undefined ? {} : { maxSeries: this.#maxSeries }),
      ...options,
      onOverflow: (metric) => this.#overflowCounter().inc({ metric }),
    };
  }

  #overflowCounter(): Counter<"metric"> {
    return this.#overflow ??= this.register(
      new Counter<"metric">({
        name: "flotilla_telemetry_label_overflow_total",
        help:
          "Observations folded into the label value 'other' because a metric hit its series cap.",
        labelNames: ["metric"],
      }),
    );
  }
}
