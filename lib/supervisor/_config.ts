// Internal helper; not exported by mod.ts.

import { dirname, join, resolve } from "node:path";
import { parseConfigUrl } from "@flotilla/config";
import { InvalidSettingError } from "./errors.ts";
import type { ConfigAccess } from "./permissions.ts";

/** The folder of the services' dynamic configuration files, in the data root. */
export const CONFIG_DIR = "config";

/**
 * The file in the data root holding the bearer token of the services'
 * `GET /config` (`FLOTILLA_CONFIG_TOKEN`), readable by the supervisor's user
 * only; `flotilla config get` reads it.
 */
export const CONFIG_TOKEN_FILE = "config.token";

/** The dynamic configuration the services follow, as `FLOTILLA_CONFIG` names it. */
export interface ConfigSetting {
  /** Its kind. */
  type: "file" | "etcd";
  /** The `FLOTILLA_CONFIG` of one service. */
  valueFor(service: string): string;
  /** What every service needs to follow it. */
  access: ConfigAccess;
}

/**
 * Reads and checks the supervisor's `FLOTILLA_CONFIG`: `file` (the default)
 * gives each service its own watched file, `<dataRoot>/config/<service>.json`
 * (replicas share it); `file:<path>` one file for all; `etcd://host:port`
 * the keys under `/flotilla/config/<service>/` (or the URL's prefix, for all).
 *
 * @throws {InvalidSettingError} when it is none of those.
 */
export function configSetting(raw: string | undefined, dataRoot: string): ConfigSetting {
  let parsed: ReturnType<typeof parseConfigUrl>;
  try {
    parsed = parseConfigUrl(raw);
  } catch (error) {
    throw new InvalidSettingError(
      "FLOTILLA_CONFIG",
      `Cannot start the supervisor as FLOTILLA_CONFIG must be file, file:<path> or etcd://host:port[/prefix/]: current value is "${raw}"`,
      { cause: error },
    );
  }
  if (parsed.type === "file") {
    if (parsed.path === undefined) {
      const dir = join(dataRoot, CONFIG_DIR);
      return {
        type: "file",
        valueFor: (service) => `file:${join(dir, `${service}.json`)}`,
        access: { dir },
      };
    }
    const path = resolve(parsed.path);
    return { type: "file", valueFor: () => `file:${path}`, access: { dir: dirname(path) } };
  }
  const url = new URL(parsed.endpoint);
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const value = raw!.trim();
  return {
    type: "etcd",
    valueFor: () => value,
    access: { address: { hostname: url.hostname.replace(/^\[|\]$/g, ""), port } },
  };
}
