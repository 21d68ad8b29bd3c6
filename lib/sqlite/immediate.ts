/**
 * Read-decide-write transactions on SQLite.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";

/**
 * Runs synchronous `work` inside `BEGIN IMMEDIATE … COMMIT`, so no other
 * writer can slip between its reads and its writes; rolls back if it throws.
 * `work` must not be async: an `await` inside would let other work interleave
 * with the open transaction.
 *
 * @example
 * ```ts
 * const balance = immediate(db, () => {
 *   const row = db.prepare("SELECT balance FROM accounts WHERE id = ?").get("alice");
 *   db.prepare("UPDATE accounts SET balance = balance - 100 WHERE id = ?").run("alice");
 *   return row;
 * });
 * ```
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
