/**
 * Embedded SQLite through `node:sqlite`: opening a database in WAL mode with
 * its schema, read-decide-write transactions, typed column reads.
 *
 * @example
 * ```ts
 * import { immediate, openDatabase } from "@flotilla/sqlite";
 * const db = openDatabase(path, { schema: "CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT)" });
 * immediate(db, () => db.prepare("INSERT INTO kv VALUES (?, ?)").run("a", "1"));
 * ```
 *
 * @module
 */

export { openDatabase, type OpenDatabaseOptions } from "./open_database.ts";
export { immediate } from "./immediate.ts";
export { integer, type Row, text } from "./columns.ts";
