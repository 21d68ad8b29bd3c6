/**
 * The {@link SagaStore} in SQLite through `node:sqlite`: the default.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { immediate, integer, openDatabase, type Row, text } from "@flotilla/sqlite";
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

/** Options of {@link SqliteSagaStore}: a file to open, or a database the caller owns. */
export type SqliteSagaStoreOptions =
  | {
    /** The database file, opened in WAL mode (created if missing); closed by {@link SqliteSagaStore.close}. */
    path: string;
  }
  | {
    /** An open database (the tables are created in it); left open by {@link SqliteSagaStore.close}. */
    db: DatabaseSync;
  };

const ACTIVE_SQL = ACTIVE_STATUSES.map((s) => `'${s}'`).join(", ");

/** The tables of {@link SqliteSagaStore} (idempotent DDL). */
export const SQLITE_SAGA_SCHEMA = `
CREATE TABLE IF NOT EXISTS tx_records (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  state TEXT NOT NULL,
  error TEXT,
  deadline_at INTEGER,
  owner TEXT,
  lease_until INTEGER NOT NULL,
  version INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tx_records_status ON tx_records (kind, status, created_at);
CREATE TABLE IF NOT EXISTS tx_history (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL,
  entry TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tx_history_id ON tx_history (id, seq);
`;

/**
 * Sagas and TCC transactions in the tables `tx_records` and `tx_history`
 * of a SQLite database (see {@link SQLITE_SAGA_SCHEMA}). Every write runs
 * under `BEGIN IMMEDIATE`, so the version check and the write are atomic
 * across processes sharing the file.
 *
 * @example
 * ```ts
 * import { SagaOrchestrator, SqliteSagaStore } from "@flotilla/tx";
 *
 * const store = new SqliteSagaStore({ path: ".flotilla/order/sagas.db" });
 * const orchestrator = new SagaOrchestrator({ store, sagas: [checkout] });
 * ```
 */
export class SqliteSagaStore implements SagaStore, AsyncDisposable {
  /** The database. */
  readonly db: DatabaseSync;
  readonly #owned: boolean;

  /** Opens the store, creating its tables if missing. */
  constructor(options: SqliteSagaStoreOptions) {
    if ("path" in options) {
      this.db = openDatabase(options.path, { schema: SQLITE_SAGA_SCHEMA });
      this.#owned = true;
    } else {
      this.db = options.db;
      immediate(this.db, () => this.db.exec(SQLITE_SAGA_SCHEMA));
      this.#owned = false;
    }
  }

  /** Stores a new record; false when the id is taken. */
  insert(record: TxRecord, history: readonly TxHistoryEntry[] = []): Promise<boolean> {
    return this.#run(() =>
      immediate(this.db, () => {
        const { changes } = this.db.prepare(
          `INSERT INTO tx_records (id, kind, name, status, state, error, deadline_at, owner,
             lease_until, version, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
        ).run(
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
        );
        if (Number(changes) === 0) return false;
        this.#appendHistory(record.id, history);
        return true;
      })
    );
  }

  /** The record, or undefined. */
  get(id: string): Promise<TxRecord | undefined> {
    return this.#run(() => {
      const row = this.db.prepare("SELECT * FROM tx_records WHERE id = ?").get(id);
      return row === undefined ? undefined : toRecord(row);
    });
  }

  /** Writes `record` if its version is still the stored one. */
  update(record: TxRecord, history: readonly TxHistoryEntry[] = []): Promise<TxRecord> {
    return this.#run(() =>
      immediate(this.db, () => {
        const row = this.db.prepare(
          `UPDATE tx_records SET status = ?, state = ?, error = ?, deadline_at = ?, owner = ?,
             lease_until = ?, version = version + 1, updated_at = ?
           WHERE id = ? AND version = ? RETURNING *`,
        ).get(
          record.status,
          JSON.stringify(record.state ?? null),
          record.error === null ? null : JSON.stringify(record.error),
          record.deadlineAt,
          record.owner,
          record.leaseUntil,
          record.updatedAt,
          record.id,
          record.version,
        );
        if (row === undefined) throw this.#conflict(record);
        this.#appendHistory(record.id, history);
        return toRecord(row);
      })
    );
  }

  /** Takes the lease when it is free, expired or `owner`'s. */
  claim(id: string, owner: string, now: number, leaseMs: number): Promise<TxRecord | undefined> {
    return this.#run(() =>
      immediate(this.db, () => {
        const row = this.db.prepare(
          `UPDATE tx_records SET owner = ?, lease_until = ?, version = version + 1
           WHERE id = ? AND status NOT IN ('COMPLETED', 'COMPENSATED', 'CONFIRMED', 'CANCELLED')
             AND (owner IS NULL OR owner = ? OR lease_until <= ?)
           RETURNING *`,
        ).get(owner, now + leaseMs, id, owner, now);
        return row === undefined ? undefined : toRecord(row);
      })
    );
  }

  /** Ids of active records whose lease `owner` may take. */
  claimable(kind: TxKind, owner: string, now: number, limit: number): Promise<string[]> {
    return this.#run(() =>
      this.db.prepare(
        `SELECT id FROM tx_records WHERE kind = ? AND status IN (${ACTIVE_SQL})
           AND (owner IS NULL OR owner = ? OR lease_until <= ?)
         ORDER BY created_at, rowid LIMIT ?`,
      ).all(kind, owner, now, limit).map((row) => text(row, "id"))
    );
  }

  /** Records matching `query`, oldest first. */
  list(query: TxQuery = {}): Promise<TxRecord[]> {
    return this.#run(() => {
      const where: string[] = [];
      const params: (string | number)[] = [];
      if (query.kind !== undefined) where.push("kind = ?"), params.push(query.kind);
      if (query.status !== undefined) where.push("status = ?"), params.push(query.status);
      if (query.name !== undefined) where.push("name = ?"), params.push(query.name);
      params.push(query.limit ?? 100, query.offset ?? 0);
      return this.db.prepare(
        `SELECT * FROM tx_records ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY created_at, rowid LIMIT ? OFFSET ?`,
      ).all(...params).map(toRecord);
    });
  }

  /** A record's history, oldest first. */
  history(id: string): Promise<TxHistoryEntry[]> {
    return this.#run(() =>
      this.db.prepare("SELECT entry FROM tx_history WHERE id = ? ORDER BY seq").all(id)
        .map((row) => JSON.parse(text(row, "entry")) as TxHistoryEntry)
    );
  }

  /** Closes the database if the store opened it. */
  close(): Promise<void> {
    if (this.#owned && this.db.isOpen) this.db.close();
    return Promise.resolve();
  }

  /** Same as {@link SqliteSagaStore.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #appendHistory(id: string, history: readonly TxHistoryEntry[]): void {
    if (history.length === 0) return;
    const insert = this.db.prepare("INSERT INTO tx_history (id, entry) VALUES (?, ?)");
    for (const entry of history) insert.run(id, JSON.stringify(entry));
  }

  #conflict(record: TxRecord): TxError {
    const row = this.db.prepare("SELECT version FROM tx_records WHERE id = ?").get(record.id);
    return row === undefined
      ? new TxError("TX_NOT_FOUND", `Cannot update "${record.id}" as it does not exist`)
      : new TxError(
        "TX_LEASE_LOST",
        `Cannot update "${record.id}" as its version moved from ${record.version} to ${
          integer(row, "version")
        }`,
      );
  }

  /** Runs `work` as a promise; driver failures become `TX_STORE_UNAVAILABLE`. */
  #run<T>(work: () => T): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (error) {
      if (error instanceof TxError) return Promise.reject(error);
      return Promise.reject(
        new TxError("TX_STORE_UNAVAILABLE", `The saga store failed: ${String(error)}`, {
          cause: error,
        }),
      );
    }
  }
}

function toRecord(row: Row): TxRecord {
  const error = row.error;
  const deadline = row.deadline_at;
  const owner = row.owner;
  return {
    id: text(row, "id"),
    kind: text(row, "kind") as TxKind,
    name: text(row, "name"),
    status: text(row, "status") as TxStatus,
    state: JSON.parse(text(row, "state")),
    error: typeof error === "string" ? JSON.parse(error) : null,
    deadlineAt: deadline === null || deadline === undefined ? null : integer(row, "deadline_at"),
    owner: typeof owner === "string" ? owner : null,
    leaseUntil: integer(row, "lease_until"),
    version: integer(row, "version"),
    createdAt: integer(row, "created_at"),
    updatedAt: integer(row, "updated_at"),
  };
}
