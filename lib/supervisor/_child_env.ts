// Internal helper; not exported by mod.ts.

import { peerUrlVariable } from "@flotilla/core";
import type { ServicePlan } from "./plan.ts";

/** Options of {@link childEnv}. */
export interface ChildEnvOptions {
  /** The supervisor's environment, which every child starts from. */
  base: Readonly<Record<string, string | undefined>>;
  /** Port variables of every service of the system; not inherited from `base`. */
  portVariables: Iterable<string>;
  /** Address the service binds. */
  hostname: string;
  /** Port it listens on. */
  port: number;
  /** Its data folder, when its contract needs one. */
  dataDir: string | undefined;
  /** Base URL of each declared peer, by name. */
  peers: Readonly<Record<string, string>>;
}

/**
 * The environment of a service process: the supervisor's own, without the
 * variables the supervisor manages, then the plan's `env`, then the managed
 * ones — its port variable, `FLOTILLA_HOST`, `FLOTILLA_DATA_DIR` (only when it
 * needs a data folder) and `FLOTILLA_PEER_<NAME>_URL` of each peer. When a
 * proxy is configured, the peers' addresses are added to `NO_PROXY`, since
 * Deno's `fetch` would otherwise send calls to a loopback peer to the proxy.
 */
export function childEnv(service: ServicePlan, options: ChildEnvOptions): Record<string, string> {
  const dropped = new Set([...options.portVariables, "FLOTILLA_DATA_DIR"]);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.base)) {
    if (value === undefined || dropped.has(name) || /^FLOTILLA_PEER_.+_URL$/.test(name)) continue;
    env[name] = value;
  }
  Object.assign(env, service.env ?? {});
  bypassProxyForPeers(env, options.hostname);
  env[service.contract.needs?.port?.env ?? "PORT"] = String(options.port);
  env.FLOTILLA_HOST = options.hostname;
  if (options.dataDir !== undefined) env.FLOTILLA_DATA_DIR = options.dataDir;
  for (const [peer, url] of Object.entries(options.peers)) env[peerUrlVariable(peer)] = url;
  return env;
}

const PROXY_VARIABLES = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"];

function bypassProxyForPeers(env: Record<string, string>, hostname: string): void {
  const proxied = PROXY_VARIABLES.some((name) => env[name] || env[name.toLowerCase()]);
  if (!proxied) return;
  const entries = (env.NO_PROXY || env.no_proxy || "").split(",").map((e) => e.trim())
    .filter(Boolean);
  const local = ["localhost", "127.0.0.1", "::1"];
  if (hostname !== "0.0.0.0" && hostname !== "::") local.push(hostname);
  for (const host of local) if (!entries.includes(host)) entries.push(host);
  env.NO_PROXY = env.no_proxy = entries.join(",");
}
