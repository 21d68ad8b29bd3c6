/**
 * The order service's SQLite store, through `node:sqlite`.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type {
  CreateOutcome,
  IdempotencyRecord,
  KeyedOrder,
  OrderQuery,
  OrderStore,
  OrderWriteOptions,
} from "../app/ports.ts";
import type { CancelReason, Order, OrderLine, OrderStatus } from "../domain/order.ts";
import { orderNotFound } from "../errors.ts";
import { emitOrderEvents } from "./_emit_order_events.ts";
import { immediate, integer, openDatabase, type Row, text } from "@flotilla/sqlite";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS orders (
  order_id        TEXT PRIMARY KEY,
  customer_id     TEXT NOT NULL,
  items           TEXT NOT NULL,
  total           INTEGER NOT NULL CHECK (total >= 0),
  status          TEXT NOT NULL CHECK (status IN ('PENDING', 'CONFIRMED', 'CANCELLED')),
  reason          TEXT CHECK (reason IN ('OUT_OF_STOCK', 'INSUFFICIENT_FUNDS')),
  cancelling      TEXT CHECK (cancelling IN ('OUT_OF_STOCK', 'INSUFFICIENT_FUNDS')),
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL,
  idempotency_key TEXT UNIQUE,
  fingerprint     TEXT,
  CHECK ((idempotency_key IS NULL) = (fingerprint IS NULL)),
  CHECK ((status = 'CANCELLED') = (reason IS NOT NULL)),
  CHECK (cancelling IS NULL OR status = 'PENDING')
) STRICT;
CREATE INDEX IF NOT EXISTS orders_newest ON orders (created_at DESC, order_id);
CREATE INDEX IF NOT EXISTS orders_by_customer ON orders (customer_id, created_at DESC, order_id);
CREATE INDEX IF NOT EXISTS orders_pending ON orders (created_at) WHERE status = 'PENDING';
`;

const COLUMNS =
  "order_id, customer_id, items, total, status, reason, cancelling, created_at, updated_at";
const STATUSES: ReadonlySet<string> = new Set(["PENDING", "CONFIRMED", "CANCELLED"]);
const REASONS: ReadonlySet<string> = new Set(["OUT_OF_STOCK", "INSUFFICIENT_FUNDS"]);

/**
 * Orders in one SQLite file. Creation checks the idempotency key and inserts
 * in one `BEGIN IMMEDIATE` transaction (and the key is `UNIQUE`), and every
 * update is a read-change-write in one; each emits the events of its change
 * in its transaction, so with the outbox of {@link database} behind the
 * emitter, the order and its events commit together. Dispose it (or call
 * {@link close}) to close the database.
 *
 * @example
 * ```ts
 * using store = SqliteOrderStore.open(`${dataDir}/order.db`);
 * store.listPending(); // what a crash left behind
 * ```
 */
export class SqliteOrderStore implements OrderStore, Disposable {
  readonly #db: DatabaseSync;

  private constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Opens (creating if needed) the database file at `path`. */
  static open(path: string): SqliteOrderStore {
    return new SqliteOrderStore(openDatabase(path, { schema: SCHEMA }));
  }

  /**
   * The store's database connection, for the transactional outbox whose
   * emitter is passed to {@link create} and {@link update}.
   *
   * @example
   * ```ts
   * const emit = node.outbox(store.database, { stream: STREAMS.order });
   * ```
   */
  get database(): DatabaseSync {
    return this.#db;
  }

  /** Inserts the order unless its key is taken, and emits `order.created`, atomically. */
  create(
    order: Order,
    idempotency?: IdempotencyRecord,
    options: OrderWriteOptions = {},
  ): CreateOutcome {
    return immediate(this.#db, (): CreateOutcome => {
      if (idempotency) {
        const existing = this.findByIdempotencyKey(idempotency.key);
        if (existing) return { type: "duplicate", existing };
      }
      this.#db.prepare(
        `INSERT INTO orders (${COLUMNS}, idempotency_key, fingerprint) ` +
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ).run(
        order.orderId,
        order.customerId,
        JSON.stringify(order.items),
        order.total,
        order.status,
        order.reason ?? null,
        order.cancelling ?? null,
        order.createdAt,
        order.updatedAt,
        idempotency?.key ?? null,
        idempotency?.fingerprint ?? null,
      );
      emitOrderEvents(options, undefined, order);
      return { type: "created", order };
    });
  }

  /** The order created with `key`, if any. */
  findByIdempotencyKey(key: string): KeyedOrder | undefined {
    const row = this.#db.prepare(
      `SELECT ${COLUMNS}, fingerprint FROM orders WHERE idempotency_key = ?`,
    ).get(key);
    return row ? { order: toOrder(row), fingerprint: text(row, "fingerprint") } : undefined;
  }

  /** One order, if any. */
  get(orderId: string): Order | undefined {
    const row = this.#db.prepare(`SELECT ${COLUMNS} FROM orders WHERE order_id = ?`).get(orderId);
    return row ? toOrder(row) : undefined;
  }

  /** Reads, changes and writes the order, and emits its events, in one `BEGIN IMMEDIATE` transaction. */
  update(orderId: string, change: (order: Order) => Order, options: OrderWriteOptions = {}): Order {
    return immediate(this.#db, () => {
      const order = this.get(orderId);
      if (!order) throw orderNotFound(orderId);
      const next = change(order);
      if (next === order) return order;
      if (next.orderId !== orderId) throw new Error("Cannot change an order's id");
      this.#db.prepare(
        "UPDATE orders SET status = ?, reason = ?, cancelling = ?, updated_at = ? " +
          "WHERE order_id = ?",
      ).run(next.status, next.reason ?? null, next.cancelling ?? null, next.updatedAt, orderId);
      emitOrderEvents(options, order, next);
      return next;
    });
  }

  /** Orders newest first, then by id. */
  list(query: OrderQuery): Order[] {
    const rows = query.customerId === undefined
      ? this.#db.prepare(
        `SELECT ${COLUMNS} FROM orders ORDER BY created_at DESC, order_id LIMIT ?`,
      ).all(query.limit)
      : this.#db.prepare(
        `SELECT ${COLUMNS} FROM orders WHERE customer_id = ? ` +
          "ORDER BY created_at DESC, order_id LIMIT ?",
      ).all(query.customerId, query.limit);
    return rows.map(toOrder);
  }

  /** Pending orders, oldest first. */
  listPending(): Order[] {
    return this.#db.prepare(
      `SELECT ${COLUMNS} FROM orders WHERE status = 'PENDING' ORDER BY created_at, order_id`,
    ).all().map(toOrder);
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

function toOrder(row: Row): Order {
  const orderId = text(row, "order_id");
  const status = text(row, "status");
  if (!STATUSES.has(status)) throw new TypeError(`Order "${orderId}" has status "${status}"`);
  const items = JSON.parse(text(row, "items")) as unknown;
  if (!Array.isArray(items) || !items.every(isLine)) {
    throw new TypeError(`Cannot read the items of order "${orderId}"`);
  }
  return {
    orderId,
    customerId: text(row, "customer_id"),
    items,
    total: integer(row, "total"),
    status: status as OrderStatus,
    reason: reason(row, "reason"),
    cancelling: reason(row, "cancelling"),
    createdAt: text(row, "created_at"),
    updatedAt: text(row, "updated_at"),
  };
}

function reason(row: Row, column: string): CancelReason | undefined {
  if (row[column] === null) return undefined;
  const value = text(row, column);
  if (!REASONS.has(value)) throw new TypeError(`Unknown cancel reason "${value}"`);
  return value as CancelReason;
}

function isLine(value: unknown): value is OrderLine {
  const line = value as Partial<OrderLine> | null;
  return typeof line?.sku === "string" && Number.isSafeInteger(line.quantity) &&
    Number.isSafeInteger(line.price);
}
