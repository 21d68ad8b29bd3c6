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

/** Options of {@link permissionFlags}. */
export interface PermissionOptions {
  /** Where the service listens. */
  listen: Address;
  /** Where each peer the contract declares listens, by service name. @default {{}} */
  peers?: Readonly<Record<string, Address>>;
  /** Absolute path of the service's data folder; required when the contract needs one. */
  dataDir?: string;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const BAD_HOST = /[\s,/@[\]]|^$/;

/**
 * Derives the exact permission flags for a service: `--no-prompt`;
 * `--allow-net` to its own listen address and each declared peer's;
 * `--allow-read` and `--allow-write` to its data folder only when the
 * contract needs one; `--allow-env` to the variables it may read
 * ({@link envVariablesOf}). It never grants `-A` nor an unscoped `--allow-*`,
 * and it is pure: the same inputs always give the same flags.
 *
 * @example
 * ```ts
 * permissionFlags(orderContract, {
 *   listen: { hostname: "127.0.0.1", port: 40001 },
 *   peers: { inventory: { hostname: "127.0.0.1", port: 40002 } },
 *   dataDir: "/srv/shop/.flotilla/order",
 * });
 * // ["--no-prompt", "--allow-net=127.0.0.1:40001,127.0.0.1:40002",
 * //  "--allow-read=/srv/shop/.flotilla/order", "--allow-write=/srv/shop/.flotilla/order",
 * //  "--allow-env=FLOTILLA_HOST,…"]
 * ```
 *
 * @throws {RangeError} when an address is invalid, a declared peer has no
 * address, the data folder is missing, relative or holds a comma, or a
 * variable name is invalid.
 */
export function permissionFlags(
  contract: SupervisedContract,
  options: PermissionOptions,
): string[] {
  const name = contract.name;
  const needs = contract.needs ?? {};
  const net = [hostPort(name, "listen", options.listen)];
  for (const peer of needs.peers ?? []) {
    const address = options.peers?.[peer];
    if (address === undefined) {
      throw new RangeError(
        `Cannot grant "${name}" access to peer "${peer}" as 'peers' has no address for it`,
      );
    }
    net.push(hostPort(name, `peers.${peer}`, address));
  }
  const flags = ["--no-prompt", `--allow-net=${[...new Set(net)].join(",")}`];

  if (needs.dataDir) {
    const dataDir = options.dataDir;
    if (dataDir === undefined || !isAbsolute(dataDir) || dataDir.includes(",")) {
      throw new RangeError(
        `Cannot grant "${name}" its data folder as 'dataDir' must be an absolute path without commas: current value is ${
          JSON.stringify(dataDir)
        }`,
      );
    }
    flags.push(`--allow-read=${dataDir}`, `--allow-write=${dataDir}`);
  }

  // envVariablesOf reads only the name and the needs of a contract.
  const variables = envVariablesOf({ name, version: "0.0.0", actions: {}, needs });
  for (const variable of variables) {
    if (!ENV_NAME.test(variable)) {
      throw new RangeError(
        `Cannot grant "${name}" its environment as variable names must be identifiers: current value is "${variable}"`,
      );
    }
  }
  flags.push(`--allow-env=${variables.join(",")}`);
  return flags;
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
