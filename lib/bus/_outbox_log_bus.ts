/**
 * A broker for tests that outlives processes: a SQLite file holding every
 * published copy in arrival order, without dedupe (so a republish is seen
 * as a second copy), plus consumer cursors. Private to the package's tests.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { immediate, integer, openDatabase, text } from "@flotilla/sqlite";
import type {
  Bus,
  DeadLetter,
  DeliveryHandler,
  PublishOptions,
  PublishReceipt,
  SubscribeOptions,
  Subscription,
} from "./bus.ts";
import type { CloudEvent } from "./cloud_event.ts";
import { BusError } from "./errors.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS log (
  pos INTEGER PRIMARY KEY AUTOINCREMENT,
  stream TEXT NOT NULL,
  id TEXT NOT NULL,
  event TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cursors (grp TEXT PRIMARY KEY, pos INTEGER NOT NULL);
`;

/** One stored copy. */
export interface LogEntry {
  /** Arrival position. */
  readonly pos: number;
  /** The stream. */
  readonly stream: string;
  /** The event. */
  readonly event: CloudEvent;
}

/** Options of {@link LogBus}. */
export interface LogBusOptions {
  /** Runs inside the publish transaction after the events are written, before the commit. */
  beforeCommit?: (stream: string, events: readonly CloudEvent[]) => void;
}

/** A non-deduplicating, durable, publish-and-read bus in a SQLite file. */
export class LogBus implements Bus {
  /** Always `log`. */
  readonly kind = "log";
  /** The broker's database. */
  readonly db: DatabaseSync;
  readonly #beforeCommit: LogBusOptions["beforeCommit"];

  /** Opens (creating) the broker file at `path`. */
  constructor(path: string, options: LogBusOptions = {}) {
    this.db = openDatabase(path, { schema: SCHEMA });
    this.#beforeCommit = options.beforeCommit;
  }

  /** Appends every event as a new copy, durably, in one transaction. */
  publish(
    stream: string,
    events: readonly CloudEvent[],
    options: PublishOptions = {},
  ): Promise<PublishReceipt[]> {
    options.signal?.throwIfAborted();
    const insert = this.db.prepare("INSERT INTO log (stream, id, event) VALUES (?, ?, ?)");
    const receipts = immediate(this.db, () => {
      const out = events.map((event): PublishReceipt => {
        const { lastInsertRowid } = insert.run(stream, event.id, JSON.stringify(event));
        return { id: event.id, position: String(lastInsertRowid), duplicate: false };
      });
      this.#beforeCommit?.(stream, events);
      return out;
    });
    return Promise.resolve(receipts);
  }

  /** Not supported: tests read with {@link LogBus.entries}. */
  subscribe(
    _stream: string,
    _handler: DeliveryHandler,
    _options: SubscribeOptions,
  ): Promise<Subscription> {
    return Promise.reject(
      new BusError("BUS_UNAVAILABLE", "Cannot subscribe to a LogBus: read its entries"),
    );
  }

  /** Always empty. */
  deadLetters(): Promise<DeadLetter[]> {
    return Promise.resolve([]);
  }

  /** The copies of `stream` after `after`, in arrival order. */
  read(
    stream: string,
    options: { after?: string; limit?: number } = {},
  ): Promise<Array<{ position: string; event: CloudEvent }>> {
    const rows = this.entries(Number(options.after ?? 0), options.limit)
      .filter((entry) => entry.stream === stream);
    return Promise.resolve(rows.map((row) => ({ position: String(row.pos), event: row.event })));
  }

  /** Every copy after `after`, in arrival order. */
  entries(after = 0, limit = Number.MAX_SAFE_INTEGER): LogEntry[] {
    return this.db.prepare("SELECT pos, stream, event FROM log WHERE pos > ? ORDER BY pos LIMIT ?")
      .all(after, limit)
      .map((row) => ({
        pos: integer(row, "pos"),
        stream: text(row, "stream"),
        event: JSON.parse(text(row, "event")) as CloudEvent,
      }));
  }

  /** The position a consumer group acknowledged up to (0 at first). */
  cursor(group: string): number {
    const row = this.db.prepare("SELECT pos FROM cursors WHERE grp = ?").get(group);
    return row === undefined ? 0 : integer(row, "pos");
  }

  /** Acknowledges up to `pos` for `group`. */
  ack(group: string, pos: number): void {
    immediate(this.db, () =>
      this.db.prepare(
        "INSERT INTO cursors (grp, pos) VALUES (?, ?) ON CONFLICT (grp) DO UPDATE SET pos = excluded.pos",
      ).run(group, pos));
  }

  /** Closes the file. */
  [Symbol.asyncDispose](): Promise<void> {
    if (this.db.isOpen) this.db.close();
    return Promise.resolve();
  }
}
