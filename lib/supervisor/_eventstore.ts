// Internal helper; not exported by mod.ts.

import { redactPassword } from "@flotilla/core";
import { parseEventStoreUrl } from "@flotilla/eventstore";
import { InvalidSettingError } from "./errors.ts";
import type { Address } from "./permissions.ts";

/** The event store of the services that keep one, as `FLOTILLA_EVENTSTORE` names it. */
export interface EventStoreSetting {
  /** The value given to every service whose contract needs an event store. */
  value: string;
  /** Its kind. */
  type: "sqlite" | "postgres";
  /** The server the services must reach (PostgreSQL). */
  addresses: Address[];
  /** Prefixes of the variables its driver reads (`PG` for postgres.js). */
  envPrefixes: string[];
}

/** The event store when `FLOTILLA_EVENTSTORE` is unset: SQLite in each service's data folder. */
export const DEFAULT_EVENTSTORE = "sqlite";

/**
 * Reads and checks `FLOTILLA_EVENTSTORE` (default `sqlite`). An in-memory
 * store would lose every event on a restart, a SQLite path would escape the
 * services' data folders, and a PostgreSQL URL without a user would make
 * the driver read the OS user (more permissions): all are refused here.
 *
 * @throws {InvalidSettingError} when it is not an event store the services can keep.
 */
export function eventStoreSetting(raw: string | undefined): EventStoreSetting {
  const value = raw === undefined || raw.trim() === "" ? DEFAULT_EVENTSTORE : raw.trim();
  let parsed: ReturnType<typeof parseEventStoreUrl>;
  try {
    parsed = parseEventStoreUrl(value);
  } catch (error) {
    throw invalid(value, error);
  }
  switch (parsed.type) {
    case "memory":
      throw invalid(value, new Error("an in-memory event store loses every event on a restart"));
    case "sqlite":
      if (parsed.path !== undefined) {
        throw invalid(
          value,
          new Error("the supervisor keeps SQLite events in each service's data folder"),
        );
      }
      return { value, type: "sqlite", addresses: [], envPrefixes: [] };
    case "postgres": {
      const url = new URL(parsed.url);
      if (url.username === "") {
        throw invalid(value, new Error("it must name a user, e.g. postgres://app@host:5432/db"));
      }
      return {
        value,
        type: "postgres",
        addresses: [{
          hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"),
          port: url.port === "" ? 5432 : Number(url.port),
        }],
        envPrefixes: ["PG"],
      };
    }
  }
}

function invalid(value: string, cause: unknown): InvalidSettingError {
  const shown = redactPassword(value);
  return new InvalidSettingError(
    "FLOTILLA_EVENTSTORE",
    `Cannot start the supervisor as FLOTILLA_EVENTSTORE must be sqlite or postgres://user@host:port/db: current value is "${shown}"${
      cause instanceof Error ? ` (${cause.message})` : ""
    }`,
    { cause },
  );
}
