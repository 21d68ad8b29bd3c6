/**
 * Opening a SQLite database the way every store of this service wants it,
 * and running read-decide-write transactions on it. Private to `infra/`.
 *
 * @module
 */

import { DatabaseSync, type SQLOutputValue } from "node:sqlite";

/** How long a writer waits for another connection's lock before failing, in ms. */
export const BUSY_TIMEOUT_MS = 5_000;

/**
 * Opens (creating if needed) the database at `path` in WAL mode with a busy
 * timeout, and runs `schema` — idempotent DDL — in one transaction.
 */
export function openDatabase(path: string, schema: string): DatabaseSync {
  const db = new DatabaseSync(path);
  try {
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    immediate(db, () => db.exec(schema));
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Runs synchronous `work` inside `BEGIN IMMEDIATE … COMMIT`, so no other
 * writer can slip between its reads and its writes; rolls back if it throws.
 */
export function immediate<T>(db: DatabaseSync, work: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = work();
    if (result instanceof Promise) {
      throw new TypeError("Cannot run an async function inside a SQLite transaction");
    }
    db.exec("COMMIT");
    return result;
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw error;
  }
}

/** A row as `node:sqlite` returns it. */
export type Row = Record<string, SQLOutputValue>;

/** Reads a TEXT column, failing loudly on anything else. */
export function text(row: Row, column: string): string {
  const value = row[column];
  if (typeof value !== "string") {
    throw new TypeError(`Cannot read column "${column}" as text: got ${typeof value}`);
  }
  return value;
}

/** Reads an INTEGER column as a safe integer, failing loudly on anything else. */
export function integer(row: Row, column: string): number {
  const value = row[column];
  const number = typeof value === "bigint" ? Number(value) : value;
  if (typeof number !== "number" || !Number.isSafeInteger(number)) {
    throw new TypeError(`Cannot read column "${column}" as an integer: got ${String(value)}`);
  }
  return number;
}
