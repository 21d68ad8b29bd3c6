// A benchmark prints its results.
// deno-lint-ignore-file no-console
/**
 * Appends and reads per second of the SQLite event store, beside the same
 * work done with raw SQL in the same run, on the same file.
 *
 * - **append ×1**: single-event appends with an exact expected version,
 *   spread over 1,000 streams; raw: one `BEGIN IMMEDIATE` / prepared
 *   `INSERT` / `COMMIT` per event.
 * - **append ×100**: batches of 100 events with an exact expected version,
 *   over 100 streams; raw: one transaction per 100 prepared `INSERT`s.
 * - **read stream**: `readStream()` of a whole 10,000-event stream; raw: the
 *   prepared `SELECT … ORDER BY version` with `JSON.parse` of each payload.
 *
 * Event ids are `newEventId()`s (UUIDv7, time-ordered, what Flotilla makes);
 * with random UUIDv4 ids both sides run about three times slower on a large
 * file, each batch dirtying pages all over the id index.
 *
 * Both sides serialise the payload (`JSON.stringify`) and run in one process
 * on a WAL file with `synchronous = NORMAL` (what `openDatabase` sets). The
 * store's side adds what makes it an event store: input checks, the
 * idempotency look-up of the ids, the expected-version check and building
 * the recorded events. Each figure is the best of `--rounds` rounds.
 *
 * Run: `deno run --allow-read --allow-write bench/eventstore_sqlite_bench.ts`
 * (add `--events N` for the appended events per round, `--rounds N`).
 * Target: at least 50,000 events/s in batches of 100.
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import type { DatabaseSync } from "node:sqlite";
import { immediate } from "@flotilla/sqlite";
import { type NewEvent, newEventId, SqliteEventStore } from "@flotilla/eventstore";

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "100000" },
    single: { type: "string", default: "20000" },
    rounds: { type: "string", default: "3" },
    "read-length": { type: "string", default: "10000" },
    reads: { type: "string", default: "10" },
  },
});
const EVENTS = Number(values.events);
const SINGLE = Number(values.single);
const ROUNDS = Number(values.rounds);
const READ_LENGTH = Number(values["read-length"]);
const READS = Number(values.reads);

const RAW_SCHEMA = `
CREATE TABLE IF NOT EXISTS raw_events (
  position INTEGER PRIMARY KEY AUTOINCREMENT,
  stream TEXT NOT NULL,
  version INTEGER NOT NULL,
  id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  metadata TEXT,
  time TEXT NOT NULL,
  UNIQUE (stream, version)
);`;

function payload(n: number) {
  return { orderId: `o-${n}`, total: (n % 100) + 0.5, items: ["TEA-01", "CUP-02"], note: "bench" };
}

function batch(size: number, offset: number): NewEvent[] {
  return Array.from({ length: size }, (_, i) => ({
    id: newEventId(),
    type: "OrderPlaced",
    data: payload(offset + i),
  }));
}

interface Figure {
  readonly name: string;
  readonly events: number;
  readonly storeMs: number;
  readonly rawMs: number;
}

/** Appends `total` events in batches of `size` spread over `streams` streams, through the store. */
async function storeAppends(
  store: SqliteEventStore,
  round: number,
  total: number,
  size: number,
  streams: number,
): Promise<number> {
  const versions = new Map<string, number>();
  const start = performance.now();
  for (let sent = 0, i = 0; sent < total; sent += size, i++) {
    const stream = `store-${round}-${size}-${i % streams}`;
    const expectedVersion = versions.get(stream) ?? -1;
    const result = await store.append(stream, batch(size, sent), { expectedVersion });
    versions.set(stream, result.nextExpectedVersion);
  }
  return performance.now() - start;
}

/** The same appends as raw prepared INSERTs, one transaction per batch. */
function rawAppends(
  db: DatabaseSync,
  round: number,
  total: number,
  size: number,
  streams: number,
): number {
  const insert = db.prepare(
    "INSERT INTO raw_events (stream, version, id, type, data, metadata, time) VALUES (?, ?, ?, ?, ?, ?, ?)",
  );
  const versions = new Map<string, number>();
  const start = performance.now();
  for (let sent = 0, i = 0; sent < total; sent += size, i++) {
    const stream = `raw-${round}-${size}-${i % streams}`;
    const events = batch(size, sent);
    const first = (versions.get(stream) ?? -1) + 1;
    const time = new Date().toISOString();
    immediate(db, () => {
      for (let k = 0; k < events.length; k++) {
        const event = events[k]!;
        insert.run(stream, first + k, event.id, event.type, JSON.stringify(event.data), null, time);
      }
    });
    versions.set(stream, first + size - 1);
  }
  return performance.now() - start;
}

async function storeReads(store: SqliteEventStore, stream: string): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < READS; i++) {
    const events = await store.readStream(stream);
    if (events.length !== READ_LENGTH) throw new Error(`read ${events.length} events`);
  }
  return performance.now() - start;
}

function rawReads(db: DatabaseSync, stream: string): number {
  const select = db.prepare(
    "SELECT position, stream, version, id, type, data, metadata, time FROM events " +
      "WHERE stream = ? ORDER BY version",
  );
  const start = performance.now();
  for (let i = 0; i < READS; i++) {
    const rows = select.all(stream).map((row) => ({ ...row, data: JSON.parse(String(row.data)) }));
    if (rows.length !== READ_LENGTH) throw new Error(`read ${rows.length} rows`);
  }
  return performance.now() - start;
}

const dir = await Deno.makeTempDir({ prefix: "flotilla-eventstore-bench-" });
try {
  await using store = new SqliteEventStore({ path: join(dir, "events.db") });
  store.db.exec(RAW_SCHEMA);
  const readStream = "read-me";
  for (let sent = 0; sent < READ_LENGTH; sent += 100) {
    await store.append(readStream, batch(100, sent), { expectedVersion: sent - 1 });
  }
  const best = new Map<string, Figure>();
  const keep = (figure: Figure) => {
    const known = best.get(figure.name);
    best.set(figure.name, {
      name: figure.name,
      events: figure.events,
      storeMs: Math.min(known?.storeMs ?? Infinity, figure.storeMs),
      rawMs: Math.min(known?.rawMs ?? Infinity, figure.rawMs),
    });
  };
  for (let round = 0; round < ROUNDS; round++) {
    keep({
      name: "append ×1",
      events: SINGLE,
      storeMs: await storeAppends(store, round, SINGLE, 1, 1_000),
      rawMs: rawAppends(store.db, round, SINGLE, 1, 1_000),
    });
    keep({
      name: "append ×100",
      events: EVENTS,
      storeMs: await storeAppends(store, round, EVENTS, 100, 100),
      rawMs: rawAppends(store.db, round, EVENTS, 100, 100),
    });
    keep({
      name: `read stream (${READ_LENGTH})`,
      events: READ_LENGTH * READS,
      storeMs: await storeReads(store, readStream),
      rawMs: rawReads(store.db, readStream),
    });
  }
  const rate = (events: number, ms: number) => Math.round(events / (ms / 1_000));
  const rows = [...best.values()].map((f) => ({
    scenario: f.name,
    events: f.events,
    "store events/s": rate(f.events, f.storeMs),
    "raw events/s": rate(f.events, f.rawMs),
    "store/raw": (f.rawMs / f.storeMs).toFixed(2),
  }));
  console.log(`SQLite event store, best of ${ROUNDS} rounds (${Deno.build.os}/${Deno.build.arch})`);
  console.table(rows);
  const batched = rows.find((r) => r.scenario === "append ×100")!;
  const verdict = batched["store events/s"] >= 50_000 ? "met" : "MISSED";
  console.log(`target ≥ 50,000 events/s batched: ${verdict} (${batched["store events/s"]})`);
} finally {
  await Deno.remove(dir, { recursive: true });
}
