// Internal helper; not exported by mod.ts.

import { parseBusUrl } from "@flotilla/bus";
import { InvalidSettingError } from "./errors.ts";
import type { Address } from "./permissions.ts";

/** The bus a supervisor's services use, as `FLOTILLA_BUS` names it. */
export interface BusSetting {
  /** The value given to every service that emits or handles events, as `FLOTILLA_BUS`. */
  value: string;
  /** Its kind. */
  type: "memory" | "sqlite" | "redis" | "nats";
  /** The broker servers (Redis, NATS) the services must reach. */
  addresses: Address[];
}

/** The bus when `FLOTILLA_BUS` is unset: the embedded one. */
export const DEFAULT_BUS = "sqlite";

/**
 * Reads and checks `FLOTILLA_BUS` (default `sqlite`). An in-memory bus cannot
 * be shared by processes, so it is refused here.
 *
 * @throws {InvalidSettingError} when it is not a bus URL the processes can share.
 */
export function busSetting(raw: string | undefined): BusSetting {
  const value = raw === undefined || raw.trim() === "" ? DEFAULT_BUS : raw.trim();
  let parsed: ReturnType<typeof parseBusUrl>;
  try {
    parsed = parseBusUrl(value);
  } catch (error) {
    throw invalid(value, error);
  }
  switch (parsed.type) {
    case "memory":
      throw invalid(value, new Error("an in-memory bus cannot be shared by processes"));
    case "sqlite":
      if (parsed.path !== undefined) {
        throw invalid(value, new Error("the supervisor places the SQLite bus in its data folder"));
      }
      return { value, type: "sqlite", addresses: [] };
    case "redis": {
      const url = new URL(parsed.url);
      return { value, type: "redis", addresses: [address(url, 6379)] };
    }
    case "nats":
      return {
        value,
        type: "nats",
        addresses: parsed.servers.map((s) => address(new URL(s), 4222)),
      };
  }
}

function address(url: URL, defaultPort: number): Address {
  return {
    hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port === "" ? defaultPort : Number(url.port),
  };
}

function invalid(value: string, cause: unknown): InvalidSettingError {
  return new InvalidSettingError(
    "FLOTILLA_BUS",
    `Cannot start the supervisor as FLOTILLA_BUS must be sqlite, redis://host:port or nats://host:port: current value is "${value}"${
      cause instanceof Error ? ` (${cause.message})` : ""
    }`,
    { cause },
  );
}
