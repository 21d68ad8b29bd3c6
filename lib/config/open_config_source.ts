/**
 * Opening the dynamic source named by `FLOTILLA_CONFIG`.
 *
 * @module
 */

import type { ConfigSource } from "./config_source.ts";
import { EtcdConfigSource } from "./etcd_config_source.ts";
import { FileConfigSource } from "./file_config_source.ts";
import { type ConfigUrl, parseConfigUrl } from "./parse_config_url.ts";

/** Options of {@link openConfigSource}. */
export interface OpenConfigSourceOptions {
  /** The service whose configuration it is; names the default etcd prefix. */
  service: string;
  /** The file of `file` when the URL names none (the runtime passes `<data dir>/config.json`). @default {"config.json"} */
  defaultPath?: string;
  /** Debounce of the file watch, in milliseconds. @default {100} */
  debounceMs?: number;
  /** The etcd prefix when the URL names none. @default {`/flotilla/config/<service>/`} */
  defaultPrefix?: string;
  /** The HTTP client for etcd. @default {direct to a loopback endpoint} */
  client?: Deno.HttpClient;
}

/**
 * Opens the {@link ConfigSource} that `FLOTILLA_CONFIG` (a string, or what
 * {@link parseConfigUrl} made of it) names. Nothing is read until the
 * source's changes are iterated.
 *
 * @example
 * ```ts
 * import { ConfigStore, openConfigSource } from "@flotilla/config";
 * import { z } from "zod";
 *
 * const source = openConfigSource(Deno.env.get("FLOTILLA_CONFIG"), { service: "order" });
 * await using config = await ConfigStore.open(z.object({ pool: z.number().default(4) }), { source });
 * ```
 *
 * @throws {ConfigError} `INVALID_CONFIG_URL` for a value {@link parseConfigUrl} refuses.
 */
export function openConfigSource(
  url: string | undefined | ConfigUrl,
  options: OpenConfigSourceOptions,
): ConfigSource {
  const parsed = typeof url === "object" ? url : parseConfigUrl(url);
  if (parsed.type === "file") {
    return new FileConfigSource(parsed.path ?? options.defaultPath ?? "config.json", {
      ...(options.debounceMs === undefined ? {} : { debounceMs: options.debounceMs }),
    });
  }
  return new EtcdConfigSource({
    endpoint: parsed.endpoint,
    prefix: parsed.prefix ?? options.defaultPrefix ?? `/flotilla/config/${options.service}/`,
    ...(options.client === undefined ? {} : { client: options.client }),
  });
}
