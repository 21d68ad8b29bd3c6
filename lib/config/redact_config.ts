/**
 * Hiding secrets in a configuration before it is shown (`GET /config`, logs).
 *
 * @module
 */

import { redactPassword } from "@flotilla/core";
import { isPlainObject } from "./_values.ts";

/** What a secret value is replaced with. */
export const REDACTED = "***";

/** Key names treated as secret wherever they appear. */
export const SECRET_KEY_PATTERN: RegExp =
  /pass(word|phrase)?$|secret|token|api[-_]?key|credential|private[-_]?key|^auth(orization)?$/i;

/** Options of {@link redactConfig}. */
export interface RedactOptions {
  /**
   * Paths of secret values, dot-separated, `*` matching one segment and
   * `**` any number: `db.password`, `peers.*.token`, `**.apiKey`.
   */
  secrets?: readonly string[];
  /** Key names that are secret anywhere. @default {SECRET_KEY_PATTERN} */
  secretKeys?: RegExp;
}

/**
 * A copy of `values` fit to show: every value at a secret path or under a
 * secret-looking key becomes `"***"`, and the password of every URL-like
 * string (`postgres://app:pw@db`) is hidden with `redactPassword`.
 *
 * @example
 * ```ts
 * import { redactConfig } from "@flotilla/config";
 *
 * redactConfig(
 *   { db: { url: "postgres://app:pw@db/shop", password: "pw" }, stripe: { key: "sk_live" } },
 *   { secrets: ["stripe.key"] },
 * );
 * // { db: { url: "postgres://app:***@db/shop", password: "***" }, stripe: { key: "***" } }
 * ```
 */
export function redactConfig(values: unknown, options: RedactOptions = {}): unknown {
  const patterns = (options.secrets ?? []).map((path) => path.split("."));
  const secretKeys = options.secretKeys ?? SECRET_KEY_PATTERN;
  const walk = (value: unknown, path: string[]): unknown => {
    const key = path[path.length - 1];
    if (
      path.length > 0 &&
      (patterns.some((pattern) => matches(pattern, path)) ||
        (key !== undefined && !/^\d+$/.test(key) && secretKeys.test(key)))
    ) {
      return value === null || value === undefined || value === "" ? value : REDACTED;
    }
    if (typeof value === "string") return redactPassword(value);
    if (Array.isArray(value)) {
      return value.map((item, index) => walk(item, [...path, String(index)]));
    }
    if (isPlainObject(value)) {
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(value)) out[k] = walk(item, [...path, k]);
      return out;
    }
    return value;
  };
  return walk(values, []);
}

function matches(pattern: readonly string[], path: readonly string[]): boolean {
  if (pattern.length === 0) return path.length === 0;
  const [head, ...rest] = pattern;
  if (head === "**") {
    for (let skip = 0; skip <= path.length; skip++) {
      if (matches(rest, path.slice(skip))) return true;
    }
    return false;
  }
  if (path.length === 0) return false;
  return (head === "*" || head === path[0]) && matches(rest, path.slice(1));
}
