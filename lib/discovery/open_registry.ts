/**
 * Choosing a registry from a URL — the value of `FLOTILLA_REGISTRY` — and
 * opening it.
 *
 * @module
 */

import type { Clock } from "@flotilla/core";
import { invalidRegistryUrl } from "./errors.ts";
import type { Registry } from "./registry.ts";
import { EtcdRegistry } from "./etcd_registry.ts";
import { LocalRegistry } from "./local_registry.ts";
import { type StaticPeers, StaticRegistry } from "./static_registry.ts";

/** The transport of DNS SRV records (`_<port>._<proto>.<service>.<domain>`). */
export type DnsProtocol = "tcp" | "udp";

/**
 * A parsed registry URL, discriminated on `type`:
 *
 * | value | result |
 * |---|---|
 * | `local` | `{ type: "local" }` |
 * | `static` | `{ type: "static" }` |
 * | `etcd://host:port` | `{ type: "etcd", endpoint: "http://host:port" }` (port 2379 by default) |
 * | `dns://ip:port?domain=…&port=…&proto=…` | `{ type: "dns", nameServer: { ipAddr, port }, domain?, portName?, protocol? }` (port 53 by default) |
 * | `consul://host:port` | `{ type: "consul", endpoint: "http://host:port" }` (port 8500 by default) |
 */
export type RegistryUrl =
  | { type: "local" }
  | { type: "static" }
  | { type: "etcd"; endpoint: string }
  | {
    type: "dns";
    nameServer: { ipAddr: string; port: number };
    domain?: string;
    portName?: string;
    protocol?: DnsProtocol;
  }
  | { type: "consul"; endpoint: string };

const DNS_QUERY_KEYS = new Set(["domain", "port", "proto"]);

/**
 * Parses a registry URL, the value of `FLOTILLA_REGISTRY`.
 *
 * @example
 * ```ts
 * import { parseRegistryUrl } from "@flotilla/discovery";
 *
 * parseRegistryUrl("etcd://10.0.0.2:2379"); // { type: "etcd", endpoint: "http://10.0.0.2:2379" }
 * parseRegistryUrl("dns://10.96.0.10:53?domain=svc.cluster.local&port=http&proto=tcp");
 * // { type: "dns", nameServer: { ipAddr: "10.96.0.10", port: 53 },
 * //   domain: "svc.cluster.local", portName: "http", protocol: "tcp" }
 * ```
 *
 * @throws {DiscoveryError} `INVALID_REGISTRY_URL` naming the value when it is
 * none of the forms above.
 */
export function parseRegistryUrl(value: string): RegistryUrl {
  const trimmed = typeof value === "string" ? value.trim() : "";
  if (trimmed === "local") return { type: "local" };
  if (trimmed === "static") return { type: "static" };
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme !== "etcd" && scheme !== "dns" && scheme !== "consul") {
    throw invalidRegistryUrl(
      String(value),
      "expected 'local', 'static', 'etcd://host:port', 'dns://ip:port' or 'consul://host:port'",
    );
  }
  let url: URL;
  try {
    // Parse as http so that host, port and IPv6 literals follow the usual rules.
    url = new URL(`http${trimmed.slice(scheme.length)}`);
  } catch (error) {
    throw invalidRegistryUrl(value, "it is not a URL", { cause: error });
  }
  if (url.hostname === "" || url.username !== "" || url.password !== "") {
    throw invalidRegistryUrl(value, "it must name a host (and no credentials)");
  }
  if (url.pathname !== "/" || url.hash !== "") {
    throw invalidRegistryUrl(value, "it must not have a path or a fragment");
  }
  if (scheme !== "dns") {
    if (url.search !== "") throw invalidRegistryUrl(value, "it must not have a query");
    const port = url.port || (scheme === "etcd" ? "2379" : "8500");
    return { type: scheme, endpoint: `http://${url.hostname}:${port}` };
  }
  const ipAddr = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (!isIpAddress(ipAddr)) {
    throw invalidRegistryUrl(value, "the name server must be an IP address");
  }
  const parsed: RegistryUrl = {
    type: "dns",
    nameServer: { ipAddr, port: url.port === "" ? 53 : Number(url.port) },
  };
  for (const key of url.searchParams.keys()) {
    if (!DNS_QUERY_KEYS.has(key)) {
      throw invalidRegistryUrl(
        value,
        `unknown query parameter '${key}' (known: domain, port, proto)`,
      );
    }
  }
  const domain = url.searchParams.get("domain");
  const portName = url.searchParams.get("port");
  const protocol = url.searchParams.get("proto");
  if (domain) parsed.domain = domain.replace(/^\.+|\.+$/g, "");
  if (portName) parsed.portName = portName;
  if (protocol) {
    if (protocol !== "tcp" && protocol !== "udp") {
      throw invalidRegistryUrl(value, `'proto' must be 'tcp' or 'udp', not '${protocol}'`);
    }
    parsed.protocol = protocol;
  }
  return parsed;
}

function isIpAddress(value: string): boolean {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(value)) {
    return value.split(".").every((part) => Number(part) <= 255);
  }
  return value.includes(":") && /^[0-9a-f:.]+$/i.test(value);
}

/** Options of {@link openRegistry}. */
export interface OpenRegistryOptions {
  /** The folder of the `local` registry (`FLOTILLA_REGISTRY_DIR`); required for `local`. */
  localDir?: string;
  /** The instances of each service for `static` (e.g. `ServiceEnv.peers`). @default {{}} */
  staticPeers?: StaticPeers;
  /** The source of time for the `local` registry's expiry. @default {systemClock} */
  clock?: Clock;
  /** How often the `local` registry's `watch()` polls, in milliseconds. @default {250} */
  pollIntervalMs?: number;
  /** The default TTL of `etcd` registrations, in milliseconds. @default {10_000} */
  ttlMs?: number;
  /** The key prefix of the `etcd` registry. @default {"/flotilla/services/"} */
  etcdPrefix?: string;
}

/**
 * Opens the registry a URL names (see {@link parseRegistryUrl}): a
 * {@link LocalRegistry} in `options.localDir`, a {@link StaticRegistry} of
 * `options.staticPeers`, an {@link EtcdRegistry}, or — loaded only when
 * asked for — a `DnsRegistry` or `ConsulRegistry`.
 *
 * @example
 * ```ts
 * import { readServiceEnv } from "@flotilla/core";
 * import { openRegistry } from "@flotilla/discovery";
 *
 * const env = readServiceEnv(contract);
 * await using registry = await openRegistry(env.registry, {
 *   ...(env.registryDir === undefined ? {} : { localDir: env.registryDir }),
 *   staticPeers: env.peers,
 * });
 * ```
 *
 * @throws {DiscoveryError} `INVALID_REGISTRY_URL` when the URL is invalid.
 * @throws {RangeError} when `local` is asked for without `localDir`, or an option is invalid.
 */
export async function openRegistry(
  value: string | RegistryUrl,
  options: OpenRegistryOptions = {},
): Promise<Registry> {
  const url = typeof value === "string" ? parseRegistryUrl(value) : value;
  switch (url.type) {
    case "local": {
      if (options.localDir === undefined || options.localDir === "") {
        throw new RangeError(
          `Cannot open the local registry as 'localDir' (FLOTILLA_REGISTRY_DIR) must be set: current value is ${
            JSON.stringify(options.localDir)
          }`,
        );
      }
      return new LocalRegistry({
        dir: options.localDir,
        ...(options.clock === undefined ? {} : { clock: options.clock }),
        ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
      });
    }
    case "static":
      return new StaticRegistry(options.staticPeers ?? {});
    case "etcd":
      return new EtcdRegistry({
        endpoint: url.endpoint,
        ...(options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs }),
        ...(options.etcdPrefix === undefined ? {} : { prefix: options.etcdPrefix }),
      });
    case "dns": {
      // Loaded on demand, like every adapter beyond the defaults.
      const { DnsRegistry } = await import("./dns_registry.ts");
      return new DnsRegistry({
        nameServer: { ...url.nameServer },
        ...(url.domain === undefined ? {} : { domain: url.domain }),
        ...(url.portName === undefined ? {} : { portName: url.portName }),
        ...(url.protocol === undefined ? {} : { protocol: url.protocol }),
      });
    }
    case "consul": {
      const { ConsulRegistry } = await import("./consul_registry.ts");
      return new ConsulRegistry({ endpoint: url.endpoint });
    }
    default: {
      const unknown: never = url;
      throw invalidRegistryUrl(JSON.stringify(unknown), "unknown registry type");
    }
  }
}
