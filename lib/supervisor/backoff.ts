/**
 * The restart policy of a crashed service: exponential backoff with jitter,
 * forgiven once the service has stayed up long enough.
 *
 * @module
 */

/** Options of {@link Backoff}. */
export interface BackoffOptions {
  /** Delay before the first restart, in milliseconds. @default {250} */
  initialMs?: number;
  /** Factor the delay grows by after each further crash. @default {2} */
  factor?: number;
  /** Longest delay, in milliseconds. @default {10_000} */
  maxMs?: number;
  /**
   * Fraction of the delay added or removed at random, so that services that
   * crashed together do not restart in lockstep. 0 disables jitter. @default {0.2}
   */
  jitter?: number;
  /**
   * Uptime, in milliseconds, after which a crash counts as the first one
   * again. @default {30_000}
   */
  resetAfterMs?: number;
  /** Source of randomness in [0, 1). @default {Math.random} */
  random?: () => number;
}

/**
 * Counts consecutive crashes of one service and says how long to wait
 * before restarting it: `initialMs × factor^(crashes − 1)`, capped at
 * `maxMs`, ± `jitter`. A crash after the service stayed up `resetAfterMs`
 * starts the count over.
 *
 * @example
 * ```ts
 * const backoff = new Backoff({ jitter: 0 });
 * backoff.next(100); // 250 — crashed 100 ms after it started
 * backoff.next(100); // 500
 * backoff.next(60_000); // 250 — it had stayed up a minute
 * ```
 */
export class Backoff {
  readonly #initialMs: number;
  readonly #factor: number;
  readonly #maxMs: number;
  readonly #jitter: number;
  readonly #resetAfterMs: number;
  readonly #random: () => number;
  #crashes = 0;

  /**
   * Creates a policy with no crash counted.
   *
   * @throws {RangeError} when an option is out of range.
   */
  constructor(options: BackoffOptions = {}) {
    this.#initialMs = check(
      "initialMs",
      options.initialMs ?? 250,
      (v) => v > 0,
      "a positive number",
    );
    this.#factor = check("factor", options.factor ?? 2, (v) => v >= 1, "a number >= 1");
    this.#maxMs = check(
      "maxMs",
      options.maxMs ?? 10_000,
      (v) => v >= this.#initialMs,
      "a number >= 'initialMs'",
    );
    this.#jitter = check(
      "jitter",
      options.jitter ?? 0.2,
      (v) => v >= 0 && v <= 1,
      "between 0 and 1",
    );
    this.#resetAfterMs = check(
      "resetAfterMs",
      options.resetAfterMs ?? 30_000,
      (v) => v >= 0,
      "a number >= 0",
    );
    this.#random = options.random ?? Math.random;
  }

  /** Consecutive crashes counted so far. */
  get crashes(): number {
    return this.#crashes;
  }

  /**
   * Counts a crash of a process that had been up for `uptimeMs` and returns
   * the delay before the restart, in milliseconds.
   */
  next(uptimeMs = 0): number {
    if (uptimeMs >= this.#resetAfterMs) this.#crashes = 0;
    this.#crashes++;
    const base = Math.min(this.#maxMs, this.#initialMs * this.#factor ** (this.#crashes - 1));
    const spread = base * this.#jitter * (2 * this.#random() - 1);
    return Math.round(Math.min(this.#maxMs, Math.max(0, base + spread)));
  }

  /** Forgets every crash counted so far. */
  reset(): void {
    this.#crashes = 0;
  }
}

function check(
  name: string,
  value: number,
  valid: (value: number) => boolean,
  expected: string,
): number {
  if (!Number.isFinite(value) || !valid(value)) {
    throw new RangeError(
      `Cannot create the backoff as '${name}' must be ${expected}: current value is ${value}`,
    );
  }
  return value;
}
