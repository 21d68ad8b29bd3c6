/**
 * Choosing an event store from a URL — the value of `FLOTILLA_EVENTSTORE` —
 * and opening it.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { type Clock, redactPassword } from "@flotilla/core";
import type { EventCatalog, Outbox, SqliteOutbox } from "@flotilla/bus";
import type { EventStore } from "./event_store.ts";
import { EventStoreError } from "./errors.ts";
import { MemoryEventStore } from "./memory_event_store.ts";
import { SqliteEventStore } from "./sqlite_event_store.ts";

/**
 * A parsed event store URL, discriminated on `type`:
 *
 * | value | result |
 * |---|---|
 * | `memory` | `{ type: "memory" }` |
 * | `sqlite` | `{ type: "sqlite" }` (the database comes from {@link OpenEventStoreOptions}) |
 * | `sqlite:<path>`, `sqlite://<path>` | `{ type: "sqlite", path }` |
 * | `postgres://…`, `postgresql://…` | `{ type: "postgres", url }` (the value, unchanged; `?schema=` picks the schema) |
 */
export type EventStoreUrl =
  | { type: "memory" }
  | { type: "sqlite"; path?: string }
  | { type: "postgres"; url: string };

/**
 * Parses an event store URL, the value of `FLOTILLA_EVENTSTORE` (see
 * {@link EventStoreUrl} for the forms). Passwords never appear in the
 * error messages.
 *
 * @example
 * ```ts
 * import { parseEventStoreUrl } from "@flotilla/eventstore";
 *
 * parseEventStoreUrl("sqlite"); // { type: "sqlite" }
 * parseEventStoreUrl("postgres://app@db:5432/shop");
 * // { type: "postgres", url: "postgres://app@db:5432/shop" }
 * ```
 *
 * @throws {EventStoreError} `INVALID_EVENTSTORE_URL` naming the value (without its password) and what is wrong.
 */
export function parseEventStoreUrl(value: string): EventStoreUrl {
  if (typeof value !== "string") throw invalidUrl(String(value), "it must be a string");
  const trimmed = value.trim();
  const lower = trimmed.toLowerCase();
  if (lower === "memory") return { type: "memory" };
  if (lower === "sqlite") return { type: "sqlite" };
  if (lower.startsWith("sqlite:")) {
    let path = trimmed.slice("sqlite:".length);
    if (path.startsWith("//")) path = path.slice(2);
    if (path === "") throw invalidUrl(value, "'sqlite:' must be followed by a path");
    return { type: "sqlite", path };
  }
  if (lower.startsWith("postgres://") || lower.startsWith("postgresql://")) {
    let url: URL;
    try {
      url = new URL(trimmed);
    } catch (error) {
      throw invalidUrl(value, "it is not a URL", error);
    }
    if (url.hostname === "") throw invalidUrl(value, "it must name a host");
    return { type: "postgres", url: trimmed };
  }
  throw invalidUrl(value, "expected 'sqlite', 'sqlite:<path>', 'memory' or 'postgres://…'");
}

/** Where an opened store also writes each new event, for a relay to publish. */
export interface OpenEventStoreOutbox {
  /** The bus stream, e.g. `shop.order`. */
  stream: string;
  /** The CloudEvents `source`, e.g. `/flotilla/order`. */
  source: string;
  /** When given, each event is checked against it and an invalid one fails the append. */
  catalog?: EventCatalog;
  /** Called after an append that wrote to the outbox has committed. */
  onWrite?: () => void;
  /**
   * The outbox of the SQLite database (`db`) for a `sqlite` store; a
   * PostgreSQL store keeps its own, in its schema.
   */
  sqlite?: SqliteOutbox;
}

/** Options of {@link openEventStore}. */
export interface OpenEventStoreOptions {
  /**
   * The open database of a `sqlite` store (its read models, outbox and
   * inbox live in it too); the store does not close it.
   */
  db?: DatabaseSync;
  /** The file of a `sqlite` store when no `db` is given and the URL names none. */
  sqlitePath?: string;
  /** The source of the events' `time`. @default {systemClock} */
  clock?: Clock;
  /** Also write every new event to an outbox, in the append's transaction. */
  outbox?: OpenEventStoreOutbox;
  /** Gives up connecting to PostgreSQL when aborted. */
  signal?: AbortSignal;
}

/** An opened event store, and the outbox its appends write to (when asked for). */
export interface OpenedEventStore {
  /** The store. */
  readonly store: EventStore;
  /** The outbox for an `OutboxRelay`, when the `outbox` option was given. */
  readonly outbox: Outbox | undefined;
}

/**
 * Opens the event store a URL names (see {@link parseEventStoreUrl}): a
 * {@link MemoryEventStore}, a {@link SqliteEventStore} on `db` (or a file),
 * or — loaded only when asked for, so that importing this module loads no
 * driver — a `PostgresEventStore` (connected, its schema migrated).
 *
 * @example
 * ```ts
 * import { openEventStore } from "@flotilla/eventstore";
 *
 * const { store } = await openEventStore(Deno.env.get("FLOTILLA_EVENTSTORE") ?? "sqlite", {
 *   sqlitePath: ".flotilla/order/events.db",
 * });
 * ```
 *
 * @throws {EventStoreError} `INVALID_EVENTSTORE_URL` when the URL is invalid;
 *   `EVENTSTORE_UNAVAILABLE` when PostgreSQL cannot be reached.
 * @throws {RangeError} when `sqlite` is asked for without a database, or an
 *   outbox is asked of a `memory` store or of a `sqlite` one without `outbox.sqlite`.
 */
export async function openEventStore(
  value: string | EventStoreUrl,
  options: OpenEventStoreOptions = {},
): Promise<OpenedEventStore> {
  const url = typeof value === "string" ? parseEventStoreUrl(value) : value;
  options.signal?.throwIfAborted();
  const clock = options.clock === undefined ? {} : { clock: options.clock };
  const outbox = options.outbox;
  switch (url.type) {
    case "memory":
      if (outbox !== undefined) {
        throw new RangeError("Cannot open a memory event store with an outbox: use sqlite");
      }
      return { store: new MemoryEventStore(clock), outbox: undefined };
    case "sqlite": {
      const path = url.path ?? options.sqlitePath;
      const db = url.path === undefined ? options.db : undefined;
      if (db === undefined && (path === undefined || path === "")) {
        throw new RangeError(
          "Cannot open the sqlite event store as neither 'db' nor 'sqlitePath' is set (nor a path in the URL)",
        );
      }
      if (outbox !== undefined && outbox.sqlite === undefined) {
        throw new RangeError(
          "Cannot open the sqlite event store with an outbox as 'outbox.sqlite' is not set",
        );
      }
      const store = new SqliteEventStore({
        ...(db === undefined ? { path: path! } : { db }),
        ...clock,
        ...(outbox === undefined ? {} : { outbox: { outbox: outbox.sqlite!, ...relayed(outbox) } }),
      });
      return { store, outbox: outbox?.sqlite };
    }
    case "postgres": {
      // Loaded on demand: only a PostgreSQL deployment pays for the driver.
      const { PostgresEventStore } = await import("./postgres_event_store.ts");
      const store = await PostgresEventStore.connect({
        url: url.url,
        ...clock,
        ...(outbox === undefined ? {} : { outbox: relayed(outbox) }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      return { store, outbox: store.outbox };
    }
  }
}

function relayed(outbox: OpenEventStoreOutbox) {
  return {
    stream: outbox.stream,
    source: outbox.source,
    ...(outbox.catalog === undefined ? {} : { catalog: outbox.catalog }),
    ...(outbox.onWrite === undefined ? {} : { onWrite: outbox.onWrite }),
  };
}

function invalidUrl(value: string, why: string, cause?: unknown): EventStoreError {
  return new EventStoreError(
    "INVALID_EVENTSTORE_URL",
    `Cannot use the event store URL ${JSON.stringify(redactPassword(value))}: ${why}`,
    cause === undefined ? {} : { cause },
  );
}
