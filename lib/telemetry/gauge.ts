/**
 * A Prometheus gauge: a value that goes up and down.
 *
 * @module
 */

import { checkLabelNames, checkMetricName, formatValue } from "./_exposition.ts";
import { SeriesMap } from "./_series.ts";
import {
  checkMaxSeries,
  DEFAULT_MAX_SERIES,
  type Labels,
  type Metric,
  type MetricOptions,
} from "./metric.ts";

/** One series of a {@link Gauge}, bound to its labels. */
export interface GaugeChild {
  /** Sets the value. */
  set(value: number): void;
  /** Adds `value` (default 1). */
  inc(value?: number): void;
  /** Subtracts `value` (default 1). */
  dec(value?: number): void;
  /** The current value. */
  readonly value: number;
}

class GaugeSeries implements GaugeChild {
  value = 0;
  set(value: number): void {
    this.value = value;
  }
  inc(value = 1): void {
    this.value += value;
  }
  dec(value = 1): void {
    this.value -= value;
  }
}

/**
 * A gauge with labels.
 *
 * @example
 * ```ts
 * import { Registry } from "@flotilla/telemetry";
 *
 * const registry = new Registry();
 * const inFlight = registry.gauge({ name: "shop_in_flight_requests", help: "Requests being handled." });
 * inFlight.inc();
 * inFlight.dec();
 * ```
 */
export class Gauge<L extends string = never> implements Metric {
  /** The metric name. */
  readonly name: string;
  /** The help text. */
  readonly help: string;
  /** Always `gauge`. */
  readonly type = "gauge" as const;
  /** The label names. */
  readonly labelNames: readonly L[];
  readonly #series: SeriesMap<GaugeSeries>;

  /** Creates a gauge; prefer {@link Registry.gauge}, which also registers it. */
  constructor(options: MetricOptions<L>) {
    const action = `create gauge "${options.name}"`;
    checkMetricName(action, options.name);
    this.labelNames = options.labelNames ?? [];
    checkLabelNames(action, this.labelNames);
    this.name = options.name;
    this.help = options.help;
    const onOverflow = options.onOverflow;
    this.#series = new SeriesMap(
      this.labelNames,
      checkMaxSeries(action, options.maxSeries ?? DEFAULT_MAX_SERIES),
      () => new GaugeSeries(),
      onOverflow ? () => onOverflow(this.name) : () => {},
    );
    if (this.labelNames.length === 0) this.#series.get(undefined);
  }

  /** Sets the series of `labels` to `value`. */
  set(labels: Labels<L> | undefined, value: number): void {
    this.#series.get(labels).set(value);
  }

  /** Adds `value` (default 1) to the series of `labels`. */
  inc(labels?: Labels<L>, value = 1): void {
    this.#series.get(labels).inc(value);
  }

  /** Subtracts `value` (default 1) from the series of `labels`. */
  dec(labels?: Labels<L>, value = 1): void {
    this.#series.get(labels).dec(value);
  }

  /** The series of `labels`, created at 0 if new. */
  labels(labels?: Labels<L>): GaugeChild {
    return this.#series.get(labels);
  }

  /** The value of the series of `labels` (creates it at 0 if new). */
  get(labels?: Labels<L>): number {
    return this.#series.get(labels).value;
  }

  /** Removes the series of `labels` (an endpoint that left discovery). */
  remove(labels: Labels<L>): void {
    this.#series.delete(labels);
  }

  /** Removes every series (before refilling it from a collector). */
  reset(): void {
    this.#series.clear();
    if (this.labelNames.length === 0) this.#series.get(undefined);
  }

  /** Number of series, the `other` one included. */
  get seriesCount(): number {
    return this.#series.size;
  }

  /** Appends the sample lines. */
  renderSamples(lines: string[]): void {
    for (const series of this.#series) {
      lines.push(`${this.name}${series.labelText} ${formatValue(series.state.value)}`);
    }
  }
}
