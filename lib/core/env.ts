/**
 * The `FLOTILLA_*` environment a service process reads, and the full list of
 * variables it may read — which the supervisor grants with `--allow-env`.
 *
 * | variable | meaning | default |
 * |---|---|---|
 * | `PORT` (or the contract's `needs.port.env`) | port to listen on | `needs.port.default`, else 0 |
 * | `FLOTILLA_HOST` | address to bind | `127.0.0.1` |
 * | `FLOTILLA_DATA_DIR` | this process's data folder | none |
 * | `FLOTILLA_LOG_LEVEL` | `debug`, `info`, `warn`, `error` | `info` |
 * | `FLOTILLA_BODY_LIMIT` | largest request body, bytes | 1048576 |
 * | `FLOTILLA_DRAIN_TIMEOUT_MS` | how long SIGTERM waits for in-flight work | 10000 |
 * | `FLOTILLA_PEER_<NAME>_URL` | base URL(s) of peer `<name>`, comma-separated | none |
 * | `FLOTILLA_REGISTRY` | service registry: `local`, `static`, `etcd://…`, `dns://…`, `consul://…` | `static` |
 * | `FLOTILLA_REGISTRY_DIR` | folder of the `local` registry's database | none |
 * | `FLOTILLA_INSTANCE_ID` | this instance's id in the registry | `<service>-<random>` |
 * | `FLOTILLA_REGISTRY_TTL_MS` | how long an instance stays listed without a heartbeat | 10000 |
 * | `FLOTILLA_POLICIES` | call policies (timeouts, retries, breakers…) as JSON | built-in defaults |
 * | `FLOTILLA_BUS` | message bus: `sqlite`, `redis://…`, `nats://…` | none |
 * | `FLOTILLA_BUS_DIR` | folder of the embedded SQLite bus | none |
 * | `FLOTILLA_EVENTSTORE` | event store of a service whose contract needs one: `sqlite`, `postgres://…` | `sqlite` |
 * | `FLOTILLA_TRANSPORT` | transport of calls between services: `http`, `grpc`, `nats://host:port` | `http` |
 * | `FLOTILLA_GRPC_PORT` | port of the gRPC server with the `grpc` transport | any free port |
 * | `FLOTILLA_CONFIG` | dynamic configuration: `file`, `file:<path>`, `etcd://host:port[/prefix/]` | `file` |
 * | `FLOTILLA_CONFIG_TOKEN` | bearer token that `GET /config` requires (unset: not served) | none |
 *
 * @module
 */

import { peerUrlVariable, type ServiceContract } from "./contract.ts";
import { type LogLevel, parseLogLevel } from "./logger.ts";

/** The kernel's variables, read by every service. */
export const KERNEL_ENV: readonly string[] = [
  "FLOTILLA_HOST",
  "FLOTILLA_DATA_DIR",
  "FLOTILLA_LOG_LEVEL",
  "FLOTILLA_BODY_LIMIT",
  "FLOTILLA_DRAIN_TIMEOUT_MS",
  "FLOTILLA_REGISTRY",
  "FLOTILLA_REGISTRY_DIR",
  "FLOTILLA_INSTANCE_ID",
  "FLOTILLA_REGISTRY_TTL_MS",
  "FLOTILLA_POLICIES",
  "FLOTILLA_BUS",
  "FLOTILLA_BUS_DIR",
  "FLOTILLA_TRANSPORT",
  "FLOTILLA_GRPC_PORT",
  "FLOTILLA_CRASH_AT",
  "FLOTILLA_CONFIG",
  "FLOTILLA_CONFIG_TOKEN",
];

/** Settings a service process takes from its environment. */
export interface ServiceEnv {
  /** Port to listen on (0 = any free port). */
  port: number;
  /** Address to bind. */
  hostname: string;
  /** This process's data folder, when the contract needs one. */
  dataDir: string | undefined;
  /** Lowest log level written. */
  logLevel: LogLevel;
  /** Largest accepted request body in bytes. */
  bodyLimit: number;
  /** How long a graceful stop waits for in-flight work. */
  drainTimeoutMs: number;
  /** Base URLs of each declared peer that has some (`FLOTILLA_PEER_<NAME>_URL`, comma-separated). */
  peers: Record<string, string[]>;
  /** The service registry to join and discover peers in (`FLOTILLA_REGISTRY`). */
  registry: string;
  /** Folder of the `local` registry (`FLOTILLA_REGISTRY_DIR`). */
  registryDir: string | undefined;
  /** This instance's id in the registry (`FLOTILLA_INSTANCE_ID`). */
  instanceId: string;
  /** How long the instance stays listed without a heartbeat (`FLOTILLA_REGISTRY_TTL_MS`). */
  registryTtlMs: number;
  /** Call policies as parsed JSON (`FLOTILLA_POLICIES`), validated by whoever applies them. */
  policies: unknown;
  /** The message bus (`FLOTILLA_BUS`), when the service has one. */
  bus: string | undefined;
  /** Folder of the embedded SQLite bus (`FLOTILLA_BUS_DIR`). */
  busDir: string | undefined;
  /** The event store (`FLOTILLA_EVENTSTORE`), for a service whose contract needs one. */
  eventStore: string;
  /**
   * The transport of calls between services (`FLOTILLA_TRANSPORT`): `http`,
   * `grpc` or `nats://host:port`. Every service serves HTTP too (health,
   * the edge); this adds the other.
   */
  transport: string;
  /** Port of the gRPC server when the transport is `grpc` (`FLOTILLA_GRPC_PORT`; 0 = any). */
  grpcPort: number;
  /**
   * The dynamic configuration source (`FLOTILLA_CONFIG`): `file` (a watched
   * JSON file at the runtime's default path), `file:<path>` or
   * `etcd://host:port[/prefix/]`.
   */
  config: string;
  /** The bearer token `GET /config` requires (`FLOTILLA_CONFIG_TOKEN`); unset: not served. */
  configToken: string | undefined;
}

/** Reads environment variables; `Deno.env` fits. */
export interface EnvReader {
  /** The value of `name`, or undefined. */
  get(name: string): string | undefined;
}

/** Every variable a service with `contract` may read: the kernel's, its port's, its peers' and its own. */
export function envVariablesOf(contract: ServiceContract): string[] {
  const needs = contract.needs ?? {};
  const names = [
    ...KERNEL_ENV,
    needs.port?.env ?? "PORT",
    ...(needs.peers ?? []).map(peerUrlVariable),
    ...(needs.env ?? []),
    ...(needs.eventStore ? ["FLOTILLA_EVENTSTORE"] : []),
  ];
  return [...new Set(names)];
}

/**
 * Reads and checks a service's settings.
 *
 * @throws {RangeError} naming the variable when a value is invalid, or when
 * the contract needs a data folder and `FLOTILLA_DATA_DIR` is unset.
 */
export function readServiceEnv(
  contract: ServiceContract,
  env: EnvReader = Deno.env,
): ServiceEnv {
  const needs = contract.needs ?? {};
  const portVariable = needs.port?.env ?? "PORT";
  const dataDir = env.get("FLOTILLA_DATA_DIR") || undefined;
  if (needs.dataDir && dataDir === undefined) {
    throw new RangeError(
      `Cannot start "${contract.name}" as it needs a data folder: FLOTILLA_DATA_DIR is unset`,
    );
  }
  const peers: Record<string, string[]> = {};
  for (const peer of needs.peers ?? []) {
    const raw = env.get(peerUrlVariable(peer));
    if (!raw) continue;
    peers[peer] = raw.split(",").map((url) => url.trim()).filter(Boolean)
      .map((url) => parseUrl(peerUrlVariable(peer), url));
  }
  return {
    port: integer(env, portVariable, needs.port?.default ?? 0, 0, 65535),
    hostname: env.get("FLOTILLA_HOST") || "127.0.0.1",
    dataDir,
    logLevel: parseLogLevel(env.get("FLOTILLA_LOG_LEVEL")),
    bodyLimit: integer(env, "FLOTILLA_BODY_LIMIT", 1024 * 1024, 1, 2 ** 31),
    drainTimeoutMs: integer(
      env,
      "FLOTILLA_DRAIN_TIMEOUT_MS",
      10_000,
      1,
      3_600_000,
    ),
    peers,
    registry: env.get("FLOTILLA_REGISTRY") || "static",
    registryDir: env.get("FLOTILLA_REGISTRY_DIR") || undefined,
    instanceId: env.get("FLOTILLA_INSTANCE_ID") ||
      `${contract.name}-${crypto.randomUUID().slice(0, 8)}`,
    registryTtlMs: integer(env, "FLOTILLA_REGISTRY_TTL_MS", 10_000, 1_000, 3_600_000),
    policies: json(env, "FLOTILLA_POLICIES"),
    bus: env.get("FLOTILLA_BUS") || undefined,
    busDir: env.get("FLOTILLA_BUS_DIR") || undefined,
    eventStore: (needs.eventStore && env.get("FLOTILLA_EVENTSTORE")) || "sqlite",
    transport: transportOf(env),
    grpcPort: integer(env, "FLOTILLA_GRPC_PORT", 0, 0, 65535),
    config: env.get("FLOTILLA_CONFIG")?.trim() || "file",
    configToken: env.get("FLOTILLA_CONFIG_TOKEN") || undefined,
  };
}

function transportOf(env: EnvReader): string {
  const raw = env.get("FLOTILLA_TRANSPORT")?.trim() || "http";
  const lower = raw.toLowerCase();
  if (lower === "http" || lower === "grpc") return lower;
  if (/^nats:\/\/[^\s]+$/i.test(raw)) return raw;
  throw new RangeError(
    `Cannot read FLOTILLA_TRANSPORT as it must be http, grpc or nats://host:port: current value is "${raw}"`,
  );
}

function json(env: EnvReader, name: string): unknown {
  const raw = env.get(name);
  if (raw === undefined || raw.trim() === "") return undefined;
  try {
    return JSON.parse(raw);
  } catch (error) {
    throw new RangeError(`Cannot read ${name} as it must be JSON: ${(error as Error).message}`);
  }
}

function integer(
  env: EnvReader,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = env.get(name);
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `Cannot read ${name} as it must be an integer ${min}-${max}: current value is "${raw}"`,
    );
  }
  return value;
}

function parseUrl(name: string, raw: string): string {
  try {
    return new URL(raw).href.replace(/\/$/, "");
  } catch {
    throw new RangeError(
      `Cannot read ${name} as it must be a URL: current value is "${raw}"`,
    );
  }
}
