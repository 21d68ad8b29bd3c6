/**
 * The transactional outbox: a service writes its state change and the
 * events that announce it in one local transaction; a relay
 * (`OutboxRelay`) later publishes them to the bus and marks them sent.
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { type Clock, systemClock } from "@flotilla/core";
import { immediate, integer, type Row, text } from "@flotilla/sqlite";
import type { CloudEvent } from "./cloud_event.ts";
import { BusError } from "./errors.ts";
import { cloudEventIssue } from "./is_cloud_event.ts";

/** One event waiting in (or sent from) the outbox. */
export interface OutboxRow {
  /** Its position in the outbox: the order of the commits that wrote it. */
  readonly seq: number;
  /** The event id. */
  readonly id: string;
  /** The stream it is published to. */
  readonly stream: string;
  /** The aggregate it is about (the event's `subject`), when it has one. */
  readonly aggregate: string | null;
  /** The event. */
  readonly event: CloudEvent;
  /** When it was written, in ms of the outbox's clock. */
  readonly createdAt: number;
  /** Publish attempts that failed so far. */
  readonly attempts: number;
}

/** The relay lease: who may publish, and until when. */
export interface OutboxLease {
  /** The relay holding it. */
  readonly owner: string;
  /** When it runs out unless renewed, in ms of the relays' clock. */
  readonly expiresAt: number;
  /** Incremented each time the lease changes hands (a fencing token). */
  readonly fence: number;
}

/** Backlog figures of an outbox, for metrics and health checks. */
export interface OutboxStats {
  /** Events not yet published. */
  readonly backlog: number;
  /** Age of the oldest unpublished event in ms (0 when there is none). */
  readonly oldestAgeMs: number;
  /** Unpublished events whose publishing failed at least once. */
  readonly failing: number;
  /** Published events still kept (until the relay's retention removes them). */
  readonly sent: number;
}

/**
 * The storage an `OutboxRelay` drains. {@link SqliteOutbox} is the
 * adapter for SQLite; an adapter may answer synchronously or with promises.
 */
export interface Outbox {
  /** Up to `limit` unsent events, oldest (lowest `seq`) first. */
  pending(limit: number): OutboxRow[] | Promise<OutboxRow[]>;
  /** Marks the rows sent at `sentAt`; returns how many were unsent until now. */
  markSent(seqs: readonly number[], sentAt: number): number | Promise<number>;
  /** Records a failed publish of the rows (attempts + 1, the error kept). */
  markFailed(seqs: readonly number[], error: string): void | Promise<void>;
  /** Deletes up to `limit` rows sent before `before`; returns how many. */
  purgeSent(before: number, limit: number): number | Promise<number>;
  /**
   * Takes or renews the relay lease for `owner` until `now + leaseMs`, if it
   * is free, expired or already `owner`'s; returns the lease as it stands
   * afterwards (held by someone else when it was not free).
   */
  acquireLease(owner: string, now: number, leaseMs: number): OutboxLease | Promise<OutboxLease>;
  /** Gives the lease up, if `owner` holds it, so a standby takes over at once. */
  releaseLease(owner: string): void | Promise<void>;
}

/** Options of {@link SqliteOutbox}. */
export interface SqliteOutboxOptions {
  /** Where `created_at` and the backlog's age come from. @default {systemClock} */
  clock?: Clock;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  stream TEXT NOT NULL,
  aggregate TEXT,
  event TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  sent_at INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS outbox_lease (
  name TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  fence INTEGER NOT NULL
);
`;

const LEASE = "relay";

/**
 * The outbox in a SQLite database, in the tables `outbox` (the events, in
 * commit order) and `outbox_lease` (which relay publishes), both created if
 * missing.
 *
 * {@link SqliteOutbox.add} is synchronous and must run inside the caller's
 * transaction, together with the state change the events announce: both
 * commit, or neither does. SQLite has one writer at a time, so `seq` order
 * is commit order, and a relay that publishes in `seq` order publishes in
 * the order things happened.
 *
 * The relay's side (`pending`, `markSent`, the lease…) refuses to run
 * while a transaction is open on the connection, since it would see (and
 * could publish) that transaction's uncommitted rows. Sharing one
 * connection between writer and relay is safe as long as no transaction
 * spans an `await` — `immediate()` guarantees it; a relay on a connection
 * of its own is safe regardless.
 *
 * @example
 * ```ts
 * import { immediate, openDatabase } from "@flotilla/sqlite";
 * import { SqliteOutbox } from "@flotilla/bus";
 *
 * const db = openDatabase("order.db", { schema: "CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY)" });
 * const outbox = new SqliteOutbox(db);
 * immediate(db, () => {
 *   db.prepare("INSERT INTO orders (id) VALUES (?)").run("o-1");
 *   outbox.add("shop.order", {
 *     specversion: "1.0",
 *     id: crypto.randomUUID(),
 *     source: "/flotilla/shop/order",
 *     type: "order.created",
 *     subject: "o-1",
 *     time: new Date().toISOString(),
 *     datacontenttype: "application/json",
 *     data: { orderId: "o-1" },
 *   });
 * });
 * ```
 */
export class SqliteOutbox implements Outbox {
  /** The database the outbox lives in. */
  readonly db: DatabaseSync;
  readonly #clock: Clock;
  readonly #insert: StatementSync;
  readonly #pending: StatementSync;
  readonly #markSent: StatementSync;
  readonly #markFailed: StatementSync;
  readonly #purge: StatementSync;
  readonly #readLease: StatementSync;
  readonly #writeLease: StatementSync;
  readonly #releaseLease: StatementSync;
  readonly #backlog: StatementSync;
  readonly #sentCount: StatementSync;

  /** Opens the outbox in `db`, creating its tables if they are missing. */
  constructor(db: DatabaseSync, options: SqliteOutboxOptions = {}) {
    this.db = db;
    this.#clock = options.clock ?? systemClock;
    if (db.isTransaction) db.exec(SCHEMA);
    else immediate(db, () => db.exec(SCHEMA));
    this.#insert = db.prepare(
      "INSERT INTO outbox (id, stream, aggregate, event, created_at) VALUES (?, ?, ?, ?, ?)",
    );
    this.#pending = db.prepare(
      "SELECT seq, id, stream, aggregate, event, created_at, attempts FROM outbox " +
        "WHERE sent_at IS NULL ORDER BY seq LIMIT ?",
    );
    this.#markSent = db.prepare(
      "UPDATE outbox SET sent_at = ? " +
        "WHERE seq IN (SELECT value FROM json_each(?)) AND sent_at IS NULL",
    );
    this.#markFailed = db.prepare(
      "UPDATE outbox SET attempts = attempts + 1, last_error = ? " +
        "WHERE seq IN (SELECT value FROM json_each(?)) AND sent_at IS NULL",
    );
    this.#purge = db.prepare(
      "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox " +
        "WHERE sent_at IS NOT NULL AND sent_at < ? ORDER BY sent_at LIMIT ?)",
    );
    this.#readLease = db.prepare(
      "SELECT owner, expires_at, fence FROM outbox_lease WHERE name = ?",
    );
    this.#writeLease = db.prepare(
      "INSERT INTO outbox_lease (name, owner, expires_at, fence) VALUES (?, ?, ?, ?) " +
        "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, " +
        "expires_at = excluded.expires_at, fence = excluded.fence",
    );
    this.#releaseLease = db.prepare(
      "UPDATE outbox_lease SET expires_at = 0 WHERE name = ? AND owner = ?",
    );
    this.#backlog = db.prepare(
      "SELECT count(*) AS n, min(created_at) AS oldest, " +
        "sum(attempts > 0) AS failing FROM outbox WHERE sent_at IS NULL",
    );
    this.#sentCount = db.prepare("SELECT count(*) AS n FROM outbox WHERE sent_at IS NOT NULL");
  }

  /**
   * Writes `events` to the outbox for `stream`, in order, and returns their
   * `seq`s. Synchronous, and only allowed inside a transaction of the
   * outbox's database (`immediate(db, …)`): the one that writes the state
   * change the events announce.
   *
   * @throws {TypeError} outside a transaction.
   * @throws {BusError} `INVALID_EVENT` for an event that is not a valid
   * CloudEvent, or whose id is already in the outbox (the caller's
   * transaction then rolls back as the error crosses it).
   */
  add(stream: string, events: CloudEvent | readonly CloudEvent[]): number[] {
    if (!this.db.isTransaction) {
      throw new TypeError(
        "Cannot add to the outbox outside a transaction: call it inside immediate(db, …) " +
          "together with the state change it announces",
      );
    }
    if (typeof stream !== "string" || stream === "") {
      throw new BusError(
        "INVALID_EVENT",
        `Cannot add to the outbox as 'stream' must be a non-empty string: current value is ${
          JSON.stringify(stream)
        }`,
      );
    }
    const list: readonly CloudEvent[] = Array.isArray(events) ? events : [events as CloudEvent];
    const now = this.#clock.now();
    const seqs: number[] = [];
    for (const event of list) {
      const issue = cloudEventIssue(event);
      if (issue !== undefined) {
        throw new BusError("INVALID_EVENT", `Cannot add the event to the outbox as ${issue}`, {
          data: { stream },
        });
      }
      let result;
      try {
        result = this.#insert.run(
          event.id,
          stream,
          event.subject ?? null,
          JSON.stringify(event),
          now,
        );
      } catch (error) {
        if (/UNIQUE constraint failed: outbox\.id/.test(String(error))) {
          throw new BusError(
            "INVALID_EVENT",
            `Cannot add the event to the outbox as its id is already there: ${event.id}`,
            { cause: error, data: { stream, id: event.id } },
          );
        }
        throw error;
      }
      seqs.push(Number(result.lastInsertRowid));
    }
    return seqs;
  }

  /**
   * Up to `limit` unsent events, oldest first.
   *
   * @throws {TypeError} inside a transaction: this connection would see that
   * transaction's uncommitted rows, and a relay must never publish those.
   */
  pending(limit: number): OutboxRow[] {
    if (!(Number.isInteger(limit) && limit > 0)) {
      throw new RangeError(
        `Cannot read the outbox as 'limit' must be a positive integer: current value is ${limit}`,
      );
    }
    this.#outsideTransaction("read the outbox's pending events");
    return this.#pending.all(limit).map(toRow);
  }

  /** Marks the rows sent at `sentAt` (default: now); returns how many were unsent until now. */
  markSent(seqs: readonly number[], sentAt: number = this.#clock.now()): number {
    if (seqs.length === 0) return 0;
    return this.#write(() => Number(this.#markSent.run(sentAt, JSON.stringify(seqs)).changes));
  }

  /** Records a failed publish of the unsent rows among `seqs`. */
  markFailed(seqs: readonly number[], error: string): void {
    if (seqs.length === 0) return;
    this.#write(() => this.#markFailed.run(error, JSON.stringify(seqs)));
  }

  /** Deletes up to `limit` rows sent before `before`; returns how many. */
  purgeSent(before: number, limit = 1_000): number {
    return this.#write(() => Number(this.#purge.run(before, limit).changes));
  }

  /** Takes, renews or reports the relay lease (see {@link Outbox.acquireLease}). */
  acquireLease(owner: string, now: number, leaseMs: number): OutboxLease {
    return this.#write(() => {
      const row = this.#readLease.get(LEASE);
      if (row !== undefined) {
        const current: OutboxLease = {
          owner: text(row, "owner"),
          expiresAt: integer(row, "expires_at"),
          fence: integer(row, "fence"),
        };
        if (current.owner !== owner && current.expiresAt > now) return current;
        const fence = current.owner === owner && current.expiresAt > now
          ? current.fence
          : current.fence + 1;
        const lease = { owner, expiresAt: now + leaseMs, fence };
        this.#writeLease.run(LEASE, owner, lease.expiresAt, fence);
        return lease;
      }
      const lease = { owner, expiresAt: now + leaseMs, fence: 1 };
      this.#writeLease.run(LEASE, owner, lease.expiresAt, lease.fence);
      return lease;
    });
  }

  /** Gives the lease up if `owner` holds it. */
  releaseLease(owner: string): void {
    this.#write(() => this.#releaseLease.run(LEASE, owner));
  }

  /** The backlog: how many events wait, how old the oldest is, how many are failing. */
  stats(): OutboxStats {
    const row = this.#backlog.get()!;
    const oldest = row.oldest === null ? undefined : integer(row, "oldest");
    return {
      backlog: integer(row, "n"),
      oldestAgeMs: oldest === undefined ? 0 : Math.max(0, this.#clock.now() - oldest),
      failing: row.failing === null ? 0 : integer(row, "failing"),
      sent: integer(this.#sentCount.get()!, "n"),
    };
  }

  /** The relay's writes: each in a transaction of its own, never joined to a caller's. */
  #write<T>(work: () => T): T {
    this.#outsideTransaction("update the outbox");
    return immediate(this.db, work);
  }

  #outsideTransaction(action: string): void {
    if (this.db.isTransaction) {
      throw new TypeError(
        `Cannot ${action} inside a transaction on the same connection: ` +
          "give the relay its own connection, or never await inside a transaction",
      );
    }
  }
}

function toRow(row: Row): OutboxRow {
  return {
    seq: integer(row, "seq"),
    id: text(row, "id"),
    stream: text(row, "stream"),
    aggregate: row.aggregate === null ? null : text(row, "aggregate"),
    event: JSON.parse(text(row, "event")) as CloudEvent,
    createdAt: integer(row, "created_at"),
    attempts: integer(row, "attempts"),
  };
}
