/**
 * Where a system keeps its data.
 *
 * @module
 */

import { resolve } from "node:path";

/** The folder under the working directory used when `FLOTILLA_DATA_DIR` is unset. */
export const DEFAULT_DATA_ROOT = ".flotilla";

/**
 * The absolute path of the data root: `FLOTILLA_DATA_DIR` when set, else
 * `./.flotilla`, resolved against `cwd`. It holds one folder per service
 * that needs one, `logs/`, `supervisor.pid` and `supervisor.json`.
 *
 * @example
 * ```ts
 * resolveDataRoot({}, "/srv/shop"); // "/srv/shop/.flotilla"
 * resolveDataRoot({ FLOTILLA_DATA_DIR: "/var/lib/shop" }); // "/var/lib/shop"
 * ```
 */
export function resolveDataRoot(
  env: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
  cwd: string = Deno.cwd(),
): string {
  return resolve(cwd, env.FLOTILLA_DATA_DIR || DEFAULT_DATA_ROOT);
}
