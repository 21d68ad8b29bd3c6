/**
 * A small seeded pseudo-random generator, so a chaos run replays exactly.
 *
 * @module
 */

/**
 * Mulberry32: a 32-bit-state PRNG (Tommy Ettinger's), fast and good enough
 * for fault injection — not for cryptography. The same seed gives the same
 * sequence on every runtime, so a failing chaos run is replayed by running
 * it again with the seed it logged.
 *
 * @example
 * ```ts
 * import { Prng } from "@flotilla/chaos";
 *
 * const a = new Prng(42);
 * const b = new Prng(42);
 * a.next() === b.next(); // true — and so on forever
 * ```
 */
export class Prng {
  #state: number;

  /**
   * Creates a generator from a 32-bit unsigned seed.
   *
   * @throws {RangeError} when `seed` is not an integer in 0..2^32-1.
   */
  constructor(seed: number) {
    if (!(Number.isInteger(seed) && seed >= 0 && seed <= 0xffff_ffff)) {
      throw new RangeError(
        `Cannot create the PRNG as 'seed' must be an integer in 0..4294967295: current value is ${seed}`,
      );
    }
    this.#state = seed >>> 0;
  }

  /** The next number in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }
}

/**
 * A 32-bit seed derived from `seed` and a label (FNV-1a over both), so that
 * each rule draws from its own stream: adding or removing one rule does not
 * change the faults another rule injects.
 *
 * @example
 * ```ts
 * import { deriveSeed, Prng } from "@flotilla/chaos";
 *
 * const perRule = new Prng(deriveSeed(42, "slow-payment"));
 * ```
 */
export function deriveSeed(seed: number, label: string): number {
  let hash = 0x811c9dc5;
  const text = `${seed >>> 0}:${label}`;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}
