/**
 * Counters over a sliding time window made of fixed buckets: O(1) per
 * update (amortised; a jump over the whole window clears at most every
 * bucket once), with running totals so a read costs nothing.
 *
 * The window covers the current bucket and the `bucketCount − 1` before it,
 * so it spans between `(bucketCount − 1) × bucketMs` and
 * `bucketCount × bucketMs` of history.
 *
 * @module
 */

/** Counters of `fields` values per bucket. */
export class TimeBuckets {
  readonly #bucketCount: number;
  readonly #bucketMs: number;
  readonly #fields: number;
  readonly #counts: Float64Array;
  readonly #totals: Float64Array;
  #head = Number.NEGATIVE_INFINITY;

  constructor(bucketCount: number, bucketMs: number, fields: number) {
    this.#bucketCount = bucketCount;
    this.#bucketMs = bucketMs;
    this.#fields = fields;
    this.#counts = new Float64Array(bucketCount * fields);
    this.#totals = new Float64Array(fields);
  }

  /** Drops the buckets that fell out of the window at `now`. */
  roll(now: number): void {
    const index = Math.floor(now / this.#bucketMs);
    // Same bucket, or the clock went backwards: keep counting in the head bucket.
    if (!(index > this.#head)) return;
    const steps = this.#head === Number.NEGATIVE_INFINITY
      ? this.#bucketCount
      : Math.min(index - this.#head, this.#bucketCount);
    for (let step = steps - 1; step >= 0; step--) this.#clear(index - step);
    this.#head = index;
  }

  /** Adds `amount` to counter `field` of the bucket of `now`. */
  add(now: number, field: number, amount = 1): void {
    this.roll(now);
    const slot = this.#slot(this.#head);
    this.#counts[slot * this.#fields + field]! += amount;
    this.#totals[field]! += amount;
  }

  /** The sum of counter `field` over the window, as of the last {@link roll}. */
  total(field: number): number {
    return this.#totals[field]!;
  }

  /** Forgets every count. */
  reset(): void {
    this.#counts.fill(0);
    this.#totals.fill(0);
  }

  #clear(index: number): void {
    const base = this.#slot(index) * this.#fields;
    for (let field = 0; field < this.#fields; field++) {
      this.#totals[field]! -= this.#counts[base + field]!;
      this.#counts[base + field] = 0;
    }
  }

  #slot(index: number): number {
    const slot = index % this.#bucketCount;
    return slot < 0 ? slot + this.#bucketCount : slot;
  }
}
