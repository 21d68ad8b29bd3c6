/**
 * The inventory's SQLite store, through `node:sqlite`.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { Product } from "../../contracts/mod.ts";
import type { InventoryStore, InventoryTransaction, TccBarrier, TccWork } from "../app/ports.ts";
import type { Hold, HoldStatus } from "../domain/hold.ts";
import type {
  Reservation,
  ReservationLine,
  ReservationStatus,
  StockLevel,
  StockLevels,
} from "../domain/reservation.ts";
import { immediate, integer, openDatabase, type Row, text } from "@flotilla/sqlite";
import { SqliteTccParticipant } from "@flotilla/tx";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS products (
  sku   TEXT PRIMARY KEY,
  name  TEXT NOT NULL,
  price INTEGER NOT NULL CHECK (price >= 0),
  stock INTEGER NOT NULL CHECK (stock >= 0),
  version INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0)
) STRICT;
CREATE TABLE IF NOT EXISTS reservations (
  order_id TEXT PRIMARY KEY,
  status   TEXT NOT NULL CHECK (status IN ('RESERVED', 'RELEASED', 'TOMBSTONE')),
  items    TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS holds (
  tx_id  TEXT PRIMARY KEY,
  status TEXT NOT NULL CHECK (status IN ('HELD', 'SOLD', 'RELEASED')),
  items  TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
`;

const STATUSES: ReadonlySet<string> = new Set(["RESERVED", "RELEASED", "TOMBSTONE"]);
const HOLD_STATUSES: ReadonlySet<string> = new Set(["HELD", "SOLD", "RELEASED"]);

/**
 * Products, reservations and TCC holds in one SQLite file. Every
 * read-decide-write runs in a `BEGIN IMMEDIATE` transaction; the schema is
 * created on open if missing (the TCC barrier table by
 * {@link tccParticipant}), and a database of an earlier version gains the
 * columns added since (`products.version`, 0 for existing rows). Dispose it (or call {@link close}) to close the database.
 *
 * @example
 * ```ts
 * using store = SqliteInventoryStore.open(`${dataDir}/inventory.db`);
 * store.seed(SEED_PRODUCTS); // only on the first start
 * ```
 */
export class SqliteInventoryStore implements InventoryStore, Disposable {
  readonly #db: DatabaseSync;

  private constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Opens (creating if needed) the database file at `path`. */
  static open(path: string): SqliteInventoryStore {
    const db = openDatabase(path, { schema: SCHEMA });
    try {
      migrate(db);
    } catch (error) {
      db.close();
      throw error;
    }
    return new SqliteInventoryStore(db);
  }

  /**
   * The store's database connection, for the transactional outbox whose
   * emitter the service calls inside {@link transaction}.
   *
   * @example
   * ```ts
   * const emit = node.outbox(store.database, { stream: STREAMS.inventory });
   * ```
   */
  get database(): DatabaseSync {
    return this.#db;
  }

  /**
   * Writes `products` if this database was never seeded; returns whether it
   * did. A later start keeps the data, even if every product was removed.
   */
  seed(products: readonly Product[]): boolean {
    return immediate(this.#db, () => {
      const seeded = this.#db.prepare("SELECT 1 FROM meta WHERE key = 'seeded'").get();
      if (seeded) return false;
      const insert = this.#db.prepare(
        "INSERT OR IGNORE INTO products (sku, name, price, stock) VALUES (?, ?, ?, ?)",
      );
      for (const p of products) insert.run(p.sku, p.name, p.price, p.stock);
      this.#db.prepare("INSERT INTO meta (key, value) VALUES ('seeded', ?)").run(
        String(products.length),
      );
      return true;
    });
  }

  /** Every product, ordered by sku. */
  listProducts(): Product[] {
    return this.#db.prepare("SELECT sku, name, price, stock FROM products ORDER BY sku")
      .all().map(toProduct);
  }

  /** The known products among `skus`, in the order asked, each once. */
  getProducts(skus: readonly string[]): Product[] {
    const select = this.#db.prepare("SELECT sku, name, price, stock FROM products WHERE sku = ?");
    return [...new Set(skus)].flatMap((sku) => {
      const row = select.get(sku);
      return row ? [toProduct(row)] : [];
    });
  }

  /** Runs `work` inside `BEGIN IMMEDIATE … COMMIT`; rolls back if it throws. */
  transaction<T>(work: (tx: InventoryTransaction) => T): T {
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
   * const barrier = store.tccParticipant({ name: "inventory", try(tx, { input }) {…}, confirm…, cancel… });
   * barrier.try("o-1", { items }); // "TRIED"
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
  #openTransaction(): InventoryTransaction {
    const db = this.#db;
    if (!db.isTransaction) {
      throw new Error("Cannot work on the inventory outside a transaction");
    }
    return {
      getReservation: (orderId) => {
        const row = db.prepare(
          "SELECT order_id, status, items FROM reservations WHERE order_id = ?",
        )
          .get(orderId);
        return row ? toReservation(row) : undefined;
      },
      getStock: (skus) => {
        const select = db.prepare("SELECT stock, version FROM products WHERE sku = ?");
        const levels = new Map<string, StockLevel>();
        for (const sku of skus) {
          const row = select.get(sku);
          if (row) {
            levels.set(sku, { stock: integer(row, "stock"), version: integer(row, "version") });
          }
        }
        return levels;
      },
      setStock: (levels: StockLevels) => {
        // A figure only moves forward: an update at a version not above the stored one is a bug.
        const update = db.prepare(
          "UPDATE products SET stock = ?, version = ? WHERE sku = ? AND version < ?",
        );
        const stored = db.prepare("SELECT version FROM products WHERE sku = ?");
        for (const [sku, { stock, version }] of levels) {
          if (Number(update.run(stock, version, sku, version).changes) === 1) continue;
          const row = stored.get(sku);
          if (row) {
            throw new RangeError(
              `Cannot set the stock of "${sku}" at version ${version} as it is at version ${
                integer(row, "version")
              }`,
            );
          }
        }
      },
      saveReservation: (reservation) => {
        db.prepare(
          "INSERT INTO reservations (order_id, status, items) VALUES (?, ?, ?) " +
            "ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, items = excluded.items",
        ).run(reservation.orderId, reservation.status, JSON.stringify(reservation.items));
      },
      getHold: (txId) => {
        const row = db.prepare("SELECT tx_id, status, items FROM holds WHERE tx_id = ?").get(txId);
        return row ? toHold(row) : undefined;
      },
      saveHold: (hold) => {
        db.prepare(
          "INSERT INTO holds (tx_id, status, items) VALUES (?, ?, ?) " +
            "ON CONFLICT (tx_id) DO UPDATE SET status = excluded.status, items = excluded.items",
        ).run(hold.txId, hold.status, JSON.stringify(hold.items));
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
      db.prepare("SELECT name FROM pragma_table_info('products')").all().map((row) =>
        text(row, "name")
      ),
    );
    if (!columns.has("version")) {
      db.exec(
        "ALTER TABLE products ADD COLUMN version INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0)",
      );
    }
  });
}

function toProduct(row: Row): Product {
  return {
    sku: text(row, "sku"),
    name: text(row, "name"),
    price: integer(row, "price"),
    stock: integer(row, "stock"),
  };
}

function toReservation(row: Row): Reservation {
  const status = text(row, "status");
  if (!STATUSES.has(status)) throw new TypeError(`Unknown reservation status "${status}"`);
  const items = JSON.parse(text(row, "items")) as unknown;
  if (!Array.isArray(items) || !items.every(isLine)) {
    throw new TypeError(`Cannot read the items of reservation "${text(row, "order_id")}"`);
  }
  return { orderId: text(row, "order_id"), status: status as ReservationStatus, items };
}

function toHold(row: Row): Hold {
  const status = text(row, "status");
  if (!HOLD_STATUSES.has(status)) throw new TypeError(`Unknown hold status "${status}"`);
  const items = JSON.parse(text(row, "items")) as unknown;
  if (!Array.isArray(items) || !items.every(isLine)) {
    throw new TypeError(`Cannot read the items of hold "${text(row, "tx_id")}"`);
  }
  return { txId: text(row, "tx_id"), status: status as HoldStatus, items };
}

function isLine(value: unknown): value is ReservationLine {
  const line = value as Partial<ReservationLine> | null;
  return typeof line?.sku === "string" && Number.isSafeInteger(line.quantity);
}
