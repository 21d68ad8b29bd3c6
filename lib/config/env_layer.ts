/**
 * The environment layer of a configuration.
 *
 * @module
 */

import { setPath } from "./_values.ts";

/** Where environment variables are read. */
export interface EnvReader {
  /** The value of variable `name`, if set. */
  get(name: string): string | undefined;
}

/**
 * Builds the environment layer from an explicit map of config paths to
 * variable names, so a service reads exactly the variables it declares (and
 * the supervisor can grant them with `--allow-env=…`). A value that parses
 * as JSON (`8`, `true`, `["a"]`, `{"x":1}`) is taken as such, anything else
 * as a string; unset variables are left out.
 *
 * @example
 * ```ts
 * import { envLayer } from "@flotilla/config";
 *
 * envLayer({ "db.url": "DATABASE_URL", "pool.size": "POOL_SIZE" }, {
 *   get: (name) => ({ DATABASE_URL: "postgres://db/shop", POOL_SIZE: "8" })[name],
 * });
 * // { db: { url: "postgres://db/shop" }, pool: { size: 8 } }
 * ```
 */
export function envLayer(
  vars: Readonly<Record<string, string>>,
  env: EnvReader = Deno.env,
): Record<string, unknown> {
  const layer: Record<string, unknown> = {};
  for (const [path, name] of Object.entries(vars)) {
    const raw = env.get(name);
    if (raw === undefined) continue;
    const segments = path.split(".").filter((segment) => segment !== "");
    if (segments.length === 0) {
      throw new RangeError(
        `Cannot read the environment layer as a config path must not be empty: current value is ${
          JSON.stringify(path)
        }`,
      );
    }
    setPath(layer, segments, parseValue(raw));
  }
  return layer;
}

function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}
