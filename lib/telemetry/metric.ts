/**
 * What every instrument of a registry shares.
 *
 * @module
 */

/** The Prometheus metric types this library produces. */
export type MetricType = "counter" | "gauge" | "histogram";

/** Label values by label name; a missing label renders as the empty string. */
export type Labels<L extends string> = { readonly [K in L]?: string | number | boolean };

/** Something a `Registry` renders in the text exposition format. */
export interface Metric {
  /** The metric family name, e.g. `flotilla_server_requests_total`. */
  readonly name: string;
  /** One line of help. */
  readonly help: string;
  /** The Prometheus type. */
  readonly type: MetricType;
  /** Appends the family's sample lines (without `# HELP` and `# TYPE`). */
  renderSamples(lines: string[]): void;
}

/** Options shared by counters, gauges and histograms. */
export interface MetricOptions<L extends string> {
  /** Metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`), in base units, e.g. `_seconds`, `_bytes`. */
  name: string;
  /** One line of help. */
  help: string;
  /** The label names, in the order they render. @default {[]} */
  labelNames?: readonly L[];
  /**
   * Cap on distinct label sets. Past it, new label sets are folded into one
   * series whose every label is `other`, and `onOverflow` is told.
   * @default {1000}
   */
  maxSeries?: number;
  /** Called with the metric name each time an observation is folded into `other`. */
  onOverflow?: (metric: string) => void;
}

/** Default of {@link MetricOptions.maxSeries}. */
export const DEFAULT_MAX_SERIES = 1000;

/** Validates `maxSeries`; internal to the instruments. */
export function checkMaxSeries(action: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot ${action} as 'maxSeries' must be a positive integer: current value is ${value}`,
    );
  }
  return value;
}
