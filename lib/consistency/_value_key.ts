/**
 * Identity of history values: two values are the same element of a
 * multiset when their keys are equal.
 *
 * @module
 */

/** A key that equates values equal as JSON (object keys in any order). */
export function valueKey(value: unknown): unknown {
  if (value === null) return value;
  switch (typeof value) {
    case "string":
    case "number":
    case "bigint":
    case "boolean":
    case "undefined":
      return value;
    default:
      return "\u0000json:" + stableStringify(value);
  }
}

function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_key, item) => {
    if (item === null || typeof item !== "object" || Array.isArray(item)) return item;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(item).sort()) {
      sorted[key] = (item as Record<string, unknown>)[key];
    }
    return sorted;
  });
}
