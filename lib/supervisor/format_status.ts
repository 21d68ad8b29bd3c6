/**
 * The two forms `flotilla status` prints: a table for people and a JSON
 * array for tools.
 *
 * @module
 */

import type { ServiceStatus } from "./status.ts";

/** One service in `flotilla status --json`: exactly these keys, in this order. */
export interface StatusEntry {
  /** Service name. */
  name: string;
  /** Pid of its process, or null when none runs. */
  pid: number | null;
  /** Port it listens on. */
  port: number;
  /** Where it is in its life. */
  state: ServiceStatus["state"];
  /** How many times it was restarted. */
  restarts: number;
}

/**
 * The JSON array `flotilla status --json` prints: one object per service
 * with exactly the keys `name`, `pid`, `port`, `state`, `restarts`, in that
 * order. Tools rely on this shape; extend it only by adding a new flag.
 *
 * @example
 * ```ts
 * formatStatusJson([]); // "[]"
 * ```
 */
export function formatStatusJson(services: readonly ServiceStatus[]): string {
  const entries: StatusEntry[] = services.map((service) => ({
    name: service.name,
    pid: service.pid,
    port: service.port,
    state: service.state,
    restarts: service.restarts,
  }));
  return JSON.stringify(entries, null, 2);
}

/**
 * An aligned table with the columns NAME, PID, PORT, STATE, RESTARTS and
 * URL; a missing pid shows as `-`. No services give just the header.
 *
 * @example
 * ```ts
 * formatStatusTable(status.services);
 * // NAME     PID   PORT  STATE    RESTARTS  URL
 * // gateway  4242  8080  running  0         http://127.0.0.1:8080
 * ```
 */
export function formatStatusTable(services: readonly ServiceStatus[]): string {
  const rows = [
    ["NAME", "PID", "PORT", "STATE", "RESTARTS", "URL"],
    ...services.map((service) => [
      service.name,
      service.pid === null ? "-" : String(service.pid),
      String(service.port),
      service.state,
      String(service.restarts),
      service.url,
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) =>
    row.map((cell, column) => column === row.length - 1 ? cell : cell.padEnd(widths[column]!))
      .join("  ").trimEnd()
  ).join("\n");
}
