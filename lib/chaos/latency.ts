/**
 * Latency distributions of chaos rules.
 *
 * @module
 */

/**
 * How long to delay, in milliseconds: a fixed value or a distribution.
 * Samples are never negative; `maxMs` caps the long tail of the normal and
 * exponential distributions.
 */
export type LatencySpec =
  | {
    /** Always `ms`. */
    readonly type: "fixed";
    /** The delay. */
    readonly ms: number;
  }
  | {
    /** Uniform between `minMs` and `maxMs`. */
    readonly type: "uniform";
    /** Shortest delay. */
    readonly minMs: number;
    /** Longest delay. */
    readonly maxMs: number;
  }
  | {
    /** Normal (Gaussian) around `meanMs`, clamped at 0. */
    readonly type: "normal";
    /** Mean delay. */
    readonly meanMs: number;
    /** Standard deviation. */
    readonly stdDevMs: number;
    /** Cap. */
    readonly maxMs?: number | undefined;
  }
  | {
    /** Exponential with mean `meanMs` (memoryless, a long tail). */
    readonly type: "exponential";
    /** Mean delay. */
    readonly meanMs: number;
    /** Cap. */
    readonly maxMs?: number | undefined;
  };

/**
 * Draws one delay from `spec`, taking uniform numbers in [0, 1) from
 * `random` (a {@link Prng}'s `next`, for replayable runs).
 *
 * @example
 * ```ts
 * import { Prng, sampleLatency } from "@flotilla/chaos";
 *
 * const prng = new Prng(7);
 * sampleLatency({ type: "uniform", minMs: 10, maxMs: 20 }, () => prng.next()); // in [10, 20)
 * ```
 */
export function sampleLatency(spec: LatencySpec, random: () => number): number {
  switch (spec.type) {
    case "fixed":
      return Math.max(0, spec.ms);
    case "uniform":
      return Math.max(0, spec.minMs + (spec.maxMs - spec.minMs) * random());
    case "normal": {
      // Box–Muller; 1 - u keeps the logarithm finite.
      const u1 = 1 - random();
      const u2 = random();
      const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
      return cap(Math.max(0, spec.meanMs + spec.stdDevMs * z), spec.maxMs);
    }
    case "exponential":
      return cap(-spec.meanMs * Math.log(1 - random()), spec.maxMs);
  }
}

function cap(value: number, max: number | undefined): number {
  return max === undefined ? value : Math.min(value, max);
}
