/**
 * Choosing a bus from a URL — the value of `FLOTILLA_BUS` — and opening it.
 *
 * @module
 */

import { type Clock, redactPassword } from "@flotilla/core";
import type { Bus } from "./bus.ts";
import { BusError } from "./errors.ts";
import { MemoryBus } from "./memory_bus.ts";
import { SqliteBus } from "./sqlite_bus.ts";

/**
 * A parsed bus URL, discriminated on `type`:
 *
 * | value | result |
 * |---|---|
 * | `memory` | `{ type: "memory" }` |
 * | `sqlite` | `{ type: "sqlite" }` (the path comes from {@link OpenBusOptions.sqlitePath}) |
 * | `sqlite:<path>`, `sqlite://<path>` | `{ type: "sqlite", path }` |
 * | `redis://[user:password@]host[:port][/db]`, `rediss://…` | `{ type: "redis", url }` (the value, unchanged) |
 * | `nats://host[:port][,host[:port]…]` | `{ type: "nats", servers: ["nats://host:port", …] }` (port 4222 by default) |
 */
export type BusUrl =
  | { type: "memory" }
  | { type: "sqlite"; path?: string }
  | { type: "redis"; url: string }
  | { type: "nats"; servers: string[] };

/**
 * Parses a bus URL, the value of `FLOTILLA_BUS` (see {@link BusUrl} for the
 * forms). Passwords never appear in the error messages.
 *
 * @example
 * ```ts
 * import { parseBusUrl } from "@flotilla/bus";
 *
 * parseBusUrl("sqlite"); // { type: "sqlite" }
 * parseBusUrl("redis://127.0.0.1:6379/2"); // { type: "redis", url: "redis://127.0.0.1:6379/2" }
 * parseBusUrl("nats://10.0.0.1,10.0.0.2:4223");
 * // { type: "nats", servers: ["nats://10.0.0.1:4222", "nats://10.0.0.2:4223"] }
 * ```
 *
 * @throws {BusError} `INVALID_BUS_URL` naming the value (without its password) and what is wrong.
 */
export function parseBusUrl(value: string): BusUrl {
  if (typeof value !== "string") {
    throw invalidBusUrl(String(value), "it must be a string");
  }
  const trimmed = value.trim();
  const lower = trimmed.toLowerCase();
  if (lower === "memory") return { type: "memory" };
  if (lower === "sqlite") return { type: "sqlite" };
  if (lower.startsWith("sqlite:")) {
    let path = trimmed.slice("sqlite:".length);
    if (path.startsWith("//")) path = path.slice(2);
    if (path === "") throw invalidBusUrl(value, "'sqlite:' must be followed by a path");
    return { type: "sqlite", path };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme === "redis" || scheme === "rediss") return { type: "redis", url: parseRedis(trimmed) };
  if (scheme === "nats") return { type: "nats", servers: parseNats(trimmed) };
  throw invalidBusUrl(
    value,
    "expected 'memory', 'sqlite', 'sqlite:<path>', 'redis://host:port[/db]' or 'nats://host:port[,host:port]'",
  );
}

function parseRedis(value: string): string {
  let url: URL;
  try {
    // Parse as http so that host, port and IPv6 literals follow the usual rules.
    url = new URL(`http${value.slice(value.indexOf("://"))}`);
  } catch (error) {
    throw invalidBusUrl(value, "it is not a URL", error);
  }
  if (url.hostname === "") throw invalidBusUrl(value, "it must name a host");
  if (url.search !== "" || url.hash !== "") {
    throw invalidBusUrl(value, "it must not have a query or a fragment");
  }
  if (!/^\/?(\d{1,2})?$/.test(url.pathname)) {
    throw invalidBusUrl(value, "its path must be a database number, e.g. '/0'");
  }
  return value;
}

function parseNats(value: string): string[] {
  const hosts = value.slice("nats://".length).split(",").map((part) => part.trim());
  return hosts.map((host) => {
    const bare = host.replace(/^nats:\/\//i, "");
    if (bare === "") throw invalidBusUrl(value, "every server must name a host");
    let url: URL;
    try {
      url = new URL(`http://${bare}`);
    } catch (error) {
      throw invalidBusUrl(value, `'${redactPassword(bare)}' is not a host[:port]`, error);
    }
    if (url.hostname === "" || (url.pathname !== "/" && url.pathname !== "") || url.search !== "") {
      throw invalidBusUrl(
        value,
        `'${redactPassword(bare)}' must be a host[:port], with no path or query`,
      );
    }
    const credentials = url.username === ""
      ? ""
      : `${url.username}${url.password === "" ? "" : `:${url.password}`}@`;
    return `nats://${credentials}${url.host}${url.port === "" ? ":4222" : ""}`;
  });
}

function invalidBusUrl(value: string, why: string, cause?: unknown): BusError {
  return new BusError(
    "INVALID_BUS_URL",
    `Cannot use the bus URL ${JSON.stringify(redactPassword(value))}: ${why}`,
    cause === undefined ? {} : { cause },
  );
}

/** Options of {@link openBus}. */
export interface OpenBusOptions {
  /**
   * The database file of the `sqlite` bus (e.g. `<data root>/bus/bus.db`),
   * unless the URL names one. Every process that shares the bus uses the
   * same file.
   */
  sqlitePath?: string;
  /** The clock of ack waits, backoff and dead letters. @default {systemClock} */
  clock?: Clock;
  /** How often an idle `sqlite` consumer polls, in milliseconds. @default {50} */
  pollIntervalMs?: number;
  /** Aborts connecting to Redis or NATS. */
  signal?: AbortSignal;
}

/**
 * Opens the bus a URL names (see {@link parseBusUrl}): a {@link MemoryBus},
 * a {@link SqliteBus} on `options.sqlitePath` (or the URL's path), or —
 * loaded only when asked for, so that importing this module loads no
 * driver — a `RedisBus` (connected and its persistence checked) or a
 * `NatsBus` (connected, JetStream checked).
 *
 * @example
 * ```ts
 * import { openBus } from "@flotilla/bus";
 *
 * await using bus = await openBus(Deno.env.get("FLOTILLA_BUS") ?? "sqlite", {
 *   sqlitePath: ".flotilla/bus/bus.db",
 * });
 * ```
 *
 * @throws {BusError} `INVALID_BUS_URL` when the URL is invalid;
 *   `BUS_UNAVAILABLE` when the broker cannot be reached or the file opened.
 * @throws {RangeError} when `sqlite` is asked for without a path, or an option is invalid.
 */
export async function openBus(value: string | BusUrl, options: OpenBusOptions = {}): Promise<Bus> {
  const url = typeof value === "string" ? parseBusUrl(value) : value;
  options.signal?.throwIfAborted();
  switch (url.type) {
    case "memory":
      return new MemoryBus(options.clock === undefined ? {} : { clock: options.clock });
    case "sqlite": {
      const path = url.path ?? options.sqlitePath;
      if (path === undefined || path === "") {
        throw new RangeError(
          `Cannot open the sqlite bus as 'sqlitePath' must be set (or the URL name a file): current value is ${
            JSON.stringify(path)
          }`,
        );
      }
      return new SqliteBus({
        path,
        ...(options.clock === undefined ? {} : { clock: options.clock }),
        ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
      });
    }
    case "redis": {
      // Loaded on demand: only a Redis deployment pays for the driver.
      const { RedisBus } = await import("./redis_bus.ts");
      const bus = new RedisBus({
        url: url.url,
        ...(options.clock === undefined ? {} : { clock: options.clock }),
      });
      try {
        await bus.connect(options.signal === undefined ? {} : { signal: options.signal });
      } catch (error) {
        await bus[Symbol.asyncDispose]();
        throw error;
      }
      return bus;
    }
    case "nats": {
      const { NatsBus } = await import("./nats_bus.ts");
      return await NatsBus.connect({
        servers: url.servers,
        ...(options.clock === undefined ? {} : { clock: options.clock }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
    }
    default: {
      const unknown: never = url;
      throw invalidBusUrl(JSON.stringify(unknown), "unknown bus type");
    }
  }
}
