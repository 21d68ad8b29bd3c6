/**
 * Plain-data helpers of the package: deep merge, deep freeze, structural
 * equality and path assignment. Private to the package.
 *
 * @module
 */

/** Whether `value` is a plain object (`{}` or `Object.create(null)`), not an array or class instance. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A deep copy of plain objects and arrays; anything else is kept as is. */
export function clonePlain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clonePlain);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (key === "__proto__") continue;
      out[key] = clonePlain(item);
    }
    return out;
  }
  return value;
}

/**
 * Merges `layers` left to right into a fresh value: plain objects merge key
 * by key, recursively; anything else (arrays, scalars, `null`) in a later
 * layer replaces what came before. `undefined` layers and `undefined` values
 * are skipped. The inputs are never modified nor shared with the result.
 */
export function deepMerge(...layers: readonly unknown[]): unknown {
  let result: unknown = undefined;
  for (const layer of layers) {
    if (layer === undefined) continue;
    result = mergeTwo(result, layer);
  }
  return result;
}

function mergeTwo(base: unknown, over: unknown): unknown {
  if (isPlainObject(base) && isPlainObject(over)) {
    const out = clonePlain(base) as Record<string, unknown>;
    for (const [key, value] of Object.entries(over)) {
      if (value === undefined || key === "__proto__") continue;
      out[key] = mergeTwo(out[key], value);
    }
    return out;
  }
  return clonePlain(over);
}

/** Freezes `value` and everything reachable from it; returns it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Reflect.ownKeys(value)) {
      deepFreeze((value as Record<PropertyKey, unknown>)[key]);
    }
  }
  return value;
}

/** Structural equality of JSON-like values (plain objects, arrays, scalars, dates). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, index) => deepEqual(item, b[index]));
  }
  if (Array.isArray(b)) return false;
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  }
  if (
    !(isPlainObject(a) && isPlainObject(b)) && Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)
  ) {
    return false;
  }
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  return keysA.every((key) =>
    Object.hasOwn(b, key) &&
    deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])
  );
}

/**
 * Sets `value` at `path` in `target`, creating plain objects on the way (and
 * replacing a non-object found on the way).
 */
export function setPath(
  target: Record<string, unknown>,
  path: readonly string[],
  value: unknown,
): void {
  let node = target;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i]!;
    if (key === "__proto__") return;
    let next = node[key];
    if (!isPlainObject(next)) {
      next = {};
      node[key] = next;
    }
    node = next as Record<string, unknown>;
  }
  const last = path[path.length - 1];
  if (last === undefined || last === "__proto__") return;
  node[last] = value;
}

/** A value made deeply read-only, as snapshots hand it out. */
export type Frozen<T> = T extends (...args: never[]) => unknown ? T
  : T extends ReadonlyArray<infer U> ? ReadonlyArray<Frozen<U>>
  : T extends object ? { readonly [K in keyof T]: Frozen<T[K]> }
  : T;
