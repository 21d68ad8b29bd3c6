import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { z } from "zod";
import { ManualClock } from "@flotilla/core";
import { immediate, openDatabase } from "@flotilla/sqlite";
import { EventCatalog, MemoryBus, OutboxRelay, SqliteOutbox } from "@flotilla/bus";
import { testEventStoreConformance } from "./conformance.ts";
import { EventStoreError, WrongExpectedVersionError } from "./errors.ts";
import type { NewEvent, RecordedEvent } from "./event_store.ts";
import { SqliteEventStore, type SqliteEventStoreOptions } from "./sqlite_event_store.ts";
import type { RaceOrder, RaceReport } from "./_sqlite_race_worker.ts";

/** A store in a file of its own, removed with the store. */
class TempSqliteEventStore extends SqliteEventStore {
  readonly dir: string;
  #removed = false;

  constructor(dir: string, options: Omit<SqliteEventStoreOptions, "path" | "db"> = {}) {
    super({ ...options, path: join(dir, "events.db") });
    this.dir = dir;
  }

  static async create(
    options: Omit<SqliteEventStoreOptions, "path" | "db"> = {},
  ): Promise<TempSqliteEventStore> {
    return new TempSqliteEventStore(
      await Deno.makeTempDir({ prefix: "flotilla-eventstore-" }),
      options,
    );
  }

  override async [Symbol.asyncDispose](): Promise<void> {
    await super[Symbol.asyncDispose]();
    if (this.#removed) return;
    this.#removed = true;
    await Deno.remove(this.dir, { recursive: true });
  }
}

testEventStoreConformance("SqliteEventStore", () => TempSqliteEventStore.create());
testEventStoreConformance(
  "SqliteEventStore on a given db",
  () => Promise.resolve(new SqliteEventStore({ db: new DatabaseSync(":memory:") })),
);

function events(count: number, type = "OrderPlaced"): NewEvent[] {
  return Array.from({ length: count }, (_, i) => ({ id: crypto.randomUUID(), type, data: { i } }));
}

async function tempDir(): Promise<{ dir: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "flotilla-eventstore-" });
  return { dir, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

Deno.test("SqliteEventStore creates the tables of the issue", async () => {
  await using store = await TempSqliteEventStore.create();
  const columns = (table: string) =>
    store.db.prepare(`PRAGMA table_info(${table})`).all().map((row) => row.name);
  assert.deepEqual(columns("events"), [
    "position",
    "stream",
    "version",
    "id",
    "type",
    "data",
    "metadata",
    "time",
  ]);
  assert.deepEqual(columns("snapshots"), ["stream", "version", "state", "time"]);
  assert.deepEqual(columns("checkpoints"), ["name", "position", "time"]);
  // UNIQUE (stream, version) and UNIQUE (id) back the store's guarantees even against raw SQL.
  await store.append("s", events(1), { expectedVersion: "no_stream" });
  assert.throws(
    () =>
      store.db.prepare(
        "INSERT INTO events (stream, version, id, type, data, time) VALUES ('s', 0, 'x', 't', '1', 'now')",
      ).run(),
    /UNIQUE constraint failed: events\.stream, events\.version/,
  );
});

Deno.test("SqliteEventStore keeps events across reopening the file, stamped by its clock", async () => {
  await using tmp = await tempDir();
  const path = join(tmp.dir, "nested", "events.db");
  const clock = new ManualClock(Date.UTC(2031, 4, 6, 7, 8, 9, 10));
  {
    await using store = new SqliteEventStore({ path, clock });
    await store.append("order-1", events(2), { expectedVersion: "no_stream" });
    await store.saveSnapshot("order-1", { version: 1, state: { n: 2 } });
    await store.saveCheckpoint("p", "2");
  }
  await using store = new SqliteEventStore({ path });
  const read = await store.readStream("order-1");
  assert.deepEqual(read.map((e) => [e.version, e.position, e.time]), [
    [0, "1", "2031-05-06T07:08:09.010Z"],
    [1, "2", "2031-05-06T07:08:09.010Z"],
  ]);
  assert.deepEqual(await store.loadSnapshot("order-1"), { version: 1, state: { n: 2 } });
  assert.equal(await store.loadCheckpoint("p"), "2");
});

Deno.test("SqliteEventStore refuses invalid options", () => {
  const db = new DatabaseSync(":memory:");
  try {
    assert.throws(() => new SqliteEventStore({}), /Cannot open the sqlite event store as 'db'/);
    assert.throws(() => new SqliteEventStore({ db, path: "x.db" }), RangeError);
    assert.throws(() => new SqliteEventStore({ path: "" }), RangeError);
    assert.throws(() => new SqliteEventStore({ db, pollIntervalMs: 0 }), /'pollIntervalMs'/);
    const other = new DatabaseSync(":memory:");
    const outbox = new SqliteOutbox(other);
    assert.throws(
      () => new SqliteEventStore({ db, outbox: { outbox, stream: "s", source: "/x" } }),
      /'outbox\.outbox' must be a SqliteOutbox on the store's 'db'/,
    );
    other.close();
    const mine = new SqliteOutbox(db);
    assert.throws(
      () => new SqliteEventStore({ db, outbox: { outbox: mine, stream: "", source: "/x" } }),
      /'outbox\.stream'/,
    );
  } finally {
    db.close();
  }
});

Deno.test("SqliteEventStore leaves a given db open and closes a file it opened", async () => {
  const db = new DatabaseSync(":memory:");
  {
    await using _store = new SqliteEventStore({ db });
  }
  assert.equal(db.isOpen, true);
  db.close();
  const store = await TempSqliteEventStore.create();
  await store[Symbol.asyncDispose]();
  assert.equal(store.db.isOpen, false);
});

Deno.test("SqliteEventStore.appendSync() commits and rolls back with the caller's transaction", async () => {
  const db = openDatabase(":memory:", {
    schema: "CREATE TABLE inbox (id TEXT PRIMARY KEY)",
  });
  await using store = new SqliteEventStore({ db });
  // Committed together.
  immediate(db, () => {
    db.prepare("INSERT INTO inbox VALUES ('m-1')").run();
    store.appendSync("order-1", events(2), { expectedVersion: "no_stream" });
  });
  assert.equal(await store.streamVersion("order-1"), 1);
  // Rolled back together.
  assert.throws(() =>
    immediate(db, () => {
      db.prepare("INSERT INTO inbox VALUES ('m-2')").run();
      store.appendSync("order-1", events(1), { expectedVersion: 1 });
      throw new Error("the handler failed after appending");
    }), /the handler failed/);
  assert.equal(await store.streamVersion("order-1"), 1);
  assert.equal(db.prepare("SELECT count(*) AS n FROM inbox").get()?.n, 1);
  // A refused append inside the caller's transaction undoes only itself.
  immediate(db, () => {
    db.prepare("INSERT INTO inbox VALUES ('m-3')").run();
    assert.throws(
      () => store.appendSync("order-1", events(1), { expectedVersion: 0 }),
      WrongExpectedVersionError,
    );
    store.appendSync("order-1", events(1), { expectedVersion: 1 });
  });
  assert.equal(await store.streamVersion("order-1"), 2);
  assert.equal(db.prepare("SELECT count(*) AS n FROM inbox").get()?.n, 2);
  db.close();
});

Deno.test("SqliteEventStore subscriptions never read a transaction's uncommitted events", async () => {
  const db = new DatabaseSync(":memory:");
  await using store = new SqliteEventStore({ db, pollIntervalMs: 3_600_000 });
  const seen: string[] = [];
  const delivered = Promise.withResolvers<void>();
  await using _sub = await store.subscribeToAll((list) => {
    seen.push(...list.map((e) => e.stream));
    delivered.resolve();
  });
  db.exec("BEGIN IMMEDIATE");
  store.appendSync("doomed", events(1), { expectedVersion: "no_stream" });
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
  db.exec("ROLLBACK");
  assert.deepEqual(seen, []);
  await store.append("kept", events(1), { expectedVersion: "no_stream" });
  await delivered.promise;
  assert.deepEqual(seen, ["kept"]);
  db.close();
});

Deno.test("SqliteEventStore wakes the subscriptions of other stores of this process on the file", async () => {
  await using writer = await TempSqliteEventStore.create();
  // An hour between polls: only the wake-up can deliver in time.
  await using reader = new SqliteEventStore({
    path: join(writer.dir, "events.db"),
    pollIntervalMs: 3_600_000,
  });
  const got = Promise.withResolvers<RecordedEvent[]>();
  await using _sub = await reader.subscribeToAll((list) => got.resolve([...list]));
  await writer.append("order-1", events(3), { expectedVersion: "no_stream" });
  assert.deepEqual((await got.promise).map((e) => e.version), [0, 1, 2]);
});

Deno.test("SqliteEventStore subscriptions poll for events other connections commit", async () => {
  await using store = await TempSqliteEventStore.create({ pollIntervalMs: 5 });
  const got = Promise.withResolvers<RecordedEvent[]>();
  await using _sub = await store.subscribeToAll((list) => got.resolve([...list]));
  await _sub.caughtUp;
  // Another process, as far as the store can tell: a raw connection.
  const raw = new DatabaseSync(join(store.dir, "events.db"));
  raw.prepare(
    "INSERT INTO events (stream, version, id, type, data, time) VALUES ('x', 0, 'e-1', 't', '{}', '2030-01-01T00:00:00.000Z')",
  ).run();
  raw.close();
  assert.deepEqual((await got.promise).map((e) => e.id), ["e-1"]);
});

Deno.test("SqliteEventStore writes each new event to the outbox in the append's transaction", async () => {
  const clock = new ManualClock(Date.UTC(2030, 0, 1));
  const db = new DatabaseSync(":memory:");
  const outbox = new SqliteOutbox(db, { clock });
  let writes = 0;
  await using store = new SqliteEventStore({
    db,
    clock,
    outbox: {
      outbox,
      stream: "shop.order",
      source: "/flotilla/shop/order",
      onWrite: () => writes++,
    },
  });
  const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  const batch: NewEvent[] = [
    {
      id: "e-1",
      type: "order.created",
      data: { orderId: "o-1" },
      metadata: { traceparent, tracestate: "v=1" },
    },
    { id: "e-2", type: "order.paid", data: { orderId: "o-1" }, metadata: { traceparent: "junk" } },
  ];
  await store.append("order-o-1", batch, { expectedVersion: "no_stream" });
  // A retry writes nothing, to the outbox neither; nor does a refused append.
  await store.append("order-o-1", batch, { expectedVersion: "no_stream" });
  await assert.rejects(
    store.append("order-o-1", events(1), { expectedVersion: 0 }),
    WrongExpectedVersionError,
  );
  assert.equal(writes, 1);
  const rows = outbox.pending(10);
  assert.deepEqual(rows.map((row) => [row.id, row.stream, row.aggregate]), [
    ["e-1", "shop.order", "order-o-1"],
    ["e-2", "shop.order", "order-o-1"],
  ]);
  assert.deepEqual(rows[0]!.event, {
    specversion: "1.0",
    id: "e-1",
    source: "/flotilla/shop/order",
    type: "order.created",
    subject: "order-o-1",
    time: "2030-01-01T00:00:00.000Z",
    datacontenttype: "application/json",
    data: { orderId: "o-1" },
    traceparent,
    tracestate: "v=1",
  });
  assert.equal(rows[1]!.event.traceparent, undefined, "an invalid traceparent is left out");
});

Deno.test("SqliteEventStore refuses an event the outbox's catalog rejects, storing nothing", async () => {
  const db = new DatabaseSync(":memory:");
  const outbox = new SqliteOutbox(db);
  const catalog = new EventCatalog({ "order.created": z.object({ orderId: z.string() }) });
  await using store = new SqliteEventStore({
    db,
    outbox: { outbox, stream: "shop.order", source: "/shop/order", catalog },
  });
  await assert.rejects(
    store.append("order-1", [
      { id: "a", type: "order.created", data: { orderId: "o-1" } },
      { id: "b", type: "order.created", data: { orderId: 1 } },
    ], { expectedVersion: "no_stream" }),
    (error) => error instanceof EventStoreError && error.code === "INVALID_EVENT",
  );
  await assert.rejects(
    store.append("order-1", [{ id: "c", type: "order.unknown", data: {} }], {
      expectedVersion: "any",
    }),
    /not in the event catalog/,
  );
  assert.equal(await store.streamVersion("order-1"), -1);
  assert.equal(outbox.stats().backlog, 0);
  await store.append("order-1", [{ id: "a", type: "order.created", data: { orderId: "o-1" } }], {
    expectedVersion: "no_stream",
  });
  assert.equal(outbox.stats().backlog, 1);
});

Deno.test("SqliteEventStore with an outbox: every appended event reaches the bus exactly once", async () => {
  await using tmp = await tempDir();
  const db = openDatabase(join(tmp.dir, "order.db"));
  const outbox = new SqliteOutbox(db);
  await using bus = new MemoryBus();
  await using relay = new OutboxRelay({ outbox, bus, pollIntervalMs: 5 });
  await using store = new SqliteEventStore({
    db,
    outbox: { outbox, stream: "shop.order", source: "/shop/order", onWrite: () => relay.notify() },
  });
  const appended: string[] = [];
  for (let order = 0; order < 20; order++) {
    const batch = events(1 + (order % 3), "order.changed");
    const stream = `order-${order % 4}`;
    const version = await store.streamVersion(stream);
    await store.append(stream, batch, { expectedVersion: version });
    // The client timed out and retries: a no-op.
    await store.append(stream, batch, { expectedVersion: version });
    appended.push(...batch.map((e) => e.id));
  }
  // A racing writer that loses writes nothing anywhere.
  await assert.rejects(
    store.append("order-0", events(1), { expectedVersion: 0 }),
    WrongExpectedVersionError,
  );
  await relay.flush();
  const published = await bus.read("shop.order", { limit: 1_000 });
  assert.deepEqual(published.map((m) => m.event.id), appended);
  assert.equal(outbox.stats().backlog, 0);
  await relay[Symbol.asyncDispose]();
  await store[Symbol.asyncDispose]();
  db.close();
});

Deno.test("SqliteEventStore: 8 connections in 8 workers race on one stream, no gap and no duplicate", async () => {
  await using tmp = await tempDir();
  const path = join(tmp.dir, "race.db");
  {
    await using _create = new SqliteEventStore({ path });
  }
  const stream = "raced";
  const workers = 8;
  const attempts = 1_000 / workers;
  const threads = Array.from(
    { length: workers },
    () => new Worker(new URL("./_sqlite_race_worker.ts", import.meta.url), { type: "module" }),
  );
  const reply = (thread: Worker) =>
    new Promise<unknown>((resolve, reject) => {
      thread.onmessage = (message) => resolve(message.data);
      thread.onerror = (event) => {
        event.preventDefault();
        reject(new Error(event.message));
      };
    });
  let reports: RaceReport[];
  try {
    // Every worker opens its connection, then they all start at once.
    await Promise.all(threads.map((thread, worker) => {
      const ready = reply(thread);
      const order: RaceOrder = { path, stream, attempts, sizes: [1, 2, 3], worker };
      thread.postMessage(order);
      return ready;
    }));
    const done = threads.map((thread) => reply(thread) as Promise<RaceReport>);
    for (const thread of threads) thread.postMessage("go");
    reports = await Promise.all(done);
  } finally {
    for (const thread of threads) thread.terminate();
  }
  assert.deepEqual(reports.flatMap((r) => r.problems), []);
  const successes = reports.flatMap((r) => r.successes).sort((a, b) => a.from - b.from);
  const conflicts = reports.reduce((sum, r) => sum + r.conflicts, 0);
  assert.equal(successes.length + conflicts, 1_000);
  await using store = new SqliteEventStore({ path });
  const read = await store.readStream(stream);
  assert.deepEqual(read.map((e) => e.version), read.map((_, i) => i));
  assert.deepEqual(read.map((e) => e.id), successes.flatMap((s) => s.ids));
  let next = 0;
  for (const success of successes) {
    assert.equal(success.from, next);
    next += success.ids.length;
  }
});
