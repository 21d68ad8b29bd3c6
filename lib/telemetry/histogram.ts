/**
 * A Prometheus histogram: cumulative buckets, `_sum` and `_count`.
 *
 * @module
 */

import { checkLabelNames, checkMetricName, escapeLabelValue, formatValue } from "./_exposition.ts";
import { SeriesMap } from "./_series.ts";
import {
  checkMaxSeries,
  DEFAULT_MAX_SERIES,
  type Labels,
  type Metric,
  type MetricOptions,
} from "./metric.ts";

/** Prometheus' default buckets, in seconds: 5 ms to 10 s. */
export const DEFAULT_BUCKETS: readonly number[] = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

/** Options of {@link Histogram}. */
export interface HistogramOptions<L extends string> extends MetricOptions<L> {
  /** Upper bounds, strictly increasing and finite; `+Inf` is added. @default {DEFAULT_BUCKETS} */
  buckets?: readonly number[];
}

/** One series of a {@link Histogram}, bound to its labels. */
export interface HistogramChild {
  /** Records one observation. */
  observe(value: number): void;
  /** Observations so far. */
  readonly count: number;
  /** Sum of the observations. */
  readonly sum: number;
}

class HistogramSeries implements HistogramChild {
  readonly bounds: readonly number[];
  readonly counts: Float64Array;
  readonly labelText: string;
  count = 0;
  sum = 0;
  prefixes: string[] | undefined;

  constructor(bounds: readonly number[], labelText: string) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length);
    this.labelText = labelText;
  }

  observe(value: number): void {
    if (Number.isNaN(value)) return;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    if (i < bounds.length) this.counts[i]!++;
    this.count++;
    this.sum += value;
  }
}

/**
 * A histogram with labels. Observations are in the metric's base unit
 * (seconds for durations). Each bucket `le` counts the observations less than
 * or equal to it, so buckets are cumulative and `le="+Inf"` equals `_count`.
 *
 * @example
 * ```ts
 * import { Registry } from "@flotilla/telemetry";
 *
 * const registry = new Registry();
 * const latency = registry.histogram({
 *   name: "shop_checkout_duration_seconds",
 *   help: "Checkout latency.",
 *   buckets: [0.05, 0.1, 0.25, 0.5, 1],
 * });
 * latency.observe(undefined, 0.12);
 * ```
 */
export class Histogram<L extends string = never> implements Metric {
  /** The metric name. */
  readonly name: string;
  /** The help text. */
  readonly help: string;
  /** Always `histogram`. */
  readonly type = "histogram" as const;
  /** The label names. */
  readonly labelNames: readonly L[];
  /** The finite upper bounds. */
  readonly buckets: readonly number[];
  readonly #series: SeriesMap<HistogramSeries>;

  /** Creates a histogram; prefer {@link Registry.histogram}, which also registers it. */
  constructor(options: HistogramOptions<L>) {
    const action = `create histogram "${options.name}"`;
    checkMetricName(action, options.name);
    this.labelNames = options.labelNames ?? [];
    checkLabelNames(action, this.labelNames, ["le"]);
    const buckets = (options.buckets ?? DEFAULT_BUCKETS).filter((b) => b !== Infinity);
    if (buckets.length === 0) {
      throw new RangeError(`Cannot ${action} as 'buckets' must not be empty`);
    }
    for (let i = 0; i < buckets.length; i++) {
      if (!Number.isFinite(buckets[i]) || (i > 0 && !(buckets[i]! > buckets[i - 1]!))) {
        throw new RangeError(
          `Cannot ${action} as 'buckets' must be finite and strictly increasing: current value is [${buckets}]`,
        );
      }
    }
    this.buckets = Object.freeze([...buckets]);
    this.name = options.name;
    this.help = options.help;
    const onOverflow = options.onOverflow;
    this.#series = new SeriesMap(
      this.labelNames,
      checkMaxSeries(action, options.maxSeries ?? DEFAULT_MAX_SERIES),
      (_values, labelText) => new HistogramSeries(this.buckets, labelText),
      onOverflow ? () => onOverflow(this.name) : () => {},
    );
    if (this.labelNames.length === 0) this.#series.get(undefined);
  }

  /** Records `value` in the series of `labels`. */
  observe(labels: Labels<L> | undefined, value: number): void {
    this.#series.get(labels).observe(value);
  }

  /** The series of `labels`, created empty if new. */
  labels(labels?: Labels<L>): HistogramChild {
    return this.#series.get(labels);
  }

  /** Removes the series of `labels`. */
  remove(labels: Labels<L>): void {
    this.#series.delete(labels);
  }

  /** Number of series, the `other` one included. */
  get seriesCount(): number {
    return this.#series.size;
  }

  /** Appends `_bucket` (cumulative, with `+Inf`), `_sum` and `_count` lines of every series. */
  renderSamples(lines: string[]): void {
    for (const { state } of this.#series) {
      const prefixes = state.prefixes ??= this.#prefixes(state.labelText);
      let cumulative = 0;
      for (let i = 0; i < state.counts.length; i++) {
        cumulative += state.counts[i]!;
        lines.push(`${prefixes[i]} ${cumulative}`);
      }
      lines.push(`${prefixes[state.counts.length]} ${state.count}`);
      lines.push(`${this.name}_sum${state.labelText} ${formatValue(state.sum)}`);
      lines.push(`${this.name}_count${state.labelText} ${state.count}`);
    }
  }

  #prefixes(labelText: string): string[] {
    const open = labelText === "" ? "{" : labelText.slice(0, -1) + ",";
    return [...this.buckets.map(formatValue), "+Inf"].map((le) =>
      `${this.name}_bucket${open}le="${escapeLabelValue(le)}"}`
    );
  }
}
