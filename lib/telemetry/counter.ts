/**
 * A Prometheus counter: a value that only goes up.
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

/** One series of a {@link Counter}, bound to its labels: keep it on hot paths. */
export interface CounterChild {
  /** Adds `value` (default 1); throws RangeError for a negative or non-finite value. */
  inc(value?: number): void;
  /** The current value. */
  readonly value: number;
}

class CounterSeries implements CounterChild {
  value = 0;
  inc(value = 1): void {
    if (!(value >= 0 && value !== Infinity)) {
      throw new RangeError(
        `Cannot increment the counter as the value must be finite and >= 0: current value is ${value}`,
      );
    }
    this.value += value;
  }
}

/**
 * A counter with labels. Its name must end in `_total`.
 *
 * @example
 * ```ts
 * import { Registry } from "@flotilla/telemetry";
 *
 * const registry = new Registry();
 * const orders = registry.counter({
 *   name: "shop_orders_total",
 *   help: "Orders placed.",
 *   labelNames: ["outcome"],
 * });
 * orders.inc({ outcome: "confirmed" });
 * orders.labels({ outcome: "cancelled" }).inc(2);
 * ```
 */
export class Counter<L extends string = never> implements Metric {
  /** The metric name. */
  readonly name: string;
  /** The help text. */
  readonly help: string;
  /** Always `counter`. */
  readonly type = "counter" as const;
  /** The label names. */
  readonly labelNames: readonly L[];
  readonly #series: SeriesMap<CounterSeries>;

  /** Creates a counter; prefer {@link Registry.counter}, which also registers it. */
  constructor(options: MetricOptions<L>) {
    const action = `create counter "${options.name}"`;
    checkMetricName(action, options.name);
    if (!options.name.endsWith("_total")) {
      throw new RangeError(
        `Cannot ${action} as a counter's name must end in "_total": current value is "${options.name}"`,
      );
    }
    this.labelNames = options.labelNames ?? [];
    checkLabelNames(action, this.labelNames);
    this.name = options.name;
    this.help = options.help;
    const onOverflow = options.onOverflow;
    this.#series = new SeriesMap(
      this.labelNames,
      checkMaxSeries(action, options.maxSeries ?? DEFAULT_MAX_SERIES),
      () => new CounterSeries(),
      onOverflow ? () => onOverflow(this.name) : () => {},
    );
    if (this.labelNames.length === 0) this.#series.get(undefined);
  }

  /** Adds `value` (default 1) to the series of `labels`. */
  inc(labels?: Labels<L>, value = 1): void {
    this.#series.get(labels).inc(value);
  }

  /** The series of `labels`, created at 0 if new. */
  labels(labels?: Labels<L>): CounterChild {
    return this.#series.get(labels);
  }

  /** The value of the series of `labels` (0 if it does not exist yet, which creates it). */
  get(labels?: Labels<L>): number {
    return this.#series.get(labels).value;
  }

  /** Removes the series of `labels`. */
  remove(labels: Labels<L>): void {
    this.#series.delete(labels);
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
