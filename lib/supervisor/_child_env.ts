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
  /** Its instance id, `<service>-<n>`. */
  instanceId: string;
  /** The value of `FLOTILLA_REGISTRY`: `local`, `static`, `etcd://…`… */
  registry: string;
  /** The folder of the `local` registry; undefined for any other. */
  registryDir?: string | undefined;
  /** Host of a registry server or name server, reached directly rather than through a proxy. */
  registryHost?: string | undefined;
  /** The value of `FLOTILLA_BUS`, for a service that emits or handles events. */
  bus?: string | undefined;
  /** The folder of the embedded SQLite bus. */
  busDir?: string | undefined;
  /** The value of `FLOTILLA_EVENTSTORE`, for a service whose contract needs an event store. */
  eventStore?: string | undefined;
  /** The value of `FLOTILLA_TRANSPORT`. @default {unset: HTTP} */
  transport?: string | undefined;
  /** The service's gRPC port (`FLOTILLA_GRPC_PORT`), with the `grpc` transport. */
  grpcPort?: number | undefined;
  /** Its dynamic configuration source (`FLOTILLA_CONFIG`). */
  config?: string | undefined;
  /** The bearer token of its `GET /config` (`FLOTILLA_CONFIG_TOKEN`). */
  configToken?: string | undefined;
  /**
   * Base URLs of every instance of each declared peer, by name; given only
   * with the `static` registry (with any other, peers are found through it).
   */
  peers: Readonly<Record<string, readonly string[]>>;
}

/** Variables the supervisor sets itself, or reads for itself only. */
const MANAGED =
  /^(FLOTILLA_DATA_DIR|FLOTILLA_REGISTRY|FLOTILLA_REGISTRY_DIR|FLOTILLA_BUS|FLOTILLA_BUS_DIR|FLOTILLA_EVENTSTORE|FLOTILLA_TRANSPORT|FLOTILLA_GRPC_PORT|FLOTILLA_CONFIG|FLOTILLA_CONFIG_TOKEN|FLOTILLA_INSTANCE_ID|FLOTILLA_ADMIN_PORT|FLOTILLA_PEER_.+_URL|FLOTILLA_REPLICAS_.+)$/;

/**
 * The environment of a service process: the supervisor's own, without the
 * variables the supervisor manages, then the plan's `env`, then the managed
 * ones — its port variable, `FLOTILLA_HOST`, `FLOTILLA_DATA_DIR` (only when it
 * needs a data folder), `FLOTILLA_INSTANCE_ID`, `FLOTILLA_REGISTRY`,
 * `FLOTILLA_REGISTRY_DIR` (only for the `local` registry), `FLOTILLA_BUS`
 * and `FLOTILLA_EVENTSTORE` (only to a service that uses them),
 * `FLOTILLA_CONFIG` and `FLOTILLA_CONFIG_TOKEN`, and
 * `FLOTILLA_PEER_<NAME>_URL` of each peer (only for the `static` one), its
 * instances' URLs comma-separated. When a proxy is configured, the loopback,
 * the service's own host and the registry's host are added to `NO_PROXY`,
 * since Deno's `fetch` would otherwise send calls to them to the proxy —
 * which the process may not reach.
 */
export function childEnv(service: ServicePlan, options: ChildEnvOptions): Record<string, string> {
  const dropped = new Set(options.portVariables);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.base)) {
    if (value === undefined || dropped.has(name) || MANAGED.test(name)) continue;
    env[name] = value;
  }
  Object.assign(env, service.env ?? {});
  bypassProxy(env, options.hostname, options.registryHost);
  env[service.contract.needs?.port?.env ?? "PORT"] = String(options.port);
  env.FLOTILLA_HOST = options.hostname;
  if (options.dataDir !== undefined) env.FLOTILLA_DATA_DIR = options.dataDir;
  env.FLOTILLA_INSTANCE_ID = options.instanceId;
  env.FLOTILLA_REGISTRY = options.registry;
  if (options.registryDir !== undefined) env.FLOTILLA_REGISTRY_DIR = options.registryDir;
  if (options.bus !== undefined) env.FLOTILLA_BUS = options.bus;
  if (options.busDir !== undefined) env.FLOTILLA_BUS_DIR = options.busDir;
  if (options.eventStore !== undefined) env.FLOTILLA_EVENTSTORE = options.eventStore;
  if (options.transport !== undefined) env.FLOTILLA_TRANSPORT = options.transport;
  if (options.grpcPort !== undefined) env.FLOTILLA_GRPC_PORT = String(options.grpcPort);
  if (options.config !== undefined) env.FLOTILLA_CONFIG = options.config;
  if (options.configToken !== undefined) env.FLOTILLA_CONFIG_TOKEN = options.configToken;
  for (const [peer, urls] of Object.entries(options.peers)) {
    if (urls.length > 0) env[peerUrlVariable(peer)] = urls.join(",");
  }
  return env;
}

const PROXY_VARIABLES = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"];

function bypassProxy(
  env: Record<string, string>,
  hostname: string,
  registryHost: string | undefined,
): void {
  const proxied = PROXY_VARIABLES.some((name) => env[name] || env[name.toLowerCase()]);
  if (!proxied) return;
  const entries = (env.NO_PROXY || env.no_proxy || "").split(",").map((e) => e.trim())
    .filter(Boolean);
  const direct = ["localhost", "127.0.0.1", "::1"];
  if (hostname !== "0.0.0.0" && hostname !== "::") direct.push(hostname);
  if (registryHost !== undefined) direct.push(registryHost);
  for (const host of direct) if (!entries.includes(host)) entries.push(host);
  env.NO_PROXY = env.no_proxy = entries.join(",");
}
