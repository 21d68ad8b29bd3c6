/**
 * The read model's SQLite store: applies the projection's changes and
 * answers the views.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { immediate, integer, openDatabase, type Row, text } from "@flotilla/sqlite";
import {
  advances,
  type Notification,
  type OrderSummary,
  type ReadChange,
  type ReadStatus,
  supersedes,
} from "../domain/projection.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS orders (
  order_id    TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL,
  total       INTEGER NOT NULL,
  status      TEXT NOT NULL,
  reason      TEXT,
  updated_at  TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS orders_by_customer ON orders (customer_id, updated_at DESC);
CREATE TABLE IF NOT EXISTS notifications (
  id          TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL,
  order_id    TEXT NOT NULL,
  type        TEXT NOT NULL,
  message     TEXT NOT NULL,
  time        TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS notifications_by_customer ON notifications (customer_id, time DESC);
CREATE TABLE IF NOT EXISTS early_status (
  order_id    TEXT PRIMARY KEY,
  status      TEXT NOT NULL,
  reason      TEXT,
  updated_at  TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS stock (sku TEXT PRIMARY KEY, stock INTEGER NOT NULL, version INTEGER)
  STRICT;
CREATE TABLE IF NOT EXISTS balances (
  customer_id TEXT PRIMARY KEY,
  balance     INTEGER NOT NULL,
  version     INTEGER
) STRICT;
`;

/**
 * Columns added since the first release, by table: `CREATE TABLE IF NOT
 * EXISTS` leaves a read model written by an earlier version as it was, so
 * {@link SqliteReadModel.open} adds them. A figure's `version` is NULL when
 * the event that set it carried none (events from before versions).
 */
const ADDED_COLUMNS: ReadonlyArray<readonly [table: string, column: string, definition: string]> = [
  ["stock", "version", "INTEGER"],
  ["balances", "version", "INTEGER"],
];

/** The read model on SQLite. Writes run inside the inbox's transaction. */
export class SqliteReadModel implements Disposable {
  /** The database, shared with the inbox so a change and its event id commit together. */
  readonly database: DatabaseSync;

  private constructor(db: DatabaseSync) {
    this.database = db;
  }

  /** Opens (creating if needed) the read model at `path`. */
  static open(path: string): SqliteReadModel {
    const db = openDatabase(path, { schema: SCHEMA });
    try {
      migrate(db);
    } catch (error) {
      db.close();
      throw error;
    }
    return new SqliteReadModel(db);
  }

  /** Applies `changes` (call it inside a transaction: the inbox's). */
  apply(changes: readonly ReadChange[]): void {
    const db = this.database;
    for (const change of changes) {
      switch (change.type) {
        case "order": {
          const o = change.order;
          // A status that overtook the order's creation (a reordered delivery) was kept aside.
          const early = db.prepare(
            "DELETE FROM early_status WHERE order_id = ? RETURNING status, reason, updated_at",
          ).get(o.orderId);
          const status = early && advances(o.status, text(early, "status") as ReadStatus)
            ? early
            : undefined;
          db.prepare(
            `INSERT INTO orders (order_id, customer_id, total, status, reason, updated_at)
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (order_id) DO NOTHING`,
          ).run(
            o.orderId,
            o.customerId,
            o.total,
            status ? text(status, "status") : o.status,
            status ? (status.reason as string | null) : null,
            status ? text(status, "updated_at") : o.updatedAt,
          );
          break;
        }
        case "order_status": {
          const current = db.prepare("SELECT status FROM orders WHERE order_id = ?").get(
            change.orderId,
          );
          if (!current) {
            // Its creation event has not arrived yet: keep the most advanced status until it does.
            const kept = db.prepare("SELECT status FROM early_status WHERE order_id = ?")
              .get(change.orderId);
            if (kept && !advances(text(kept, "status") as ReadStatus, change.status)) break;
            db.prepare(
              `INSERT INTO early_status (order_id, status, reason, updated_at) VALUES (?, ?, ?, ?)
               ON CONFLICT (order_id) DO UPDATE SET status = excluded.status,
                 reason = excluded.reason, updated_at = excluded.updated_at`,
            ).run(change.orderId, change.status, change.reason ?? null, change.time);
            break;
          }
          if (!advances(text(current, "status") as ReadStatus, change.status)) break;
          db.prepare("UPDATE orders SET status = ?, reason = ?, updated_at = ? WHERE order_id = ?")
            .run(change.status, change.reason ?? null, change.time, change.orderId);
          break;
        }
        case "stock": {
          // Figures arrive in any order: only a newer version replaces the stored one.
          const stored = db.prepare("SELECT version FROM stock WHERE sku = ?").get(change.sku);
          if (stored && !supersedes(optionalInteger(stored, "version"), change.version)) break;
          db.prepare(
            `INSERT INTO stock (sku, stock, version) VALUES (?, ?, ?)
             ON CONFLICT (sku) DO UPDATE SET stock = excluded.stock, version = excluded.version`,
          ).run(change.sku, change.stock, change.version ?? null);
          break;
        }
        case "balance": {
          const stored = db.prepare("SELECT version FROM balances WHERE customer_id = ?")
            .get(change.customerId);
          if (stored && !supersedes(optionalInteger(stored, "version"), change.version)) break;
          db.prepare(
            `INSERT INTO balances (customer_id, balance, version) VALUES (?, ?, ?)
             ON CONFLICT (customer_id) DO UPDATE SET balance = excluded.balance,
               version = excluded.version`,
          ).run(change.customerId, change.balance, change.version ?? null);
          break;
        }
        case "notification": {
          const n = change.notification;
          db.prepare(
            `INSERT INTO notifications (id, customer_id, order_id, type, message, time)
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
          ).run(n.id, n.customerId, n.orderId, n.type, n.message, n.time);
          break;
        }
      }
    }
  }

  /** A customer's orders, newest first. */
  history(customerId: string): OrderSummary[] {
    return this.database.prepare(
      `SELECT order_id, customer_id, total, status, reason, updated_at FROM orders
       WHERE customer_id = ? ORDER BY updated_at DESC, order_id`,
    ).all(customerId).map((row) => ({
      orderId: text(row, "order_id"),
      customerId: text(row, "customer_id"),
      total: integer(row, "total"),
      status: text(row, "status") as ReadStatus,
      ...(row.reason === null ? {} : { reason: text(row, "reason") }),
      updatedAt: text(row, "updated_at"),
    }));
  }

  /** A customer's notifications, newest first. */
  notifications(customerId: string, limit: number): Notification[] {
    return this.database.prepare(
      `SELECT id, customer_id, order_id, type, message, time FROM notifications
       WHERE customer_id = ? ORDER BY time DESC, id DESC LIMIT ?`,
    ).all(customerId, limit).map(toNotification);
  }

  /** The stock figures seen so far, by sku. */
  stock(): Array<{ sku: string; stock: number }> {
    return this.database.prepare("SELECT sku, stock FROM stock ORDER BY sku").all()
      .map((row) => ({ sku: text(row, "sku"), stock: integer(row, "stock") }));
  }

  /** The balances seen so far, by customer. */
  balances(): Array<{ customerId: string; balance: number }> {
    return this.database.prepare("SELECT customer_id, balance FROM balances ORDER BY customer_id")
      .all()
      .map((row) => ({ customerId: text(row, "customer_id"), balance: integer(row, "balance") }));
  }

  /** Whether the database answers. */
  ping(): boolean {
    try {
      return this.database.isOpen && this.database.prepare("SELECT 1 AS ok").get()?.ok === 1;
    } catch {
      return false;
    }
  }

  /** Closes the database; idempotent. */
  close(): void {
    if (this.database.isOpen) this.database.close();
  }

  /** Closes the database. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Adds the {@link ADDED_COLUMNS} a read model of an earlier version lacks, under the write lock. */
function migrate(db: DatabaseSync): void {
  immediate(db, () => {
    for (const [table, column, definition] of ADDED_COLUMNS) {
      const columns = db.prepare("SELECT name FROM pragma_table_info(?)").all(table)
        .map((row) => text(row, "name"));
      if (!columns.includes(column)) {
        db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
      }
    }
  });
}

function optionalInteger(row: Row, column: string): number | undefined {
  return row[column] === null ? undefined : integer(row, column);
}

function toNotification(row: Row): Notification {
  return {
    id: text(row, "id"),
    customerId: text(row, "customer_id"),
    orderId: text(row, "order_id"),
    type: text(row, "type"),
    message: text(row, "message"),
    time: text(row, "time"),
  };
}
