// Helpers shared by the strategies; not exported by mod.ts.

import type { CallOutcome } from "./balancer.ts";

/** The completion callback of strategies that learn nothing from calls. */
export const ignoreOutcome = (_outcome: CallOutcome): void => {};

/** A uniform index in [0, n) from `random`, clamped should `random` misbehave. */
export function randomIndex(random: () => number, n: number): number {
  const i = Math.floor(random() * n);
  return i >= 0 && i < n ? i : i >= n ? n - 1 : 0;
}

/**
 * Returns `value` when `valid`, else throws
 * `RangeError("Cannot create the <what> as '<name>' must be <expected>: current value is <value>")`.
 */
export function checkOption(
  what: string,
  name: string,
  value: number,
  valid: (value: number) => boolean,
  expected: string,
): number {
  if (typeof value !== "number" || Number.isNaN(value) || !valid(value)) {
    throw new RangeError(
      `Cannot create the ${what} as '${name}' must be ${expected}: current value is ${value}`,
    );
  }
  return value;
}
