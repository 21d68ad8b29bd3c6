/**
 * Which port each service of a system listens on.
 *
 * @module
 */

import type { SupervisedContract } from "./plan.ts";

/** Options of {@link assignPorts}. */
export interface AssignPortsOptions {
  /** Address the services bind; free ports are picked on it. @default {"127.0.0.1"} */
  hostname?: string;
  /** The supervisor's environment, where a public service's port variable is read. @default {{}} */
  env?: Readonly<Record<string, string | undefined>>;
  /** Returns a port that is free now on `hostname`. @default {freePort} */
  pickPort?: (hostname: string) => number | Promise<number>;
  /** Whether `port` is free now on `hostname`. @default {isPortFree} */
  isFree?: (hostname: string, port: number) => boolean | Promise<boolean>;
}

/**
 * Assigns a port to every service. A public service (`needs.port.public`,
 * the gateway) gets the value of its port variable (`needs.port.env`,
 * default `PORT`) from `env`, else its `needs.port.default`; every other
 * service — and a public one whose port comes out as 0 — gets a free port
 * picked now. Ports are distinct, and a public service's port is checked
 * to be free, so that a port in use fails the start at once with a clear
 * message rather than as a crash loop.
 *
 * @example
 * ```ts
 * const ports = await assignPorts([gatewayContract, orderContract], { env: { PORT: "3000" } });
 * ports.get("gateway"); // 3000
 * ports.get("order"); // a free port, e.g. 41873
 * ```
 *
 * @throws {RangeError} when a port variable is not an integer 0-65535, two
 * public services want the same port, a public service's port is in use, or
 * no distinct free port is found.
 */
export async function assignPorts(
  services: readonly SupervisedContract[],
  options: AssignPortsOptions = {},
): Promise<Map<string, number>> {
  const hostname = options.hostname ?? "127.0.0.1";
  const env = options.env ?? {};
  const pickPort = options.pickPort ?? freePort;
  const isFree = options.isFree ?? isPortFree;
  const ports = new Map<string, number>();
  const taken = new Map<number, string>();

  for (const contract of services) {
    const need = contract.needs?.port;
    if (!need?.public) continue;
    const variable = need.env ?? "PORT";
    const raw = env[variable];
    const port = raw === undefined || raw === "" ? need.default ?? 0 : Number(raw);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(
        `Cannot assign the port of "${contract.name}" as ${variable} must be an integer 0-65535: current value is "${raw}"`,
      );
    }
    if (port === 0) continue;
    const holder = taken.get(port);
    if (holder !== undefined) {
      throw new RangeError(
        `Cannot assign port ${port} to "${contract.name}" as "${holder}" already has it`,
      );
    }
    if (!(await isFree(hostname, port))) {
      throw new RangeError(
        `Cannot assign port ${port} to "${contract.name}" as it is in use on ${hostname}: stop what uses it, or set ${variable} to another port`,
      );
    }
    ports.set(contract.name, port);
    taken.set(port, contract.name);
  }

  for (const contract of services) {
    if (ports.has(contract.name)) continue;
    let port = 0;
    for (let attempt = 0; attempt < 20 && (port === 0 || taken.has(port)); attempt++) {
      port = await pickPort(hostname);
    }
    if (port === 0 || taken.has(port)) {
      throw new RangeError(
        `Cannot assign a port to "${contract.name}" as no distinct free port was found on ${hostname}`,
      );
    }
    ports.set(contract.name, port);
    taken.set(port, contract.name);
  }
  return ports;
}

/**
 * A port that is free now on `hostname`, for a server that will bind it a
 * moment later. On Linux it is drawn at random above the well-known
 * services' ports (10000) and below the system's ephemeral range
 * (`/proc/sys/net/ipv4/ip_local_port_range`), and checked by listening on
 * it: a port from the ephemeral range, which is what port 0 gives, may be
 * taken in between as the local end of any outgoing connection on the
 * machine. Elsewhere, or when that range leaves no room, it asks the
 * operating system for one by listening on port 0.
 *
 * @example
 * ```ts
 * const port = freePort("127.0.0.1"); // e.g. 23817
 * ```
 */
export function freePort(hostname: string, random: () => number = Math.random): number {
  const range = listenRange();
  if (range !== undefined) {
    const [low, high] = range;
    for (let attempt = 0; attempt < 64; attempt++) {
      const port = low + Math.floor(random() * (high - low + 1));
      if (isPortFree(hostname, port)) return port;
    }
  }
  const listener = Deno.listen({ hostname, port: 0, transport: "tcp" });
  try {
    return listener.addr.port;
  } finally {
    listener.close();
  }
}

const EPHEMERAL_RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range";
/** Below this are the well-known and common services' ports (Postgres, Redis, NATS, etcd…). */
const LOWEST_PICKED_PORT = 10_000;
let cachedRange: readonly [number, number] | null | undefined;

/** The ports {@link freePort} draws from, or `undefined` to ask for port 0. */
function listenRange(): readonly [number, number] | undefined {
  if (cachedRange === undefined) cachedRange = readListenRange();
  return cachedRange ?? undefined;
}

function readListenRange(): readonly [number, number] | null {
  try {
    // Query first: reading without the permission would prompt on a terminal.
    if (
      Deno.permissions.querySync({ name: "read", path: EPHEMERAL_RANGE_FILE }).state !== "granted"
    ) {
      return null;
    }
    const ephemeralLow = Number(Deno.readTextFileSync(EPHEMERAL_RANGE_FILE).trim().split(/\s+/)[0]);
    // Too narrow a range below the ephemeral one would make collisions between pickers likely.
    if (!Number.isInteger(ephemeralLow) || ephemeralLow - LOWEST_PICKED_PORT < 4096) return null;
    return [LOWEST_PICKED_PORT, ephemeralLow - 1];
  } catch {
    return null;
  }
}

/**
 * Whether `port` can be listened on now on `hostname`.
 *
 * @example
 * ```ts
 * isPortFree("127.0.0.1", 8080); // false while something listens there
 * ```
 */
export function isPortFree(hostname: string, port: number): boolean {
  try {
    Deno.listen({ hostname, port, transport: "tcp" }).close();
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) return false;
    throw error;
  }
}
