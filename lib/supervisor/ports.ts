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
 * Asks the operating system for a port that is free now on `hostname`, by
 * listening on port 0 and closing the listener.
 *
 * @example
 * ```ts
 * const port = freePort("127.0.0.1"); // e.g. 41873
 * ```
 */
export function freePort(hostname: string): number {
  const listener = Deno.listen({ hostname, port: 0, transport: "tcp" });
  try {
    return listener.addr.port;
  } finally {
    listener.close();
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
