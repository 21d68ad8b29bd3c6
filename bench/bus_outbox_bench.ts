// deno-lint-ignore-file no-console
/**
 * The outbox and inbox paths, measured separately, on SQLite files in WAL
 * mode (`synchronous = NORMAL`) and the in-memory bus:
 *
 * - outbox write: one `BEGIN IMMEDIATE` transaction per event holding the
 *   state change (an order row) and the outbox row, against the same state
 *   change alone;
 * - outbox relay: an `OutboxRelay` draining a backlog to the bus (read,
 *   publish, mark sent);
 * - outbox end to end: writes and relay at once, the writer nudging the
 *   relay after each commit, until everything is published;
 * - inbox: a bus subscription whose handler records the id and applies the
 *   consumer's state change in one transaction, against the same handler
 *   without the inbox; and `inbox.process()` alone on a redelivered id.
 *
 * Run: `deno run --allow-read --allow-write --allow-env bench/bus_outbox_bench.ts [events] [rounds]`.
 *
 * @module
 */

import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { type Bus, type CloudEvent, MemoryBus, SqliteBus } from "@flotilla/bus";
import { immediate, openDatabase } from "@flotilla/sqlite";
import { SqliteInbox } from "@flotilla/bus";
import { SqliteOutbox } from "@flotilla/bus";
import { OutboxRelay } from "@flotilla/bus";

const EVENTS = Number(Deno.args[0] ?? 10_000);
const ROUNDS = Number(Deno.args[1] ?? 3);
const DAY = 86_400_000;

function orderEvent(i: number): CloudEvent<{ orderId: string; total: number }> {
  return {
    specversion: "1.0",
    id: `evt-${i}-${crypto.randomUUID()}`,
    source: "/flotilla/bench/order",
    type: "order.created",
    subject: `customer-${i % 100}`,
    time: new Date().toISOString(),
    datacontenttype: "application/json",
    data: { orderId: `o-${i}`, total: 12.5 },
  };
}

async function withDir<T>(work: (dir: string) => T | Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "flotilla-outbox-bench-" });
  try {
    return await work(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function openService(dir: string): DatabaseSync {
  return openDatabase(join(dir, "svc.db"), {
    schema: "CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, total REAL NOT NULL)",
  });
}

function openConsumer(dir: string): DatabaseSync {
  return openDatabase(join(dir, "consumer.db"), {
    schema: "CREATE TABLE IF NOT EXISTS invoices (order_id TEXT PRIMARY KEY, total REAL NOT NULL)",
  });
}

function rate(count: number, ms: number): number {
  return count / (ms / 1_000);
}

/** State change alone, one transaction per order. */
function writeStateOnly(db: DatabaseSync, events: readonly CloudEvent[]): number {
  const insert = db.prepare("INSERT INTO orders (id, total) VALUES (?, ?)");
  const start = performance.now();
  for (const event of events) {
    const { orderId, total } = event.data as { orderId: string; total: number };
    immediate(db, () => insert.run(orderId, total));
  }
  return performance.now() - start;
}

/** State change and outbox row in one transaction per order. */
function writeWithOutbox(
  db: DatabaseSync,
  outbox: SqliteOutbox,
  events: readonly CloudEvent[],
  after?: () => void,
): number {
  const insert = db.prepare("INSERT INTO orders (id, total) VALUES (?, ?)");
  const start = performance.now();
  for (const event of events) {
    const { orderId, total } = event.data as { orderId: string; total: number };
    immediate(db, () => {
      insert.run(orderId, total);
      outbox.add("shop.order", event);
    });
    after?.();
  }
  return performance.now() - start;
}

type BrokerName = "memory" | "sqlite";
const BROKERS: readonly BrokerName[] = ["memory", "sqlite"];

function openBroker(name: BrokerName, dir: string): Bus {
  return name === "memory"
    ? new MemoryBus()
    : new SqliteBus({ path: join(dir, "bus.db"), pollIntervalMs: 5 });
}

type Sample = Record<string, number>;

async function round(): Promise<Sample> {
  const events = Array.from({ length: EVENTS }, (_, i) => orderEvent(i));
  const sample: Sample = {};

  await withDir((dir) => {
    const db = openService(dir);
    sample["outbox: state change alone, 1 tx/event"] = rate(EVENTS, writeStateOnly(db, events));
    db.close();
  });

  await withDir((dir) => {
    const db = openService(dir);
    const outbox = new SqliteOutbox(db);
    sample["outbox: state change + outbox row, 1 tx/event"] = rate(
      EVENTS,
      writeWithOutbox(db, outbox, events),
    );
    db.close();
  });

  for (const broker of BROKERS) {
    await withDir(async (dir) => {
      const db = openService(dir);
      const outbox = new SqliteOutbox(db);
      writeWithOutbox(db, outbox, events);
      await using bus = openBroker(broker, dir);
      const start = performance.now();
      await using relay = new OutboxRelay({ outbox, bus, batchSize: 500 });
      await relay.flush();
      sample[`outbox: relay a backlog -> ${broker} bus, marked sent`] = rate(
        EVENTS,
        performance.now() - start,
      );
      if (outbox.stats().backlog !== 0) throw new Error("the relay left a backlog");
      db.close();
    });

    await withDir(async (dir) => {
      const db = openService(dir);
      const outbox = new SqliteOutbox(db);
      await using bus = openBroker(broker, dir);
      await using relay = new OutboxRelay({ outbox, bus, batchSize: 500 });
      const insert = db.prepare("INSERT INTO orders (id, total) VALUES (?, ?)");
      const start = performance.now();
      for (let i = 0; i < events.length; i++) {
        const event = events[i]!;
        immediate(db, () => {
          insert.run((event.data as { orderId: string }).orderId, 12.5);
          outbox.add("shop.order", event);
        });
        relay.notify();
        // Yield now and then, so that the relay runs alongside the writer.
        if (i % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 0));
      }
      await relay.flush();
      sample[`outbox: write + relay -> ${broker} bus at once`] = rate(
        EVENTS,
        performance.now() - start,
      );
      db.close();
    });

    sample[`inbox: ${broker} bus handler, state change alone`] = await consume(
      broker,
      events,
      false,
    );
    sample[`inbox: ${broker} bus handler through the inbox`] = await consume(broker, events, true);
  }

  await withDir((dir) => {
    const db = openConsumer(dir);
    const inbox = new SqliteInbox(db, { group: "billing", retentionMs: DAY });
    const insert = db.prepare("INSERT INTO invoices (order_id, total) VALUES (?, ?)");
    let start = performance.now();
    for (const event of events) {
      inbox.process(event, () => insert.run((event.data as { orderId: string }).orderId, 12.5));
    }
    sample["inbox: process() of a new event, no bus"] = rate(EVENTS, performance.now() - start);
    start = performance.now();
    for (const event of events) inbox.process(event, () => insert.run("never", 0));
    sample["inbox: process() of a duplicate, no bus"] = rate(EVENTS, performance.now() - start);
    db.close();
  });
  return sample;
}

/** Publishes `events`, then times one subscriber (concurrency 16) consuming them all. */
async function consume(
  broker: BrokerName,
  events: readonly CloudEvent[],
  withInbox: boolean,
): Promise<number> {
  return await withDir(async (dir) => {
    const db = openConsumer(dir);
    await using bus = openBroker(broker, dir);
    for (let i = 0; i < events.length; i += 500) {
      await bus.publish("shop.order", events.slice(i, i + 500));
    }
    const insert = db.prepare("INSERT INTO invoices (order_id, total) VALUES (?, ?)");
    const apply = (event: CloudEvent) =>
      insert.run((event.data as { orderId: string }).orderId, 12.5);
    let handled = 0;
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => resolveDone = resolve);
    const count = () => {
      if (++handled === events.length) resolveDone();
    };
    const inbox = new SqliteInbox(db, { group: "billing", retentionMs: DAY });
    const handler = withInbox
      ? inbox.handler(({ event }) => {
        apply(event);
        count();
      })
      : ({ event }: { event: CloudEvent }) => {
        immediate(db, () => apply(event));
        count();
      };
    const start = performance.now();
    await using _subscription = await bus.subscribe("shop.order", handler, {
      group: "billing",
      concurrency: 16,
    });
    await done;
    const elapsed = performance.now() - start;
    db.close();
    return rate(events.length, elapsed);
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const samples: Sample[] = [];
for (let i = 0; i < ROUNDS; i++) {
  const sample = await round();
  samples.push(sample);
  console.error(`round ${i + 1} of ${ROUNDS} done`);
}
const names = Object.keys(samples[0]!);
const result: Record<string, number> = {};
for (const name of names) result[name] = Math.round(median(samples.map((sample) => sample[name]!)));
const width = Math.max(...names.map((name) => name.length));
console.log(`${EVENTS} events per measurement, median of ${ROUNDS} rounds, events/s`);
for (const path of ["outbox", "inbox"]) {
  console.log(`${path} path`);
  for (const name of names.filter((name) => name.startsWith(`${path}: `))) {
    const label = name.slice(path.length + 2);
    console.log(`  ${label.padEnd(width)}  ${String(result[name]).padStart(8)}`);
  }
}
console.log(JSON.stringify({ events: EVENTS, rounds: ROUNDS, results: result }));
