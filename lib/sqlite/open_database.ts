/**
 * Opening an embedded SQLite database the way every Flotilla store wants it.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { immediate } from "./immediate.ts";

/** Options of {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** Idempotent DDL (`CREATE TABLE IF NOT EXISTS …`) run in one transaction on open. */
  schema?: string;
  /** How long a writer waits for another connection's lock before failing, in ms. @default {5000} */
  busyTimeoutMs?: number;
}

/**
 * Opens (creating if needed) the database at `path` in WAL mode with a busy
 * timeout and `synchronous = NORMAL` (durable across process crashes; the
 * last transactions may roll back on power loss), then applies `schema`.
 *
 * @example
 * ```ts
 * const db = openDatabase("/data/order/order.db", {
 *   schema: "CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY)",
 * });
 * ```
 */
export function openDatabase(path: string, options: OpenDatabaseOptions = {}): DatabaseSync {
  const busyTimeoutMs = options.busyTimeoutMs ?? 5_000;
  if (!(Number.isInteger(busyTimeoutMs) && busyTimeoutMs >= 0)) {
    throw new RangeError(
      `Cannot open the database as 'busyTimeoutMs' must be a non-negative integer: current value is ${busyTimeoutMs}`,
    );
  }
  const db = new DatabaseSync(path);
  try {
    db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    const schema = options.schema;
    if (schema) immediate(db, () => db.exec(schema));
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
