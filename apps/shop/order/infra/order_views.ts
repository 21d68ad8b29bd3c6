/**
 * The orders projection: a table of orders in SQLite, built from the
 * order events in the event store's global order, that serves
 * `getOrder`, `listOrders` and the recovery's pending orders.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { defineSqliteProjection, type RecordedEvent } from "@flotilla/eventstore";
import type { OrderView } from "../../contracts/mod.ts";
import { evolveOrder, type Order, ORDER_EVENT_TYPES, type OrderEvent } from "../domain/order.ts";
import { toOrderView } from "../app/order_view.ts";
import type { OrderQuery, OrderViews } from "../app/ports.ts";

const ORDER_TYPES: ReadonlySet<string> = new Set(ORDER_EVENT_TYPES);
const STREAM_PREFIX = "order-";

/**
 * The projection: each order event folds into the order's row with the
 * domain's own `evolveOrder`, so the row is the order the aggregate would
 * load (and a rebuild from zero gives the same table).
 */
export const orderViewsProjection = defineSqliteProjection({
  name: "order_views",
  version: 1,
  setup(db) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS order_views (
        order_id    TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL,
        status      TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        state       TEXT NOT NULL
      ) STRICT;
      CREATE INDEX IF NOT EXISTS order_views_by_time
        ON order_views (created_at DESC, order_id);
      CREATE INDEX IF NOT EXISTS order_views_by_customer
        ON order_views (customer_id, created_at DESC, order_id);
      CREATE INDEX IF NOT EXISTS order_views_pending
        ON order_views (updated_at) WHERE status = 'PENDING';
    `);
  },
  reset(db) {
    db.exec("DELETE FROM order_views");
  },
  apply(db, event) {
    if (!ORDER_TYPES.has(event.type) || !event.stream.startsWith(STREAM_PREFIX)) return;
    const orderId = event.stream.slice(STREAM_PREFIX.length);
    const row = db.prepare("SELECT state FROM order_views WHERE order_id = ?").get(orderId) as
      | { state: string }
      | undefined;
    const before = row === undefined ? undefined : JSON.parse(row.state) as Order;
    const after = evolveOrder(before, domainEvent(event));
    if (after === undefined) return;
    db.prepare(
      `INSERT INTO order_views (order_id, customer_id, status, created_at, updated_at, state)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (order_id) DO UPDATE SET
         status = excluded.status, updated_at = excluded.updated_at, state = excluded.state`,
    ).run(
      orderId,
      after.customerId,
      after.status,
      after.createdAt,
      after.updatedAt,
      JSON.stringify(after),
    );
  },
});

function domainEvent(event: RecordedEvent): OrderEvent {
  return { type: event.type, data: event.data } as OrderEvent;
}

/**
 * The {@link OrderViews} of the projection's table in `db` (which the
 * projector keeps up to date).
 *
 * @example
 * ```ts
 * const views = new SqliteOrderViews(db);
 * views.list({ customerId: "alice", limit: 10 });
 * ```
 */
export class SqliteOrderViews implements OrderViews {
  readonly #db: DatabaseSync;

  /** Reads the projection's table in `db`, creating it if missing. */
  constructor(db: DatabaseSync) {
    this.#db = db;
    orderViewsProjection.setup(db);
  }

  get(orderId: string): OrderView | undefined {
    const row = this.#db.prepare("SELECT state FROM order_views WHERE order_id = ?").get(
      orderId,
    ) as { state: string } | undefined;
    return row === undefined ? undefined : view(row);
  }

  list(query: OrderQuery): OrderView[] {
    const rows = query.customerId === undefined
      ? this.#db.prepare(
        "SELECT state FROM order_views ORDER BY created_at DESC, order_id LIMIT ?",
      ).all(query.limit)
      : this.#db.prepare(
        `SELECT state FROM order_views WHERE customer_id = ?
         ORDER BY created_at DESC, order_id LIMIT ?`,
      ).all(query.customerId, query.limit);
    return (rows as { state: string }[]).map(view);
  }

  listPending(): OrderView[] {
    const rows = this.#db.prepare(
      "SELECT state FROM order_views WHERE status = 'PENDING' ORDER BY updated_at, order_id",
    ).all() as { state: string }[];
    return rows.map(view);
  }

  ping(): boolean {
    try {
      this.#db.prepare("SELECT 1").get();
      return true;
    } catch {
      return false;
    }
  }
}

function view(row: { state: string }): OrderView {
  return toOrderView(JSON.parse(row.state) as Order);
}
