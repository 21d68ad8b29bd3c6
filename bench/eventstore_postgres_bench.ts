// A benchmark prints its results.
// deno-lint-ignore-file no-console
/**
 * Appends and reads per second of the PostgreSQL event store, beside the
 * same work done with raw SQL through the same driver (postgres.js) in the
 * same run, against the same server: a private one started here (`initdb`
 * in a temporary folder), or `--url`.
 *
 * - **append ×1**: single-event appends with an exact expected version,
 *   spread over 1,000 streams; raw: one prepared single-row `INSERT` per
 *   event (its own transaction).
 * - **append ×100**: batches of 100 events with an exact expected version,
 *   over 100 streams; raw: one prepared multi-row `INSERT … VALUES (…), …`
 *   of the 100 rows per statement.
 * - **read stream**: `readStream()` of a whole 10,000-event stream; raw: the
 *   prepared `SELECT … WHERE stream = $1 ORDER BY version` (postgres.js
 *   parses the `jsonb` payloads on both sides).
 *
 * The raw table has the store's columns and indexes (`raw_events`: primary
 * key, `UNIQUE (stream, version)`, `UNIQUE (id)`, `jsonb` payloads). Both
 * sides serialise the payload (`JSON.stringify`) and send one statement per
 * append from one client, waiting for each; the store adds what makes it an
 * event store: input checks, the expected-version check, gap-safe positions
 * and the `NOTIFY` — in the same single statement.
 *
 * Each round runs every case once, store and raw back to back; the ratios
 * are paired by round, and the table gives their median (and range) over
 * the rounds — the machine is shared and noisy. The server runs with
 * `fsync` off unless `--fsync` (the commit then waits for the disk on both
 * sides, which dominates single-event appends).
 *
 * Run: `deno run --allow-all bench/eventstore_postgres_bench.ts`
 * (add `--events N` for the batched events per round, `--single N`,
 * `--rounds N`, `--fsync`, `--url postgres://…` for another server, whose
 * database gets a schema `flotilla_bench` and a table `raw_events`, both
 * dropped at the end).
 * Target: batched appends at least 70 % of the raw multi-row `INSERT`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import postgres from "postgres";
import { type NewEvent, newEventId } from "@flotilla/eventstore";
import { PostgresEventStore } from "@flotilla/eventstore/postgres";
import { type PostgresServer, startPostgres } from "@flotilla/testing";

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "50000" },
    single: { type: "string", default: "10000" },
    rounds: { type: "string", default: "5" },
    "read-length": { type: "string", default: "10000" },
    reads: { type: "string", default: "10" },
    fsync: { type: "boolean", default: false },
    url: { type: "string" },
  },
});
const EVENTS = Number(values.events);
const SINGLE = Number(values.single);
const ROUNDS = Number(values.rounds);
const READ_LENGTH = Number(values["read-length"]);
const READS = Number(values.reads);
const SCHEMA = "flotilla_bench";

const RAW_SCHEMA = `
DROP TABLE IF EXISTS raw_events;
CREATE TABLE raw_events (
  position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
  stream text NOT NULL,
  version integer NOT NULL,
  id text NOT NULL,
  type text NOT NULL,
  data jsonb NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}',
  time timestamptz NOT NULL,
  CONSTRAINT raw_events_stream_version UNIQUE (stream, version),
  CONSTRAINT raw_events_id UNIQUE (id)
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

/** Appends `total` events in batches of `size` spread over `streams` streams, through the store. */
async function storeAppends(
  store: PostgresEventStore,
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

/** The same appends as raw prepared INSERTs: one row per statement, or `size` rows. */
async function rawAppends(
  sql: postgres.Sql,
  round: number,
  total: number,
  size: number,
  streams: number,
): Promise<number> {
  const versions = new Map<string, number>();
  const start = performance.now();
  for (let sent = 0, i = 0; sent < total; sent += size, i++) {
    const stream = `raw-${round}-${size}-${i % streams}`;
    const events = batch(size, sent);
    const first = (versions.get(stream) ?? -1) + 1;
    const time = new Date().toISOString();
    if (size === 1) {
      const event = events[0]!;
      await sql`INSERT INTO raw_events (stream, version, id, type, data, time)
        VALUES (${stream}, ${first}, ${event.id}, ${event.type}, ${JSON.stringify(event.data)},
          ${time})`;
    } else {
      const rows = events.map((event, k) => ({
        stream,
        version: first + k,
        id: event.id,
        type: event.type,
        data: JSON.stringify(event.data),
        time,
      }));
      await sql`INSERT INTO raw_events ${
        sql(rows, "stream", "version", "id", "type", "data", "time")
      }`;
    }
    versions.set(stream, first + size - 1);
  }
  return performance.now() - start;
}

async function storeReads(store: PostgresEventStore, stream: string): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < READS; i++) {
    const events = await store.readStream(stream);
    if (events.length !== READ_LENGTH) throw new Error(`read ${events.length} events`);
  }
  return performance.now() - start;
}

async function rawReads(sql: postgres.Sql, stream: string): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < READS; i++) {
    const rows = await sql`SELECT stream, id, type, data, metadata, version, position::text, time
      FROM raw_events WHERE stream = ${stream} ORDER BY version`;
    if (rows.length !== READ_LENGTH) throw new Error(`read ${rows.length} rows`);
  }
  return performance.now() - start;
}

interface Case {
  readonly name: string;
  readonly events: number;
  readonly store: () => Promise<number>;
  readonly raw: () => Promise<number>;
}

let server: PostgresServer | undefined;
if (values.url === undefined) {
  server = await startPostgres({
    mode: "private",
    fsync: values.fsync,
    settings: { autovacuum: "off", shared_buffers: "256MB", max_wal_size: "4GB" },
  });
}
const url = values.url ?? server!.url;
const sql = postgres(url, { max: 1, onnotice: () => {} });
try {
  await sql.unsafe(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await sql.unsafe(RAW_SCHEMA).simple();
  await using store = await PostgresEventStore.connect({ url, schema: SCHEMA });
  const readStream = "read-me";
  for (let sent = 0; sent < READ_LENGTH; sent += 100) {
    await store.append(readStream, batch(100, sent), { expectedVersion: sent - 1 });
  }
  await rawAppends(sql, -1, READ_LENGTH, 100, 1);
  const rawReadStream = "raw--1-100-0";
  let round = -2; // the warm-up round
  const cases: Case[] = [
    {
      name: "append ×1",
      events: SINGLE,
      store: () => storeAppends(store, round, SINGLE, 1, 1_000),
      raw: () => rawAppends(sql, round, SINGLE, 1, 1_000),
    },
    {
      name: "append ×100",
      events: EVENTS,
      store: () => storeAppends(store, round, EVENTS, 100, 100),
      raw: () => rawAppends(sql, round, EVENTS, 100, 100),
    },
    {
      name: `read stream (${READ_LENGTH})`,
      events: READ_LENGTH * READS,
      store: () => storeReads(store, readStream),
      raw: () => rawReads(sql, rawReadStream),
    },
  ];
  // A warm-up round (prepared statements, caches), not counted.
  for (const c of cases) {
    await c.store();
    await c.raw();
  }
  const results = new Map<string, { store: number[]; raw: number[]; ratio: number[] }>();
  for (round = 0; round < ROUNDS; round++) {
    for (const c of cases) {
      // Alternate which side goes first, so a drift hits both alike.
      const storeFirst = round % 2 === 0;
      const first = await (storeFirst ? c.store() : c.raw());
      const second = await (storeFirst ? c.raw() : c.store());
      const [storeMs, rawMs] = storeFirst ? [first, second] : [second, first];
      const entry = results.get(c.name) ?? { store: [], raw: [], ratio: [] };
      entry.store.push(c.events / (storeMs / 1_000));
      entry.raw.push(c.events / (rawMs / 1_000));
      entry.ratio.push(rawMs / storeMs);
      results.set(c.name, entry);
    }
  }
  const median = (list: readonly number[]) => {
    const sorted = [...list].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };
  const range = (list: readonly number[], format: (n: number) => string) =>
    `${format(Math.min(...list))}–${format(Math.max(...list))}`;
  const n = (x: number) => Math.round(x).toLocaleString("en-US");
  const pct = (x: number) => `${(x * 100).toFixed(0)} %`;
  const rows = [...results].map(([name, r]) => ({
    scenario: name,
    "store events/s": `${n(median(r.store))} (${range(r.store, n)})`,
    "raw events/s": `${n(median(r.raw))} (${range(r.raw, n)})`,
    "store/raw": `${pct(median(r.ratio))} (${range(r.ratio, pct)})`,
  }));
  console.log(
    `PostgreSQL event store, ${ROUNDS} rounds, medians (min–max), fsync ${
      values.url === undefined ? (values.fsync ? "on" : "off") : "as configured"
    } (${Deno.build.os}/${Deno.build.arch})`,
  );
  console.table(rows);
  const batched = median(results.get("append ×100")!.ratio);
  console.log(
    `target: batched appends ≥ 70 % of the raw multi-row INSERT: ${
      batched >= 0.7 ? "met" : "MISSED"
    } (${pct(batched)})`,
  );
} finally {
  await sql.unsafe(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE; DROP TABLE IF EXISTS raw_events`)
    .simple().catch(() => {});
  await sql.end();
  await server?.[Symbol.asyncDispose]();
}
