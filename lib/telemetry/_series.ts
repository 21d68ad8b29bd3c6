// Internal helper; not exported by mod.ts. Label sets of one metric, with the cardinality guard.

import { formatLabels } from "./_exposition.ts";

/** The value every label takes in the series that absorbs label sets beyond the cap. */
export const OVERFLOW_VALUE = "other";

/** Label values by label name; a missing label is the empty string (absent in Prometheus). */
export type LabelValues<L extends string> = { readonly [K in L]?: string | number | boolean };

/** One series: its label values, its rendered `{…}` and its state. */
export interface Series<S> {
  readonly values: readonly string[];
  readonly labelText: string;
  readonly state: S;
}

/**
 * The series of one metric keyed by label values. Past `maxSeries` distinct
 * label sets, new ones fold into one series whose labels are all `other`.
 */
export class SeriesMap<S> {
  readonly #labelNames: readonly string[];
  readonly #maxSeries: number;
  readonly #create: (values: readonly string[], labelText: string) => S;
  readonly #onOverflow: () => void;
  readonly #series = new Map<string, Series<S>>();
  #overflow: Series<S> | undefined;

  constructor(
    labelNames: readonly string[],
    maxSeries: number,
    create: (values: readonly string[], labelText: string) => S,
    onOverflow: () => void,
  ) {
    this.#labelNames = labelNames;
    this.#maxSeries = maxSeries;
    this.#create = create;
    this.#onOverflow = onOverflow;
  }

  get size(): number {
    return this.#series.size + (this.#overflow ? 1 : 0);
  }

  get(labels: LabelValues<string> | undefined): S {
    const names = this.#labelNames;
    if (names.length === 0) return this.#getByValues("", []);
    const values = new Array<string>(names.length);
    let key = "";
    for (let i = 0; i < names.length; i++) {
      const raw = labels?.[names[i]!];
      const value = raw === undefined ? "" : String(raw);
      values[i] = value;
      key = i === 0 ? value : key + "\u0001" + value;
    }
    return this.#getByValues(key, values);
  }

  #getByValues(key: string, values: string[]): S {
    const found = this.#series.get(key);
    if (found) return found.state;
    if (this.#series.size >= this.#maxSeries) {
      this.#onOverflow();
      if (!this.#overflow) {
        const other = this.#labelNames.map(() => OVERFLOW_VALUE);
        this.#overflow = this.#make(other);
      }
      return this.#overflow.state;
    }
    const series = this.#make(values);
    this.#series.set(key, series);
    return series.state;
  }

  #make(values: readonly string[]): Series<S> {
    const labelText = formatLabels(this.#labelNames, values);
    return { values, labelText, state: this.#create(values, labelText) };
  }

  delete(labels: LabelValues<string>): boolean {
    const key = this.#labelNames.map((name) => {
      const raw = labels[name];
      return raw === undefined ? "" : String(raw);
    }).join("\u0001");
    return this.#series.delete(key);
  }

  clear(): void {
    this.#series.clear();
    this.#overflow = undefined;
  }

  *[Symbol.iterator](): IterableIterator<Series<S>> {
    yield* this.#series.values();
    if (this.#overflow) yield this.#overflow;
  }
}
