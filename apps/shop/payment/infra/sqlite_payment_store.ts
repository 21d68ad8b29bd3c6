/**
 * The payment service's SQLite store, through `node:sqlite`.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { Customer } from "../../contracts/mod.ts";
import type { PaymentStore, PaymentTransaction, TccBarrier, TccWork } from "../app/ports.ts";
import type { PaymentHold, PaymentHoldStatus } from "../domain/hold.ts";
import type { Payment, PaymentStatus } from "../domain/payment.ts";
import { immediate, integer, openDatabase, type Row, text } from "@flotilla/sqlite";
import { SqliteTccParticipant } from "@flotilla/tx";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS customers (
  id      TEXT PRIMARY KEY,
  name    TEXT NOT NULL,
  balance INTEGER NOT NULL CHECK (balance >= 0),
  version INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0)
) STRICT;
CREATE TABLE IF NOT EXISTS payments (
  order_id    TEXT PRIMARY KEY,
  status      TEXT NOT NULL CHECK (status IN ('CHARGED', 'DECLINED', 'REFUNDED', 'VOIDED')),
  customer_id TEXT,
  amount      INTEGER CHECK (amount >= 0),
  CHECK ((customer_id IS NULL) = (amount IS NULL)),
  CHECK (customer_id IS NOT NULL OR status = 'VOIDED')
) STRICT;
CREATE TABLE IF NOT EXISTS payment_holds (
  tx_id       TEXT PRIMARY KEY,
  status      TEXT NOT NULL CHECK (status IN ('HELD', 'CHARGED', 'RELEASED')),
  customer_id TEXT NOT NULL,
  amount      INTEGER NOT NULL CHECK (amount >= 0)
) STRICT;
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
`;

const STATUSES: ReadonlySet<string> = new Set(["CHARGED", "DECLINED", "REFUNDED", "VOIDED"]);
const HOLD_STATUSES: ReadonlySet<string> = new Set(["HELD", "CHARGED", "RELEASED"]);

/**
 * Wallets, payments and TCC holds in one SQLite file (the TCC barrier table
 * is created by {@link tccParticipant}). Every read-decide-write runs in a
 * `BEGIN IMMEDIATE` transaction; the schema is created on open if missing (a
 * database of an earlier version gains the columns added since:
 * `customers.version`, 0 for existing rows),
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
    const db = openDatabase(path, { schema: SCHEMA });
    try {
      migrate(db);
    } catch (error) {
      db.close();
      throw error;
    }
    return new SqlitePaymentStore(db);
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
    return immediate(this.#db, () => work(this.#openTransaction()));
  }

  /**
   * A TCC participant (`SqliteTccParticipant`, barrier table `tcc_barrier`)
   * on this database: each callback of `work` runs on the barrier's own
   * `BEGIN IMMEDIATE` transaction, so the hold and the barrier row commit or
   * roll back together.
   *
   * @example
   * ```ts
   * const barrier = store.tccParticipant({ name: "payment", try(tx, { input }) {…}, confirm…, cancel… });
   * barrier.try("o-1", { customerId: "alice", amount: 850 }); // "TRIED"
   * ```
   */
  tccParticipant<I>(work: TccWork<I>): TccBarrier<I> {
    return new SqliteTccParticipant<I>({
      name: work.name,
      db: this.#db,
      ...(work.tryTimeoutMs === undefined ? {} : { tryTimeoutMs: work.tryTimeoutMs }),
      ...(work.clock === undefined ? {} : { clock: work.clock }),
      try: (_db, ctx) => work.try(this.#openTransaction(), ctx),
      confirm: (_db, ctx) => work.confirm(this.#openTransaction(), ctx),
      cancel: (_db, ctx) => work.cancel(this.#openTransaction(), ctx),
    });
  }

  /**
   * The reads and writes of a transaction, on the one already open on the
   * connection (by {@link transaction} or by the TCC barrier): opens none.
   */
  #openTransaction(): PaymentTransaction {
    const db = this.#db;
    if (!db.isTransaction) throw new Error("Cannot work on the payments outside a transaction");
    return {
      getCustomer: (customerId) => this.getCustomer(customerId),
      getWallet: (customerId) => {
        const row = db.prepare("SELECT balance, version FROM customers WHERE id = ?").get(
          customerId,
        );
        return row
          ? { balance: integer(row, "balance"), version: integer(row, "version") }
          : undefined;
      },
      setBalance: (customerId, { balance, version }) => {
        // A balance only moves forward: an update at a version not above the stored one is a bug.
        const { changes } = db.prepare(
          "UPDATE customers SET balance = ?, version = ? WHERE id = ? AND version < ?",
        ).run(balance, version, customerId, version);
        if (Number(changes) === 1) return;
        const row = db.prepare("SELECT version FROM customers WHERE id = ?").get(customerId);
        throw new RangeError(
          row
            ? `Cannot set the balance of "${customerId}" at version ${version} as it is at version ${
              integer(row, "version")
            }`
            : `Cannot set the balance of unknown "${customerId}"`,
        );
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
      getHold: (txId) => {
        const row = db.prepare(
          "SELECT tx_id, status, customer_id, amount FROM payment_holds WHERE tx_id = ?",
        ).get(txId);
        return row ? toHold(row) : undefined;
      },
      saveHold: (hold) => {
        db.prepare(
          "INSERT INTO payment_holds (tx_id, status, customer_id, amount) VALUES (?, ?, ?, ?) " +
            "ON CONFLICT (tx_id) DO UPDATE SET status = excluded.status, " +
            "customer_id = excluded.customer_id, amount = excluded.amount",
        ).run(hold.txId, hold.status, hold.customerId, hold.amount);
      },
    };
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

/**
 * Brings a database written by an earlier version up to {@link SCHEMA}:
 * `CREATE TABLE IF NOT EXISTS` leaves an existing table as it was, so columns
 * added since are added here (existing rows get their default).
 */
function migrate(db: DatabaseSync): void {
  // Under the write lock, so two processes opening the same file add the column once.
  immediate(db, () => {
    const columns = new Set(
      db.prepare("SELECT name FROM pragma_table_info('customers')").all().map((row) =>
        text(row, "name")
      ),
    );
    if (!columns.has("version")) {
      db.exec(
        "ALTER TABLE customers ADD COLUMN version INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0)",
      );
    }
  });
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

function toHold(row: Row): PaymentHold {
  const status = text(row, "status");
  if (!HOLD_STATUSES.has(status)) throw new TypeError(`Unknown payment hold status "${status}"`);
  return {
    txId: text(row, "tx_id"),
    status: status as PaymentHoldStatus,
    customerId: text(row, "customer_id"),
    amount: integer(row, "amount"),
  };
}
