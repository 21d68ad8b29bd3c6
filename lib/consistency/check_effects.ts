/**
 * Exactly-once, checked by counting effects.
 *
 * @module
 */

/** The verdict of {@link checkEffects}. */
export interface EffectsResult<K = string> {
  /** Every expected id took effect exactly once, and nothing else did. */
  readonly valid: boolean;
  /** Expected ids that took no effect. */
  readonly missing: readonly K[];
  /** Expected ids that took effect more than once, with how many times. */
  readonly duplicated: ReadonlyMap<K, number>;
  /** Ids that took effect without being expected, with how many times. */
  readonly unexpected: ReadonlyMap<K, number>;
  /** Ids expected (distinct). */
  readonly expected: number;
  /** Expected ids that took effect exactly once. */
  readonly exactlyOnce: number;
  /** Effects counted in all. */
  readonly effects: number;
}

/**
 * Checks that each of the `expected` ids took effect exactly once and that
 * nothing else took effect. `effects` is either the count of effects per
 * id (as read back from the consumer's state) or the ids of the effects,
 * one per effect.
 *
 * @example
 * ```ts
 * import { checkEffects } from "@flotilla/consistency";
 *
 * const result = checkEffects(["o-1", "o-2", "o-3"], ["o-1", "o-2", "o-2", "o-9"]);
 * result.valid; // false
 * result.missing; // ["o-3"]
 * result.duplicated; // Map { "o-2" => 2 }
 * result.unexpected; // Map { "o-9" => 1 }
 * ```
 */
export function checkEffects<K>(
  expected: Iterable<K>,
  effects: ReadonlyMap<K, number> | Iterable<K>,
): EffectsResult<K> {
  const counts = new Map<K, number>();
  let total = 0;
  if (effects instanceof Map) {
    for (const [id, count] of effects as ReadonlyMap<K, number>) {
      if (!(Number.isInteger(count) && count >= 0)) {
        throw new RangeError(
          `Cannot check the effects as the count of '${
            String(id)
          }' must be a non-negative integer: current value is ${count}`,
        );
      }
      if (count > 0) counts.set(id, count);
      total += count;
    }
  } else {
    for (const id of effects as Iterable<K>) {
      counts.set(id, (counts.get(id) ?? 0) + 1);
      total++;
    }
  }
  const wanted = new Set(expected);
  const missing: K[] = [];
  const duplicated = new Map<K, number>();
  let exactlyOnce = 0;
  for (const id of wanted) {
    const count = counts.get(id) ?? 0;
    if (count === 0) missing.push(id);
    else if (count === 1) exactlyOnce++;
    else duplicated.set(id, count);
  }
  const unexpected = new Map<K, number>();
  for (const [id, count] of counts) {
    if (!wanted.has(id)) unexpected.set(id, count);
  }
  return {
    valid: missing.length === 0 && duplicated.size === 0 && unexpected.size === 0,
    missing,
    duplicated,
    unexpected,
    expected: wanted.size,
    exactlyOnce,
    effects: total,
  };
}
