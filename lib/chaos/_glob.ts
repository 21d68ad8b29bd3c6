/**
 * Glob patterns of rule scopes. Private to the package.
 *
 * @module
 */

const cache = new Map<string, RegExp>();

/** Whether `value` matches `pattern`: `*` any run of characters, `?` one, `a|b` alternatives. */
export function globMatch(pattern: string, value: string): boolean {
  if (pattern === "*") return true;
  let regexp = cache.get(pattern);
  if (regexp === undefined) {
    const alternatives = pattern.split("|").map((part) =>
      part.replace(/[.+^${}()[\]\\]/g, "\\$&").replaceAll("*", ".*").replaceAll("?", ".")
    );
    regexp = new RegExp(`^(?:${alternatives.join("|")})$`);
    if (cache.size > 1_000) cache.clear();
    cache.set(pattern, regexp);
  }
  return regexp.test(value);
}
