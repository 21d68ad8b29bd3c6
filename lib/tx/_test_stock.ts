/**
 * Test support: a stock participant over SQLite (available units, holds per
 * transaction), in process or behind a scriptable "network". Private to the tests.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import type { Clock } from "@flotilla/core";
import { integer } from "@flotilla/sqlite";
import { RejectedError } from "./errors.ts";
import { SqliteTccParticipant } from "./tcc_participant.ts";

/** The Try input of the stock participant. */
export interface Hold {
  sku: string;
  quantity: number;
}

/** A stock participant on a fresh in-memory database holding `available` units of TEA. */
export function stockParticipant(
  options: {
    name?: string;
    clock?: Clock;
    tryTimeoutMs?: number;
    available?: number;
    db?: DatabaseSync;
  } = {},
): {
  participant: SqliteTccParticipant<Hold>;
  db: DatabaseSync;
  available: () => number;
  held: () => number;
  sold: () => number;
  calls: { try: number; confirm: number; cancel: number };
} {
  const db = options.db ?? new DatabaseSync(":memory:");
  db.exec(`
    CREATE TABLE IF NOT EXISTS stock (sku TEXT PRIMARY KEY, available INTEGER NOT NULL, sold INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS holds (tx_id TEXT PRIMARY KEY, sku TEXT NOT NULL, quantity INTEGER NOT NULL);
    INSERT OR IGNORE INTO stock VALUES ('TEA', ${options.available ?? 10}, 0);
  `);
  const calls = { try: 0, confirm: 0, cancel: 0 };
  const participant = new SqliteTccParticipant<Hold>({
    name: options.name ?? "inventory",
    db,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.tryTimeoutMs === undefined ? {} : { tryTimeoutMs: options.tryTimeoutMs }),
    try(db, { txId, input }) {
      calls.try++;
      const { changes } = db.prepare(
        "UPDATE stock SET available = available - ? WHERE sku = ? AND available >= ?",
      ).run(input.quantity, input.sku, input.quantity);
      if (Number(changes) === 0) throw new RejectedError("OUT_OF_STOCK", `Not enough ${input.sku}`);
      db.prepare("INSERT INTO holds VALUES (?, ?, ?)").run(txId, input.sku, input.quantity);
    },
    confirm(db, { txId, input }) {
      calls.confirm++;
      db.prepare("UPDATE stock SET sold = sold + ? WHERE sku = ?").run(input.quantity, input.sku);
      db.prepare("DELETE FROM holds WHERE tx_id = ?").run(txId);
    },
    cancel(db, { txId, input }) {
      calls.cancel++;
      db.prepare("UPDATE stock SET available = available + ? WHERE sku = ?").run(
        input.quantity,
        input.sku,
      );
      db.prepare("DELETE FROM holds WHERE tx_id = ?").run(txId);
    },
  });
  const read = (sql: string) => integer(db.prepare(sql).get() ?? { n: 0 }, "n");
  return {
    participant,
    db,
    available: () => read("SELECT available AS n FROM stock WHERE sku = 'TEA'"),
    held: () => read("SELECT coalesce(sum(quantity), 0) AS n FROM holds"),
    sold: () => read("SELECT sold AS n FROM stock WHERE sku = 'TEA'"),
    calls,
  };
}
