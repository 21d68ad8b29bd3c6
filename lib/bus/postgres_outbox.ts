/**
 * The transactional outbox in PostgreSQL, for services whose state lives
 * there (and for the PostgreSQL event store, which writes its events'
 * outbox rows in the append's own statement). An `OutboxRelay` drains it.
 *
 * Imports the `postgres` driver (porsager's postgres.js): import it from
 * its own subpath, never from `mod.ts`.
 *
 * @module
 */

import postgres, { type Sql, type TransactionSql } from "postgres";
import { type Clock, systemClock } from "@flotilla/core";
import type { CloudEvent } from "./cloud_event.ts";
import { BusError } from "./errors.ts";
import { cloudEventIssue } from "./is_cloud_event.ts";
import type { Outbox, OutboxLease, OutboxRow, OutboxStats } from "./outbox.ts";

// The types of this entry point's signatures (postgres.js's clients among them), for its
// documentation.
export type { Sql, TransactionSql } from "postgres";
export type { Clock } from "@flotilla/core";
export type { CloudEvent } from "./cloud_event.ts";
export type { Outbox, OutboxLease, OutboxRow, OutboxStats } from "./outbox.ts";

/** Options of {@link PostgresOutbox.open}. */
export interface PostgresOutboxOptions {
  /**
   * The PostgreSQL schema holding the tables `outbox` and `outbox_lease`
   * (created with the schema if missing). A plain lower-case identifier.
   * @default {"flotilla"}
   */
  schema?: string;
  /** Where `created_at` and the backlog's age come from. @default {systemClock} */
  clock?: Clock;
  /** Most connections of the pool it opens when given a URL. @default {4} */
  maxConnections?: number;
  /** Gives up opening when aborted. */
  signal?: AbortSignal;
}

/** A PostgreSQL client or transaction (postgres.js). */
export type PostgresSql = Sql | TransactionSql;

interface PendingRow {
  seq: string;
  id: string;
  stream: string;
  aggregate: string | null;
  event: CloudEvent;
  created_at: string;
  attempts: number;
}

const LEASE = "relay";
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,47}$/;

/**
 * The outbox in a PostgreSQL schema, in the tables `outbox` (the events)
 * and `outbox_lease` (which relay publishes; one row, taken and renewed by
 * a single `INSERT … ON CONFLICT DO UPDATE … WHERE`), both created if
 * missing (see {@link PostgresOutbox.ddl}).
 *
 * {@link PostgresOutbox.add} runs inside the caller's transaction, together
 * with the state change the events announce: both commit, or neither does.
 *
 * **Commit-safe order.** `seq` comes from a sequence, and a transaction
 * that took a lower `seq` may commit after one that took a higher: a relay
 * that read every committed row at once could publish past a row still to
 * come. Each row therefore records the writing transaction's id
 * (`transaction_id xid8`), and {@link PostgresOutbox.pending} hands out
 * only rows of transactions older than the oldest one still running
 * (`pg_snapshot_xmin(pg_current_snapshot())`): a row of a transaction in
 * flight holds back every row written after it began. Among those, rows go
 * in `seq` order — not transaction-id order, which is the order
 * transactions *began*: a transaction that began first (say, writing an
 * inbox row) may add an aggregate's event after another transaction added
 * and committed an earlier one; `seq` is taken when the event is added, so
 * two writers of one aggregate that serialise on its state keep their order.
 * The price: a long-running writing transaction anywhere in the cluster
 * delays publishing until it ends.
 *
 * @example
 * ```ts
 * import postgres from "postgres";
 * import { OutboxRelay, type Bus } from "@flotilla/bus";
 * import { PostgresOutbox } from "@flotilla/bus/postgres";
 *
 * declare const bus: Bus;
 * const sql = postgres("postgres://app@127.0.0.1:5432/shop");
 * await using outbox = await PostgresOutbox.open(sql, { schema: "shop" });
 * await sql.begin(async (tx) => {
 *   await tx`INSERT INTO orders (id) VALUES (${"o-1"})`;
 *   await outbox.add(tx, "shop.order", {
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
 * await using relay = new OutboxRelay({ outbox, bus });
 * relay.notify();
 * ```
 */
export class PostgresOutbox implements Outbox, AsyncDisposable {
  /** The client it runs the relay's statements on. */
  readonly sql: Sql;
  /** The schema of its tables. */
  readonly schema: string;
  readonly #clock: Clock;
  readonly #owned: boolean;
  readonly #text: Statements;

  private constructor(sql: Sql, schema: string, clock: Clock, owned: boolean) {
    this.sql = sql;
    this.schema = schema;
    this.#clock = clock;
    this.#owned = owned;
    this.#text = statements(schema);
  }

  /**
   * Opens the outbox on `sql` (the caller keeps it, and ends it) or on a
   * pool of its own to `url` (ended on dispose), creating the tables if
   * missing.
   *
   * @throws {RangeError} for a schema that is not a plain lower-case identifier.
   */
  static async open(
    sqlOrUrl: Sql | string,
    options: PostgresOutboxOptions = {},
  ): Promise<PostgresOutbox> {
    const schema = checkSchema(options.schema ?? "flotilla", "open the outbox");
    const maxConnections = options.maxConnections ?? 4;
    if (!(Number.isInteger(maxConnections) && maxConnections > 0)) {
      throw new RangeError(
        `Cannot open the outbox as 'maxConnections' must be a positive integer: current value is ${maxConnections}`,
      );
    }
    options.signal?.throwIfAborted();
    const owned = typeof sqlOrUrl === "string";
    const sql = typeof sqlOrUrl === "string"
      ? postgres(sqlOrUrl, {
        max: maxConnections,
        onnotice: () => {},
        connection: { application_name: "flotilla-outbox" },
      })
      : sqlOrUrl;
    const outbox = new PostgresOutbox(sql, schema, options.clock ?? systemClock, owned);
    try {
      await sql.begin(async (tx) => {
        await tx`SELECT pg_advisory_xact_lock(hashtextextended(${`flotilla.outbox.migrate:${schema}`}, 0))`;
        await tx.unsafe(PostgresOutbox.ddl(schema)).simple();
      });
      options.signal?.throwIfAborted();
    } catch (error) {
      await outbox[Symbol.asyncDispose]();
      throw unavailable(error, "open the outbox");
    }
    return outbox;
  }

  /**
   * The statements that create the outbox's tables in `schema` if they are
   * missing (idempotent), for applications that run their own migrations.
   */
  static ddl(schema: string): string {
    const s = checkSchema(schema, "build the outbox's tables");
    return `
CREATE SCHEMA IF NOT EXISTS "${s}";
CREATE TABLE IF NOT EXISTS "${s}".outbox (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
  id text NOT NULL,
  stream text NOT NULL,
  aggregate text,
  event jsonb NOT NULL,
  created_at bigint NOT NULL,
  sent_at bigint,
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  CONSTRAINT outbox_id UNIQUE (id)
);
CREATE INDEX IF NOT EXISTS outbox_unsent ON "${s}".outbox (transaction_id, seq) WHERE sent_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_sent_at ON "${s}".outbox (sent_at) WHERE sent_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS "${s}".outbox_lease (
  name text PRIMARY KEY,
  owner text NOT NULL,
  expires_at bigint NOT NULL,
  fence bigint NOT NULL
);
`;
  }

  /**
   * Writes `events` to the outbox for `stream`, in order, inside the
   * caller's transaction `tx` (from `sql.begin`), and returns their `seq`s.
   *
   * @throws {TypeError} when `tx` is not a transaction.
   * @throws {BusError} `INVALID_EVENT` for an event that is not a valid
   * CloudEvent, or whose id is already in the outbox (the error also aborts
   * the caller's transaction).
   */
  async add(
    tx: TransactionSql,
    stream: string,
    events: CloudEvent | readonly CloudEvent[],
  ): Promise<number[]> {
    if (typeof (tx as { savepoint?: unknown }).savepoint !== "function") {
      throw new TypeError(
        "Cannot add to the outbox outside a transaction: call it inside sql.begin(…) " +
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
    for (const event of list) {
      const issue = cloudEventIssue(event);
      if (issue !== undefined) {
        throw new BusError("INVALID_EVENT", `Cannot add the event to the outbox as ${issue}`, {
          data: { stream },
        });
      }
    }
    if (list.length === 0) return [];
    try {
      const rows = await tx.unsafe<{ seq: string }[]>(
        this.#text.add,
        [stream, JSON.stringify(list), this.#clock.now()],
        { prepare: true },
      );
      return rows.map((row) => Number(row.seq)).sort((a, b) => a - b);
    } catch (error) {
      if (isPostgresError(error) && error.constraint_name === "outbox_id") {
        const id = /\(id\)=\((.*)\)/.exec(error.detail ?? "")?.[1];
        throw new BusError(
          "INVALID_EVENT",
          `Cannot add the event to the outbox as its id is already there: ${id ?? "(unknown)"}`,
          { cause: error, data: { stream, ...(id === undefined ? {} : { id }) } },
        );
      }
      throw error;
    }
  }

  /**
   * Up to `limit` unsent events in commit-safe order: only rows of
   * transactions older than the oldest one still running, by `seq`.
   */
  async pending(limit: number): Promise<OutboxRow[]> {
    if (!(Number.isInteger(limit) && limit > 0)) {
      throw new RangeError(
        `Cannot read the outbox as 'limit' must be a positive integer: current value is ${limit}`,
      );
    }
    const rows = await this.#run<PendingRow[]>(this.#text.pending, [limit], "read the outbox");
    return rows.map((row) => ({
      seq: Number(row.seq),
      id: row.id,
      stream: row.stream,
      aggregate: row.aggregate,
      event: row.event,
      createdAt: Number(row.created_at),
      attempts: row.attempts,
    }));
  }

  /** Marks the rows sent at `sentAt` (default: now); returns how many were unsent until now. */
  async markSent(seqs: readonly number[], sentAt: number = this.#clock.now()): Promise<number> {
    if (seqs.length === 0) return 0;
    const result = await this.#run(this.#text.markSent, [sentAt, seqs], "update the outbox");
    return result.count;
  }

  /** Records a failed publish of the unsent rows among `seqs`. */
  async markFailed(seqs: readonly number[], error: string): Promise<void> {
    if (seqs.length === 0) return;
    await this.#run(this.#text.markFailed, [error, seqs], "update the outbox");
  }

  /** Deletes up to `limit` rows sent before `before`; returns how many. */
  async purgeSent(before: number, limit = 1_000): Promise<number> {
    const result = await this.#run(this.#text.purge, [before, limit], "purge the outbox");
    return result.count;
  }

  /** Takes, renews or reports the relay lease (see {@link Outbox.acquireLease}). */
  async acquireLease(owner: string, now: number, leaseMs: number): Promise<OutboxLease> {
    const rows = await this.#run<LeaseRow[]>(
      this.#text.acquireLease,
      [LEASE, owner, now, now + leaseMs],
      "take the outbox lease",
    );
    const row = rows[0];
    if (row === undefined) throw new Error("The outbox lease row vanished");
    return { owner: row.owner, expiresAt: Number(row.expires_at), fence: Number(row.fence) };
  }

  /** Gives the lease up if `owner` holds it. */
  async releaseLease(owner: string): Promise<void> {
    await this.#run(this.#text.releaseLease, [LEASE, owner], "give the outbox lease up");
  }

  /** The backlog: how many events wait, how old the oldest is, how many are failing. */
  async stats(): Promise<OutboxStats> {
    const rows = await this.#run<StatsRow[]>(this.#text.stats, [], "read the outbox's figures");
    const row = rows[0]!;
    const oldest = row.oldest === null ? undefined : Number(row.oldest);
    return {
      backlog: Number(row.backlog),
      oldestAgeMs: oldest === undefined ? 0 : Math.max(0, this.#clock.now() - oldest),
      failing: Number(row.failing),
      sent: Number(row.sent),
    };
  }

  /** Ends the pool it opened for a URL; an outbox opened on a caller's client leaves it open. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#owned) await this.sql.end({ timeout: 5 });
  }

  async #run<T extends unknown[] = postgres.Row[]>(
    text: string,
    params: unknown[],
    action: string,
  ): Promise<postgres.RowList<T>> {
    try {
      return await this.sql.unsafe<T>(text, params as postgres.ParameterOrJSON<never>[], {
        prepare: true,
      });
    } catch (error) {
      throw unavailable(error, action);
    }
  }
}

interface LeaseRow {
  owner: string;
  expires_at: string;
  fence: string;
}

interface StatsRow {
  backlog: string;
  oldest: string | null;
  failing: string;
  sent: string;
}

interface Statements {
  add: string;
  pending: string;
  markSent: string;
  markFailed: string;
  purge: string;
  acquireLease: string;
  releaseLease: string;
  stats: string;
}

function statements(schema: string): Statements {
  const outbox = `"${schema}".outbox`;
  const lease = `"${schema}".outbox_lease`;
  return {
    add: `INSERT INTO ${outbox} (id, stream, aggregate, event, created_at) ` +
      "SELECT e.value->>'id', $1, e.value->>'subject', e.value, $3 " +
      "FROM jsonb_array_elements($2::text::jsonb) WITH ORDINALITY AS e(value, n) " +
      "ORDER BY e.n RETURNING seq",
    pending: "SELECT seq, id, stream, aggregate, event, created_at, attempts " +
      `FROM ${outbox} WHERE sent_at IS NULL ` +
      "AND transaction_id < pg_snapshot_xmin(pg_current_snapshot()) " +
      "ORDER BY seq LIMIT $1",
    markSent: `UPDATE ${outbox} SET sent_at = $1 ` +
      "WHERE seq = ANY($2::bigint[]) AND sent_at IS NULL",
    markFailed: `UPDATE ${outbox} SET attempts = attempts + 1, last_error = $1 ` +
      "WHERE seq = ANY($2::bigint[]) AND sent_at IS NULL",
    purge: `DELETE FROM ${outbox} WHERE seq IN (SELECT seq FROM ${outbox} ` +
      "WHERE sent_at IS NOT NULL AND sent_at < $1 ORDER BY sent_at LIMIT $2)",
    // Takes the lease when it is free, expired or already ours (keeping the fence when it is
    // ours and alive), in one statement; when someone else holds it, reports their lease.
    acquireLease: `WITH taken AS (
  INSERT INTO ${lease} AS l (name, owner, expires_at, fence) VALUES ($1, $2, $4, 1)
  ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at,
    fence = CASE WHEN l.owner = excluded.owner AND l.expires_at > $3 THEN l.fence ELSE l.fence + 1 END
  WHERE l.owner = excluded.owner OR l.expires_at <= $3
  RETURNING owner, expires_at, fence
)
SELECT owner, expires_at, fence FROM taken
UNION ALL
SELECT owner, expires_at, fence FROM ${lease} WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM taken)`,
    releaseLease: `UPDATE ${lease} SET expires_at = 0 WHERE name = $1 AND owner = $2`,
    stats: "SELECT count(*) FILTER (WHERE sent_at IS NULL) AS backlog, " +
      "min(created_at) FILTER (WHERE sent_at IS NULL) AS oldest, " +
      "count(*) FILTER (WHERE sent_at IS NULL AND attempts > 0) AS failing, " +
      `count(*) FILTER (WHERE sent_at IS NOT NULL) AS sent FROM ${outbox}`,
  };
}

function checkSchema(schema: string, action: string): string {
  if (typeof schema !== "string" || !SCHEMA_NAME.test(schema)) {
    throw new RangeError(
      `Cannot ${action} as 'schema' must be a lower-case identifier of at most 48 characters ` +
        `(a-z, 0-9, _): current value is ${JSON.stringify(schema)}`,
    );
  }
  return schema;
}

function isPostgresError(error: unknown): error is postgres.PostgresError {
  return error instanceof postgres.PostgresError;
}

/** Connection trouble becomes a retryable `BUS_UNAVAILABLE`; anything else passes through. */
function unavailable(error: unknown, action: string): unknown {
  if (error instanceof BusError || error instanceof RangeError) return error;
  const code = (error as { code?: unknown })?.code;
  if (typeof code === "string" && isConnectionCode(code)) {
    return new BusError("BUS_UNAVAILABLE", `Cannot ${action} as PostgreSQL is unavailable`, {
      cause: error,
    });
  }
  return error;
}

function isConnectionCode(code: string): boolean {
  return /^(08|53|57P0)/.test(code) ||
    /^(ECONN|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|CONNECT|CONNECTION_)/.test(code);
}
