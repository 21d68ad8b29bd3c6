/**
 * Test support of `projection_test.ts`: the `ledger` projection (a read
 * model that double application would visibly corrupt: counters and sums),
 * its fold from zero in plain code, and — run as a script — a projector
 * process for the crash test, killed by the test while it catches up.
 * Private to the tests.
 *
 * Run as `deno run -A _projection_child.ts <events.db> <read-model.db> <batchSize>`.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { openDatabase } from "@flotilla/sqlite";
import type { RecordedEvent } from "./event_store.ts";
import { defineSqliteProjection, type SqliteProjection, SqliteProjector } from "./projection.ts";
import { SqliteEventStore } from "./sqlite_event_store.ts";

/** A row of `ledger_accounts`. */
export interface LedgerAccount {
  /** The stream. */
  stream: string;
  /** Events applied to it. */
  events: number;
  /** Deposits minus withdrawals (times the projection's factor). */
  balance: number;
  /** Version of its last event applied. */
  last_version: number;
}

/** The whole read model of {@link ledgerProjection}. */
export interface LedgerDump {
  /** One row per stream, by stream. */
  accounts: LedgerAccount[];
  /** `events`, `sum` (and `checksum`: Σ position × amount), by key. */
  totals: { key: string; value: number }[];
}

/** The amount of a `Deposited` (+) or `Withdrawn` (−) event; undefined for other types. */
export function amountOf(event: RecordedEvent, factor = 1): number | undefined {
  if (event.type !== "Deposited" && event.type !== "Withdrawn") return undefined;
  const { amount } = event.data as { amount: number };
  return (event.type === "Deposited" ? amount : -amount) * factor;
}

/** The ledger projection; `factor` multiplies amounts (a "v2" with other logic). */
export function ledgerProjection(
  options: { name?: string; version?: number; factor?: number } = {},
): SqliteProjection {
  const factor = options.factor ?? 1;
  return defineSqliteProjection({
    name: options.name ?? "ledger",
    ...(options.version === undefined ? {} : { version: options.version }),
    setup(db) {
      db.exec(`
        CREATE TABLE IF NOT EXISTS ledger_accounts (
          stream TEXT PRIMARY KEY,
          events INTEGER NOT NULL,
          balance INTEGER NOT NULL,
          last_version INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS ledger_totals (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
      `);
    },
    reset(db) {
      db.exec("DELETE FROM ledger_accounts; DELETE FROM ledger_totals;");
    },
    apply(db, event) {
      const amount = amountOf(event, factor);
      if (amount === undefined) return;
      db.prepare(
        "INSERT INTO ledger_accounts VALUES (?, 1, ?, ?) ON CONFLICT (stream) DO UPDATE SET " +
          "events = events + 1, balance = balance + excluded.balance, " +
          "last_version = excluded.last_version",
      ).run(event.stream, amount, event.version);
      const add = db.prepare(
        "INSERT INTO ledger_totals VALUES (?, ?) " +
          "ON CONFLICT (key) DO UPDATE SET value = value + excluded.value",
      );
      add.run("events", 1);
      add.run("sum", amount);
      add.run("checksum", Number(event.position) * amount);
    },
  });
}

/** The read model of {@link ledgerProjection} as plain rows. */
export function dumpLedger(db: DatabaseSync): LedgerDump {
  return {
    accounts: db.prepare("SELECT * FROM ledger_accounts ORDER BY stream").all()
      .map((row) => ({ ...row }) as unknown as LedgerAccount),
    totals: db.prepare("SELECT key, value FROM ledger_totals ORDER BY key").all()
      .map((row) => ({ ...row }) as unknown as { key: string; value: number }),
  };
}

/** What {@link ledgerProjection} must hold after applying `events` once each, computed in plain code. */
export function foldLedger(events: readonly RecordedEvent[], factor = 1): LedgerDump {
  const accounts = new Map<string, LedgerAccount>();
  const totals = new Map<string, number>();
  for (const event of events) {
    const amount = amountOf(event, factor);
    if (amount === undefined) continue;
    const account = accounts.get(event.stream) ??
      { stream: event.stream, events: 0, balance: 0, last_version: 0 };
    account.events++;
    account.balance += amount;
    account.last_version = event.version;
    accounts.set(event.stream, account);
    totals.set("events", (totals.get("events") ?? 0) + 1);
    totals.set("sum", (totals.get("sum") ?? 0) + amount);
    totals.set("checksum", (totals.get("checksum") ?? 0) + Number(event.position) * amount);
  }
  const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return {
    accounts: [...accounts.values()].sort((a, b) => byKey(a.stream, b.stream)),
    totals: [...totals].map(([key, value]) => ({ key, value })).sort((a, b) => byKey(a.key, b.key)),
  };
}

if (import.meta.main) {
  const [storePath, modelPath, batchSize] = Deno.args;
  if (storePath === undefined || modelPath === undefined || batchSize === undefined) {
    throw new TypeError("usage: _projection_child.ts <events.db> <read-model.db> <batchSize>");
  }
  const store = new SqliteEventStore({ path: storePath });
  const db = openDatabase(modelPath);
  const projector = await SqliteProjector.start({
    store,
    db,
    projection: ledgerProjection(),
    batchSize: Number(batchSize),
  });
  // Runs until killed.
  await projector.closed;
}
