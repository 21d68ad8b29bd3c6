/**
 * The least-privilege `deno run` flags of one service process, derived from
 * its contract's `needs` and the addresses the supervisor assigned.
 *
 * @module
 */

import { isAbsolute } from "node:path";
import { envVariablesOf } from "@flotilla/core";
import type { SupervisedContract } from "./plan.ts";

/** A host and port. */
export interface Address {
  /** Host name or IP address, without brackets. */
  hostname: string;
  /** Port, 1-65535. */
  port: number;
}

/** What a service needs to reach its message bus (`FLOTILLA_BUS`). */
export interface BusAccess {
  /** Absolute path of the folder of the embedded SQLite bus: granted read and write. */
  dir?: string;
  /** Broker servers (Redis, NATS): granted network access. */
  addresses?: readonly Address[];
}

/** What a service needs to reach its event store (`FLOTILLA_EVENTSTORE`), beyond its data folder. */
export interface EventStoreAccess {
  /** Database servers (PostgreSQL): granted network access. */
  addresses?: readonly Address[];
  /**
   * Prefixes of the environment variables its driver reads (`PG` for
   * postgres.js): granted as `PG*`.
   */
  envPrefixes?: readonly string[];
}

/** What a service needs for the transport of calls between services (`FLOTILLA_TRANSPORT`). */
export interface TransportAccess {
  /** Brokers (NATS) every service connects to: granted network access. */
  addresses?: readonly Address[];
  /** The service's own gRPC port: granted, like its HTTP one. */
  listen?: Address;
  /** The gRPC ports of every instance of each declared peer, by service name. */
  peers?: Readonly<Record<string, readonly Address[]>>;
  /** Prefixes of the environment variables its client reads (`GRPC_` for grpc-js): granted as `GRPC_*`. */
  envPrefixes?: readonly string[];
  /** Absolute paths the transport reads (the service's .proto files): granted read only. */
  read?: readonly string[];
}

/** What a service needs to export its telemetry (`OTEL_*` variables of `@flotilla/telemetry`). */
export interface TelemetryAccess {
  /** The OTLP collector its spans are sent to: granted network access. */
  addresses?: readonly Address[];
  /** The variables its telemetry reads (`OTEL_ENV_VARS`): granted. */
  env?: readonly string[];
  /** Prefixes of the variables its exporter's client reads (`GRPC_` for OTLP/gRPC): granted as `GRPC_*`. */
  envPrefixes?: readonly string[];
}

/** What a service needs to follow its dynamic configuration (`FLOTILLA_CONFIG`). */
export interface ConfigAccess {
  /** Absolute path of the folder of its watched configuration file: granted read only. */
  dir?: string;
  /** The etcd server its configuration lives in: granted network access. */
  address?: Address;
}

/** What a service needs to reach its service registry (`FLOTILLA_REGISTRY`). */
export interface RegistryAccess {
  /**
   * Absolute path of the folder of a `local` registry: granted read and
   * write, since SQLite keeps its `-wal` and `-shm` files beside the database.
   */
  dir?: string;
  /** Address of a registry server (etcd, Consul) or DNS name server: granted network access. */
  address?: Address;
}

/** Options of {@link permissionFlags}. */
export interface PermissionOptions {
  /** Where the service listens. */
  listen: Address;
  /**
   * Where each peer the contract declares listens, by service name: one
   * address, or one per instance (replica) of the peer. @default {{}}
   */
  peers?: Readonly<Record<string, Address | readonly Address[]>>;
  /** Absolute path of the service's data folder; required when the contract needs one. */
  dataDir?: string;
  /** What the service's registry needs; nothing for the `static` one. @default {{}} */
  registry?: RegistryAccess;
  /** What the service's message bus needs, when it emits or handles events. @default {{}} */
  bus?: BusAccess;
  /** What the service's event store needs, when its contract needs one. @default {{}} */
  eventStore?: EventStoreAccess;
  /** What the transport between services needs (NATS servers, gRPC ports). @default {{}} */
  transport?: TransportAccess;
  /** What its dynamic configuration needs (the file's folder, or etcd). @default {{}} */
  config?: ConfigAccess;
  /** What its telemetry needs (the collector, the `OTEL_*` variables). @default {{}} */
  telemetry?: TelemetryAccess;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ENV_PREFIX = /^[A-Z][A-Z0-9_]*$/;
const BAD_HOST = /[\s,/@[\]]|^$/;

/**
 * Derives the exact permission flags for a service: `--no-prompt`;
 * `--allow-net` to its own listen address, every instance of each declared
 * peer, its registry's server or name server, its brokers and its telemetry
 * collector; `--allow-read` and
 * `--allow-write` to its data folder (only when the contract needs one) and
 * to a local registry's folder; `--allow-env` to the variables it may read
 * ({@link envVariablesOf}, and the `OTEL_*` ones of `telemetry.env`). It
 * never grants `-A` nor an unscoped `--allow-*`,
 * and it is pure: the same inputs always give the same flags.
 *
 * @example
 * ```ts
 * permissionFlags(orderContract, {
 *   listen: { hostname: "127.0.0.1", port: 40001 },
 *   peers: {
 *     inventory: { hostname: "127.0.0.1", port: 40002 },
 *     payment: [{ hostname: "127.0.0.1", port: 40003 }, { hostname: "127.0.0.1", port: 40004 }],
 *   },
 *   dataDir: "/srv/shop/.flotilla/order",
 *   registry: { dir: "/srv/shop/.flotilla/registry" },
 * });
 * // ["--no-prompt",
 * //  "--allow-net=127.0.0.1:40001,127.0.0.1:40002,127.0.0.1:40003,127.0.0.1:40004",
 * //  "--allow-read=/srv/shop/.flotilla/order,/srv/shop/.flotilla/registry",
 * //  "--allow-write=/srv/shop/.flotilla/order,/srv/shop/.flotilla/registry",
 * //  "--allow-env=FLOTILLA_HOST,…"]
 * ```
 *
 * @throws {RangeError} when an address is invalid, a declared peer has no
 * address, the data folder is missing, relative or holds a comma, the
 * registry's folder is relative or holds a comma, or a variable name is
 * invalid.
 */
export function permissionFlags(
  contract: SupervisedContract,
  options: PermissionOptions,
): string[] {
  const name = contract.name;
  const needs = contract.needs ?? {};
  const net = [hostPort(name, "listen", options.listen)];
  for (const peer of needs.peers ?? []) {
    const given = options.peers?.[peer];
    const addresses: readonly Address[] = given === undefined
      ? []
      : isAddressList(given)
      ? given
      : [given];
    if (addresses.length === 0) {
      throw new RangeError(
        `Cannot grant "${name}" access to peer "${peer}" as 'peers' has no address for it`,
      );
    }
    addresses.forEach((address, index) =>
      net.push(
        hostPort(name, isAddressList(given) ? `peers.${peer}[${index}]` : `peers.${peer}`, address),
      )
    );
  }
  const registry = options.registry ?? {};
  if (registry.address !== undefined) {
    net.push(hostPort(name, "registry.address", registry.address));
  }
  const bus = options.bus ?? {};
  (bus.addresses ?? []).forEach((address, index) =>
    net.push(hostPort(name, `bus.addresses[${index}]`, address))
  );
  const transport = options.transport ?? {};
  if (transport.listen !== undefined) {
    net.push(hostPort(name, "transport.listen", transport.listen));
  }
  for (const peer of needs.peers ?? []) {
    (transport.peers?.[peer] ?? []).forEach((address, index) =>
      net.push(hostPort(name, `transport.peers.${peer}[${index}]`, address))
    );
  }
  (transport.addresses ?? []).forEach((address, index) =>
    net.push(hostPort(name, `transport.addresses[${index}]`, address))
  );
  const eventStore = options.eventStore ?? {};
  (eventStore.addresses ?? []).forEach((address, index) =>
    net.push(hostPort(name, `eventStore.addresses[${index}]`, address))
  );
  const telemetry = options.telemetry ?? {};
  (telemetry.addresses ?? []).forEach((address, index) =>
    net.push(hostPort(name, `telemetry.addresses[${index}]`, address))
  );
  const config = options.config ?? {};
  if (config.address !== undefined) net.push(hostPort(name, "config.address", config.address));
  const flags = ["--no-prompt", `--allow-net=${[...new Set(net)].join(",")}`];

  const files: string[] = [];
  if (needs.dataDir) files.push(folder(name, "its data folder", "dataDir", options.dataDir));
  if (registry.dir !== undefined) {
    files.push(folder(name, "its registry's folder", "registry.dir", registry.dir));
  }
  if (bus.dir !== undefined) files.push(folder(name, "its bus's folder", "bus.dir", bus.dir));
  const readOnly = (transport.read ?? []).map((path, index) =>
    folder(name, "its transport's files", `transport.read[${index}]`, path)
  );
  if (config.dir !== undefined) {
    readOnly.push(folder(name, "its configuration's folder", "config.dir", config.dir));
  }
  if (files.length > 0 || readOnly.length > 0) {
    flags.push(`--allow-read=${[...new Set([...files, ...readOnly])].join(",")}`);
  }
  if (files.length > 0) flags.push(`--allow-write=${[...new Set(files)].join(",")}`);

  // envVariablesOf reads only the name and the needs of a contract.
  const variables = envVariablesOf({ name, version: "0.0.0", actions: {}, needs });
  for (const variable of telemetry.env ?? []) {
    if (!variables.includes(variable)) variables.push(variable);
  }
  for (const variable of variables) {
    if (!ENV_NAME.test(variable)) {
      throw new RangeError(
        `Cannot grant "${name}" its environment as variable names must be identifiers: current value is "${variable}"`,
      );
    }
  }
  const prefixes = new Set([
    ...(transport.envPrefixes ?? []),
    ...(eventStore.envPrefixes ?? []),
    ...(telemetry.envPrefixes ?? []),
  ]);
  for (const prefix of prefixes) {
    if (!ENV_PREFIX.test(prefix)) {
      throw new RangeError(
        `Cannot grant "${name}" the variables of its clients as a prefix must be upper-case letters, digits and _: current value is "${prefix}"`,
      );
    }
    variables.push(`${prefix}*`);
  }
  flags.push(`--allow-env=${variables.join(",")}`);
  return flags;
}

function isAddressList(
  value: Address | readonly Address[] | undefined,
): value is readonly Address[] {
  return Array.isArray(value);
}

function folder(service: string, what: string, field: string, path: string | undefined): string {
  if (path === undefined || !isAbsolute(path) || path.includes(",")) {
    throw new RangeError(
      `Cannot grant "${service}" ${what} as '${field}' must be an absolute path without commas: current value is ${
        JSON.stringify(path)
      }`,
    );
  }
  return path;
}

function hostPort(service: string, field: string, address: Address): string {
  const { hostname, port } = address;
  if (BAD_HOST.test(hostname)) {
    throw new RangeError(
      `Cannot grant "${service}" network access as '${field}.hostname' must be a host name or IP address: current value is "${hostname}"`,
    );
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(
      `Cannot grant "${service}" network access as '${field}.port' must be an integer 1-65535: current value is ${port}`,
    );
  }
  return `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}
