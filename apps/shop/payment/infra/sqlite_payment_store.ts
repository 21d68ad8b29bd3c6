/**
 * The payment service's SQLite store, through `node:sqlite`.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { Customer } from "../../contracts/mod.ts";
import type { PaymentStore, PaymentTransaction } from "../app/ports.ts";
import type { Payment, PaymentStatus } from "../domain/payment.ts";
import { immediate, integer, openDatabase, type Row, text } from "@flotilla/sqlite";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS customers (
  id      TEXT PRIMARY KEY,
  name    TEXT NOT NULL,
  balance INTEGER NOT NULL CHECK (balance >= 0)
) STRICT;
CREATE TABLE IF NOT EXISTS payments (
  order_id    TEXT PRIMARY KEY,
  status      TEXT NOT NULL CHECK (status IN ('CHARGED', 'DECLINED', 'REFUNDED', 'VOIDED')),
  customer_id TEXT,
  amount      INTEGER CHECK (amount >= 0),
  CHECK ((customer_id IS NULL) = (amount IS NULL)),
  CHECK (customer_id IS NOT NULL OR status = 'VOIDED')
) STRICT;
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
`;

const STATUSES: ReadonlySet<string> = new Set(["CHARGED", "DECLINED", "REFUNDED", "VOIDED"]);

/**
 * Wallets and payments in one SQLite file. Every read-decide-write runs in a
 * `BEGIN IMMEDIATE` transaction; the schema is created on open if missing,
 * and `CHECK` constraints refuse a negative balance even if a bug asked for
 * one. Dispose it (or call {@link close}) to close the database.
 *
 * @example
 * ```ts
 * using store = SqlitePaymentStore.open(`${dataDir}/payment.db`);
 * store.seed(SEED_CUSTOMERS); // only on the first start
 * ```
 */
export class SqlitePaymentStore implements PaymentStore, Disposable {
  readonly #db: DatabaseSync;

  private constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Opens (creating if needed) the database file at `path`. */
  static open(path: string): SqlitePaymentStore {
    return new SqlitePaymentStore(openDatabase(path, { schema: SCHEMA }));
  }

  /**
   * The store's database connection, for the transactional outbox whose
   * emitter the service calls inside {@link transaction}.
   *
   * @example
   * ```ts
   * const emit = node.outbox(store.database, { stream: STREAMS.payment });
   * ```
   */
  get database(): DatabaseSync {
    return this.#db;
  }

  /**
   * Writes `customers` if this database was never seeded; returns whether it
   * did. A later start keeps the data.
   */
  seed(customers: readonly Customer[]): boolean {
    return immediate(this.#db, () => {
      if (this.#db.prepare("SELECT 1 FROM meta WHERE key = 'seeded'").get()) return false;
      const insert = this.#db.prepare(
        "INSERT OR IGNORE INTO customers (id, name, balance) VALUES (?, ?, ?)",
      );
      for (const c of customers) insert.run(c.id, c.name, c.balance);
      this.#db.prepare("INSERT INTO meta (key, value) VALUES ('seeded', ?)").run(
        String(customers.length),
      );
      return true;
    });
  }

  /** Every customer, ordered by id. */
  listCustomers(): Customer[] {
    return this.#db.prepare("SELECT id, name, balance FROM customers ORDER BY id").all()
      .map(toCustomer);
  }

  /** One customer, if any. */
  getCustomer(customerId: string): Customer | undefined {
    const row = this.#db.prepare("SELECT id, name, balance FROM customers WHERE id = ?").get(
      customerId,
    );
    return row ? toCustomer(row) : undefined;
  }

  /** Runs `work` inside `BEGIN IMMEDIATE … COMMIT`; rolls back if it throws. */
  transaction<T>(work: (tx: PaymentTransaction) => T): T {
    const db = this.#db;
    return immediate(db, () =>
      work({
        getCustomer: (customerId) => this.getCustomer(customerId),
        setBalance: (customerId, balance) => {
          const { changes } = db.prepare("UPDATE customers SET balance = ? WHERE id = ?").run(
            balance,
            customerId,
          );
          if (Number(changes) !== 1) {
            throw new RangeError(`Cannot set the balance of unknown "${customerId}"`);
          }
        },
        getPayment: (orderId) => {
          const row = db.prepare(
            "SELECT order_id, status, customer_id, amount FROM payments WHERE order_id = ?",
          ).get(orderId);
          return row ? toPayment(row) : undefined;
        },
        savePayment: (payment) => {
          db.prepare(
            "INSERT INTO payments (order_id, status, customer_id, amount) VALUES (?, ?, ?, ?) " +
              "ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, " +
              "customer_id = excluded.customer_id, amount = excluded.amount",
          ).run(
            payment.orderId,
            payment.status,
            payment.terms?.customerId ?? null,
            payment.terms?.amount ?? null,
          );
        },
      }));
  }

  /** Whether the database answers a trivial query. */
  ping(): boolean {
    try {
      return this.#db.isOpen && this.#db.prepare("SELECT 1 AS ok").get()?.ok === 1;
    } catch {
      return false;
    }
  }

  /** Closes the database; idempotent. */
  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  /** Closes the database. */
  [Symbol.dispose](): void {
    this.close();
  }
}

function toCustomer(row: Row): Customer {
  return { id: text(row, "id"), name: text(row, "name"), balance: integer(row, "balance") };
}

function toPayment(row: Row): Payment {
  const status = text(row, "status");
  if (!STATUSES.has(status)) throw new TypeError(`Unknown payment status "${status}"`);
  return {
    orderId: text(row, "order_id"),
    status: status as PaymentStatus,
    terms: row.customer_id === null
      ? undefined
      : { customerId: text(row, "customer_id"), amount: integer(row, "amount") },
  };
}
