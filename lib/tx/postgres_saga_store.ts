/**
 * The {@link SagaStore} in PostgreSQL, for orchestrators and coordinators
 * whose state lives there (several processes share it; the lease keeps
 * them from driving one saga twice).
 *
 * Imports the `postgres` driver (porsager's postgres.js): import it from
 * its own subpath `@flotilla/tx/postgres`, never from `mod.ts`.
 *
 * @module
 */

import postgres, { type Sql } from "postgres";
import { TxError } from "./errors.ts";
import {
  ACTIVE_STATUSES,
  type SagaStore,
  type TxHistoryEntry,
  type TxKind,
  type TxQuery,
  type TxRecord,
  type TxStatus,
} from "./saga_store.ts";

// The types of this entry point's signatures, for its documentation.
export type { Sql } from "postgres";
export type { ErrorInfo } from "./errors.ts";
export type {
  SagaStatus,
  SagaStore,
  TccStatus,
  TxHistoryEntry,
  TxKind,
  TxQuery,
  TxRecord,
  TxStatus,
} from "./saga_store.ts";

/** Options of {@link PostgresSagaStore.open}. */
export interface PostgresSagaStoreOptions {
  /**
   * The schema holding the tables `tx_records` and `tx_history` (created
   * with the schema if missing). A plain lower-case identifier.
   * @default {"flotilla"}
   */
  schema?: string;
  /** Most connections of the pool it opens when given a URL. @default {4} */
  maxConnections?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,47}$/;

interface RecordRow {
  id: string;
  kind: string;
  name: string;
  status: string;
  state: unknown;
  error: unknown;
  deadline_at: string | null;
  owner: string | null;
  lease_until: string;
  version: string;
  created_at: string;
  updated_at: string;
}

/**
 * Sagas and TCC transactions in a PostgreSQL schema (see
 * {@link PostgresSagaStore.ddl}). Writes are single conditional statements
 * (`UPDATE … WHERE version = $n`), so the version fence holds across any
 * number of processes.
 *
 * @example
 * ```ts
 * import { SagaOrchestrator } from "@flotilla/tx";
 * import { PostgresSagaStore } from "@flotilla/tx/postgres";
 *
 * await using store = await PostgresSagaStore.open("postgres://app@127.0.0.1:5432/shop", {
 *   schema: "orders",
 * });
 * const orchestrator = new SagaOrchestrator({ store, sagas: [checkout] });
 * ```
 */
export class PostgresSagaStore implements SagaStore, AsyncDisposable {
  /** The client it runs its statements on. */
  readonly sql: Sql;
  /** The schema of its tables. */
  readonly schema: string;
  readonly #owned: boolean;

  private constructor(sql: Sql, schema: string, owned: boolean) {
    this.sql = sql;
    this.schema = schema;
    this.#owned = owned;
  }

  /**
   * Opens the store on `sql` (the caller keeps and ends it) or on a pool of
   * its own to `url` (ended by {@link PostgresSagaStore.close}), creating
   * the tables if missing.
   *
   * @throws {RangeError} for a bad schema name or pool size.
   * @throws {TxError} `TX_STORE_UNAVAILABLE` when the server cannot be reached.
   */
  static async open(
    sqlOrUrl: Sql | string,
    options: PostgresSagaStoreOptions = {},
  ): Promise<PostgresSagaStore> {
    const schema = checkSchema(options.schema ?? "flotilla");
    const maxConnections = options.maxConnections ?? 4;
    if (!(Number.isInteger(maxConnections) && maxConnections > 0)) {
      throw new RangeError(
        `Cannot open the saga store as 'maxConnections' must be a positive integer: current value is ${maxConnections}`,
      );
    }
    const owned = typeof sqlOrUrl === "string";
    const sql = typeof sqlOrUrl === "string"
      ? postgres(sqlOrUrl, {
        max: maxConnections,
        onnotice: () => {},
        connection: { application_name: "flotilla-tx" },
      })
      : sqlOrUrl;
    const store = new PostgresSagaStore(sql, schema, owned);
    try {
      await sql.begin(async (tx) => {
        await tx`SELECT pg_advisory_xact_lock(hashtextextended(${`flotilla.tx.migrate:${schema}`}, 0))`;
        await tx.unsafe(PostgresSagaStore.ddl(schema)).simple();
      });
    } catch (error) {
      await store.close();
      throw unavailable(error);
    }
    return store;
  }

  /** The idempotent DDL of the store's tables in `schema`, for applications that run their own migrations. */
  static ddl(schema: string): string {
    const s = checkSchema(schema);
    return `
CREATE SCHEMA IF NOT EXISTS "${s}";
CREATE TABLE IF NOT EXISTS "${s}".tx_records (
  seq bigint GENERATED ALWAYS AS IDENTITY,
  id text PRIMARY KEY,
  kind text NOT NULL,
  name text NOT NULL,
  status text NOT NULL,
  state jsonb NOT NULL,
  error jsonb,
  deadline_at bigint,
  owner text,
  lease_until bigint NOT NULL,
  version bigint NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS tx_records_status ON "${s}".tx_records (kind, status, created_at, seq);
CREATE TABLE IF NOT EXISTS "${s}".tx_history (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id text NOT NULL,
  entry jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS tx_history_id ON "${s}".tx_history (id, seq);
`;
  }

  /** Stores a new record; false when the id is taken. */
  insert(record: TxRecord, history: readonly TxHistoryEntry[] = []): Promise<boolean> {
    return this.#run(() =>
      this.sql.begin(async (tx) => {
        const rows = await tx.unsafe(
          `INSERT INTO "${this.schema}".tx_records (id, kind, name, status, state, error, deadline_at,
             owner, lease_until, version, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5::text::jsonb, $6::text::jsonb, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (id) DO NOTHING RETURNING id`,
          [
            record.id,
            record.kind,
            record.name,
            record.status,
            JSON.stringify(record.state ?? null),
            record.error === null ? null : JSON.stringify(record.error),
            record.deadlineAt,
            record.owner,
            record.leaseUntil,
            record.version,
            record.createdAt,
            record.updatedAt,
          ],
        );
        if (rows.length === 0) return false;
        await this.#appendHistory(tx, record.id, history);
        return true;
      })
    );
  }

  /** The record, or undefined. */
  get(id: string): Promise<TxRecord | undefined> {
    return this.#run(async () => {
      const rows = await this.sql.unsafe<RecordRow[]>(
        `SELECT * FROM "${this.schema}".tx_records WHERE id = $1`,
        [id],
      );
      return rows[0] === undefined ? undefined : toRecord(rows[0]);
    });
  }

  /** Writes `record` if its version is still the stored one. */
  update(record: TxRecord, history: readonly TxHistoryEntry[] = []): Promise<TxRecord> {
    return this.#run(() =>
      this.sql.begin(async (tx) => {
        const rows = await tx.unsafe<RecordRow[]>(
          `UPDATE "${this.schema}".tx_records SET status = $1, state = $2::text::jsonb, error = $3::text::jsonb,
             deadline_at = $4, owner = $5, lease_until = $6, version = version + 1, updated_at = $7
           WHERE id = $8 AND version = $9 RETURNING *`,
          [
            record.status,
            JSON.stringify(record.state ?? null),
            record.error === null ? null : JSON.stringify(record.error),
            record.deadlineAt,
            record.owner,
            record.leaseUntil,
            record.updatedAt,
            record.id,
            record.version,
          ],
        );
        const row = rows[0];
        if (row === undefined) {
          const [stored] = await tx.unsafe<{ version: string }[]>(
            `SELECT version FROM "${this.schema}".tx_records WHERE id = $1`,
            [record.id],
          );
          throw stored === undefined
            ? new TxError("TX_NOT_FOUND", `Cannot update "${record.id}" as it does not exist`)
            : new TxError(
              "TX_LEASE_LOST",
              `Cannot update "${record.id}" as its version moved from ${record.version} to ${stored.version}`,
            );
        }
        await this.#appendHistory(tx, record.id, history);
        return toRecord(row);
      })
    );
  }

  /** Takes the lease when it is free, expired or `owner`'s. */
  claim(id: string, owner: string, now: number, leaseMs: number): Promise<TxRecord | undefined> {
    return this.#run(async () => {
      const rows = await this.sql.unsafe<RecordRow[]>(
        `UPDATE "${this.schema}".tx_records SET owner = $1, lease_until = $2, version = version + 1
         WHERE id = $3 AND status NOT IN ('COMPLETED', 'COMPENSATED', 'CONFIRMED', 'CANCELLED')
           AND (owner IS NULL OR owner = $1 OR lease_until <= $4)
         RETURNING *`,
        [owner, now + leaseMs, id, now],
      );
      return rows[0] === undefined ? undefined : toRecord(rows[0]);
    });
  }

  /** Ids of active records whose lease `owner` may take. */
  claimable(kind: TxKind, owner: string, now: number, limit: number): Promise<string[]> {
    return this.#run(async () => {
      const rows = await this.sql.unsafe<{ id: string }[]>(
        `SELECT id FROM "${this.schema}".tx_records
         WHERE kind = $1 AND status = ANY($2::text[]) AND (owner IS NULL OR owner = $3 OR lease_until <= $4)
         ORDER BY created_at, seq LIMIT $5`,
        [kind, ACTIVE_STATUSES as string[], owner, now, limit],
      );
      return rows.map((row) => row.id);
    });
  }

  /** Records matching `query`, oldest first. */
  list(query: TxQuery = {}): Promise<TxRecord[]> {
    return this.#run(async () => {
      const rows = await this.sql.unsafe<RecordRow[]>(
        `SELECT * FROM "${this.schema}".tx_records
         WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR status = $2)
           AND ($3::text IS NULL OR name = $3)
         ORDER BY created_at, seq LIMIT $4 OFFSET $5`,
        [
          query.kind ?? null,
          query.status ?? null,
          query.name ?? null,
          query.limit ?? 100,
          query.offset ?? 0,
        ],
      );
      return rows.map(toRecord);
    });
  }

  /** A record's history, oldest first. */
  history(id: string): Promise<TxHistoryEntry[]> {
    return this.#run(async () => {
      const rows = await this.sql.unsafe<{ entry: TxHistoryEntry }[]>(
        `SELECT entry FROM "${this.schema}".tx_history WHERE id = $1 ORDER BY seq`,
        [id],
      );
      return rows.map((row) => row.entry);
    });
  }

  /** Ends the pool if the store opened it. */
  async close(): Promise<void> {
    if (this.#owned) await this.sql.end({ timeout: 5 });
  }

  /** Same as {@link PostgresSagaStore.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #appendHistory(
    tx: postgres.TransactionSql,
    id: string,
    history: readonly TxHistoryEntry[],
  ): Promise<void> {
    if (history.length === 0) return;
    await tx.unsafe(
      `INSERT INTO "${this.schema}".tx_history (id, entry)
       SELECT $1, value FROM jsonb_array_elements($2::text::jsonb) WITH ORDINALITY ORDER BY ordinality`,
      [id, JSON.stringify(history)],
    );
  }

  async #run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof TxError) throw error;
      throw unavailable(error);
    }
  }
}

function checkSchema(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new RangeError(
      `Cannot use the saga store as 'schema' must be a plain lower-case identifier: current value is ${
        JSON.stringify(schema)
      }`,
    );
  }
  return schema;
}

function unavailable(error: unknown): TxError {
  return new TxError("TX_STORE_UNAVAILABLE", `The saga store failed: ${String(error)}`, {
    cause: error,
  });
}

function toRecord(row: RecordRow): TxRecord {
  return {
    id: row.id,
    kind: row.kind as TxKind,
    name: row.name,
    status: row.status as TxStatus,
    state: row.state,
    error: (row.error ?? null) as TxRecord["error"],
    deadlineAt: row.deadline_at === null ? null : Number(row.deadline_at),
    owner: row.owner,
    leaseUntil: Number(row.lease_until),
    version: Number(row.version),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
