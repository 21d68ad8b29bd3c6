/**
 * `FLOTILLA_CONFIG`: which dynamic source a service's configuration follows.
 *
 * @module
 */

import { redactPassword } from "@flotilla/core";
import { ConfigError } from "./errors.ts";

/** A parsed `FLOTILLA_CONFIG`. */
export type ConfigUrl =
  | {
    /** A watched JSON file (the embedded default). */
    readonly type: "file";
    /** Its path, when the URL names one (`file:/srv/order/config.json`). */
    readonly path: string | undefined;
  }
  | {
    /** Keys under a prefix in etcd, watched. */
    readonly type: "etcd";
    /** etcd's client URL, `http://host:port`. */
    readonly endpoint: string;
    /** The key prefix, when the URL names one (`etcd://h:2379/flotilla/config/order/`). */
    readonly prefix: string | undefined;
  };

/**
 * Parses `FLOTILLA_CONFIG`: unset, empty or `file` (a watched JSON file at
 * the default path), `file:<path>` or `file://<absolute path>`, or
 * `etcd://host:port[/prefix/]` (also `etcd+https://`).
 *
 * @example
 * ```ts
 * import { parseConfigUrl } from "@flotilla/config";
 *
 * parseConfigUrl("etcd://127.0.0.1:2379");
 * // { type: "etcd", endpoint: "http://127.0.0.1:2379", prefix: undefined }
 * parseConfigUrl("file:/srv/order/config.json"); // { type: "file", path: "/srv/order/config.json" }
 * ```
 *
 * @throws {ConfigError} `INVALID_CONFIG_URL` for anything else.
 */
export function parseConfigUrl(value: string | undefined): ConfigUrl {
  const text = value?.trim() ?? "";
  if (text === "" || text === "file") return { type: "file", path: undefined };
  if (text.startsWith("file:")) {
    const rest = text.slice("file:".length);
    const path = rest.startsWith("//") ? decodeURIComponent(new URL(text).pathname) : rest;
    if (path === "") throw invalid(text, "the file path is empty");
    return { type: "file", path };
  }
  const scheme = /^etcd(\+https?)?:\/\//i.exec(text);
  if (scheme) {
    const protocol = scheme[1]?.toLowerCase() === "+https" ? "https:" : "http:";
    let url: URL;
    try {
      url = new URL(`${protocol}//${text.slice(scheme[0].length)}`);
    } catch {
      throw invalid(text, "it is not a URL");
    }
    if (url.hostname === "") throw invalid(text, "it names no host");
    if (url.search !== "" || url.hash !== "") throw invalid(text, "it has a query or fragment");
    const prefix = url.pathname === "/" || url.pathname === "" ? undefined : url.pathname;
    return { type: "etcd", endpoint: url.origin, prefix };
  }
  throw invalid(text, "expected file, file:<path> or etcd://host:port[/prefix/]");
}

function invalid(value: string, reason: string): ConfigError {
  return new ConfigError(
    "INVALID_CONFIG_URL",
    `Cannot follow FLOTILLA_CONFIG '${redactPassword(value)}': ${reason}`,
    { data: { value: redactPassword(value) } },
  );
}
