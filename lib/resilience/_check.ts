/**
 * Option checks shared by the constructors: a bad option throws a
 * `RangeError` that names the action, the option and its value.
 *
 * @module
 */

/** Throws unless `value` is a finite number accepted by `valid`. */
export function checkNumber(
  action: string,
  name: string,
  value: number,
  valid: (value: number) => boolean,
  expected: string,
): number {
  if (typeof value !== "number" || Number.isNaN(value) || !valid(value)) {
    throw new RangeError(
      `Cannot ${action} as '${name}' must be ${expected}: current value is ${String(value)}`,
    );
  }
  return value;
}

/** Throws unless `value` is a positive safe integer. */
export function checkPositiveInteger(action: string, name: string, value: number): number {
  return checkNumber(
    action,
    name,
    value,
    (v) => Number.isSafeInteger(v) && v > 0,
    "a positive integer",
  );
}

/** Throws unless `value` is a non-negative safe integer. */
export function checkNonNegativeInteger(action: string, name: string, value: number): number {
  return checkNumber(
    action,
    name,
    value,
    (v) => Number.isSafeInteger(v) && v >= 0,
    "an integer >= 0",
  );
}

/** Throws unless `value` is a finite number > 0. */
export function checkPositive(action: string, name: string, value: number): number {
  return checkNumber(action, name, value, (v) => Number.isFinite(v) && v > 0, "a number > 0");
}

/** Throws unless `value` is a finite number >= 0. */
export function checkNonNegative(action: string, name: string, value: number): number {
  return checkNumber(action, name, value, (v) => Number.isFinite(v) && v >= 0, "a number >= 0");
}

/** Throws unless `value` is a percentage in (0, 100]. */
export function checkPercent(action: string, name: string, value: number): number {
  return checkNumber(
    action,
    name,
    value,
    (v) => v > 0 && v <= 100,
    "a percentage in (0, 100]",
  );
}
