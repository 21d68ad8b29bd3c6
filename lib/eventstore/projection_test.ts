import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import fc from "fast-check";
import { openDatabase } from "@flotilla/sqlite";
import { waitFor } from "@flotilla/testing";
import type { AppendResult, EventStore, NewEvent, RecordedEvent } from "./event_store.ts";
import { EventStoreError } from "./errors.ts";
import { MemoryEventStore } from "./memory_event_store.ts";
import { SqliteEventStore } from "./sqlite_event_store.ts";
import {
  defineSqliteProjection,
  rebuildProjection,
  type SqliteProjection,
  SqliteProjector,
} from "./projection.ts";
import { readCheckpoint, transaction } from "./_projection_checkpoint.ts";
import { dumpLedger, foldLedger, ledgerProjection } from "./_projection_child.ts";

async function tempDir(): Promise<{ dir: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "flotilla-projection-" });
  return { dir, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

/** `count` ledger events over `streams` accounts, appended a stream's run at a time. */
async function appendLedger(
  store: EventStore,
  count: number,
  options: { streams?: number; chunk?: number; start?: number } = {},
): Promise<AppendResult> {
  const streams = options.streams ?? 5;
  const chunk = options.chunk ?? 10;
  const start = options.start ?? 0;
  let last: AppendResult | undefined;
  for (let from = 0; from < count; from += chunk) {
    const n = Math.min(chunk, count - from);
    const i0 = start + from;
    const events: NewEvent[] = Array.from({ length: n }, (_, j) => {
      const i = i0 + j;
      return {
        id: crypto.randomUUID(),
        type: i % 7 === 3 ? "Noted" : i % 3 === 0 ? "Withdrawn" : "Deposited",
        data: { amount: (i * 37) % 101 + 1 },
      };
    });
    last = await store.append(`acct-${(i0 / chunk) % streams}`, events, {
      expectedVersion: "any",
    });
  }
  if (last === undefined) throw new RangeError("Cannot append no events");
  return last;
}

async function allEvents(store: EventStore): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for (;;) {
    const after = events.at(-1)?.position;
    const batch = await store.readAll({ limit: 1_000, ...(after === undefined ? {} : { after }) });
    if (batch.length === 0) return events;
    events.push(...batch);
  }
}

/** The same projection, counting its applies (committed or rolled back). */
function counting(projection: SqliteProjection): { projection: SqliteProjection; applies: number } {
  const counter = {
    applies: 0,
    projection: defineSqliteProjection({
      name: projection.name,
      ...(projection.version === undefined ? {} : { version: projection.version }),
      setup: (db) => projection.setup(db),
      reset: (db) => projection.reset(db),
      apply(db, event) {
        counter.applies++;
        projection.apply(db, event);
      },
    }),
  };
  return counter;
}

function storedPosition(db: DatabaseSync, name = "ledger"): string | undefined {
  return readCheckpoint(db, name)?.position;
}

function upTo(events: readonly RecordedEvent[], position: string | undefined): RecordedEvent[] {
  if (position === undefined) return [];
  return events.filter((e) => BigInt(e.position) <= BigInt(position));
}

async function assertCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof EventStoreError, String(error));
    assert.equal(error.code, code);
    return true;
  });
}

Deno.test("SqliteProjector builds a read model from a MemoryEventStore, then applies live events", async () => {
  await using store = new MemoryEventStore();
  const db = new DatabaseSync(":memory:");
  await appendLedger(store, 137);
  await using projector = await SqliteProjector.start({
    store,
    db,
    projection: ledgerProjection(),
    batchSize: 10,
  });
  await projector.caughtUp;
  assert.equal(projector.position, "137");
  assert.deepEqual(dumpLedger(db), foldLedger(await allEvents(store)));
  assert.equal(storedPosition(db), "137");

  const written = await store.append("acct-new", [
    { id: crypto.randomUUID(), type: "Deposited", data: { amount: 5 } },
  ], { expectedVersion: "no_stream" });
  await projector.waitFor(written.position);
  assert.ok(BigInt(projector.position!) >= BigInt(written.position));
  const row = db.prepare("SELECT balance FROM ledger_accounts WHERE stream = 'acct-new'").get();
  assert.equal(row?.balance, 5);
  assert.deepEqual(dumpLedger(db), foldLedger(await allEvents(store)));
  // A position already applied resolves at once.
  await projector.waitFor("1");
  db.close();
});

Deno.test("SqliteProjector builds a read model from a SqliteEventStore, then applies live events", async () => {
  await using tmp = await tempDir();
  await using store = new SqliteEventStore({ path: join(tmp.dir, "events.db") });
  const db = openDatabase(join(tmp.dir, "read.db"));
  await appendLedger(store, 420);
  await using projector = await SqliteProjector.start({
    store,
    db,
    projection: ledgerProjection(),
    batchSize: 64,
  });
  await projector.caughtUp;
  assert.deepEqual(dumpLedger(db), foldLedger(await allEvents(store)));
  for (let i = 0; i < 5; i++) {
    const written = await appendLedger(store, 13, { start: 420 + i * 13 });
    await projector.waitFor(written.position);
    assert.equal(storedPosition(db), written.position);
    assert.deepEqual(dumpLedger(db), foldLedger(await allEvents(store)));
  }
  await projector[Symbol.asyncDispose]();
  db.close();
});

Deno.test("SqliteProjector keeps the read model in the database of its SqliteEventStore", async () => {
  await using tmp = await tempDir();
  const db = openDatabase(join(tmp.dir, "service.db"));
  await using store = new SqliteEventStore({ db });
  await appendLedger(store, 300);
  await using projector = await SqliteProjector.start({
    store,
    db,
    projection: ledgerProjection(),
    batchSize: 7,
  });
  // Appends race the catch-up on the same connection.
  const writes: AppendResult[] = [];
  for (let i = 0; i < 20; i++) writes.push(await appendLedger(store, 5, { start: 300 + i * 5 }));
  await projector.caughtUp;
  await projector.waitFor(writes.at(-1)!.position);
  assert.deepEqual(dumpLedger(db), foldLedger(await allEvents(store)));
  // Its checkpoint is its own, beside the store's `checkpoints`.
  assert.equal(storedPosition(db), "400");
  assert.equal(db.prepare("SELECT count(*) AS n FROM checkpoints").get()?.n, 0);

  // Other code holding a transaction open on the connection across an await: the
  // projector waits for it to end rather than nest its batch inside it.
  db.exec("BEGIN IMMEDIATE");
  const inside = store.appendSync("acct-x", [
    { id: crypto.randomUUID(), type: "Deposited", data: { amount: 9 } },
  ], { expectedVersion: "no_stream" });
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(storedPosition(db), "400");
  db.exec("COMMIT");
  await projector.waitFor(inside.position);
  assert.deepEqual(dumpLedger(db), foldLedger(await allEvents(store)));
  await projector[Symbol.asyncDispose]();
  await store[Symbol.asyncDispose]();
  db.close();
});

Deno.test("transaction() waits for the connection's open transaction instead of nesting in it", async () => {
  const db = new DatabaseSync(":memory:");
  db.exec("CREATE TABLE t (v INTEGER)");
  db.exec("BEGIN");
  let ran = false;
  const pending = transaction(db, () => {
    ran = true;
    db.exec("INSERT INTO t VALUES (2)");
  });
  db.exec("INSERT INTO t VALUES (1)");
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(ran, false);
  db.exec("ROLLBACK");
  await pending;
  assert.deepEqual(db.prepare("SELECT v FROM t").all().map((r) => r.v), [2]);
  db.close();
});

Deno.test("SqliteProjector killed mid-catch-up resumes from its checkpoint and ends identical to a rebuild from zero", async () => {
  await using tmp = await tempDir();
  const eventsPath = join(tmp.dir, "events.db");
  const readPath = join(tmp.dir, "read.db");
  const total = 20_000;
  await using store = new SqliteEventStore({ path: eventsPath });
  const last = await appendLedger(store, total, { streams: 97, chunk: 100 });
  assert.equal(last.position, String(total));
  const events = await allEvents(store);

  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      new URL("./_projection_child.ts", import.meta.url).pathname,
      eventsPath,
      readPath,
      "10",
    ],
    cwd: new URL("../../", import.meta.url).pathname,
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  // Watch the child's checkpoint; kill it (SIGKILL, possibly inside a transaction) past 1/4.
  let watcher: DatabaseSync | undefined;
  try {
    await waitFor(() => {
      Deno.statSync(readPath);
      watcher ??= new DatabaseSync(readPath, { readOnly: true });
      const position = storedPosition(watcher);
      return position !== undefined && BigInt(position) >= BigInt(total / 4);
    }, { intervalMs: 1, what: "the child's checkpoint past a quarter" });
    child.kill("SIGKILL");
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // already dead
    }
    await child.status;
    watcher?.close();
  }
  const status = await child.status;
  assert.equal(status.signal, "SIGKILL");

  const db = openDatabase(readPath);
  const killedAt = storedPosition(db);
  assert.ok(killedAt !== undefined && BigInt(killedAt) >= BigInt(total / 4), killedAt);
  assert.ok(BigInt(killedAt) < BigInt(total), `the child finished (${killedAt}) before the kill`);
  // Whatever it was doing, the read model is exactly the events up to its checkpoint.
  assert.deepEqual(dumpLedger(db), foldLedger(upTo(events, killedAt)));

  const resumed = counting(ledgerProjection());
  await using projector = await SqliteProjector.start({
    store,
    db,
    projection: resumed.projection,
    batchSize: 333,
  });
  await projector.caughtUp;
  assert.equal(projector.position, String(total));
  // It resumed from the checkpoint: each remaining event applied once, none again.
  assert.equal(resumed.applies, total - Number(killedAt));

  const fresh = openDatabase(join(tmp.dir, "rebuilt.db"));
  const rebuilt = await rebuildProjection({ store, db: fresh, projection: ledgerProjection() });
  assert.deepEqual(rebuilt, { events: total, position: String(total) });
  assert.deepEqual(dumpLedger(db), dumpLedger(fresh));
  assert.deepEqual(dumpLedger(db), foldLedger(events));
  await projector[Symbol.asyncDispose]();
  db.close();
  fresh.close();
});

Deno.test("SqliteProjector rebuilds from zero when the projection's version changes", async () => {
  await using store = new MemoryEventStore();
  const db = new DatabaseSync(":memory:");
  await appendLedger(store, 50);
  {
    await using v1 = await SqliteProjector.start({ store, db, projection: ledgerProjection() });
    await v1.caughtUp;
  }
  assert.deepEqual(dumpLedger(db), foldLedger(await allEvents(store)));

  const v2 = counting(ledgerProjection({ version: 2, factor: 10 }));
  {
    await using projector = await SqliteProjector.start({ store, db, projection: v2.projection });
    await projector.caughtUp;
  }
  assert.equal(v2.applies, 50);
  assert.deepEqual(dumpLedger(db), foldLedger(await allEvents(store), 10));
  assert.deepEqual(readCheckpoint(db, "ledger"), { position: "50", version: 2 });

  // Same version again: it resumes, nothing is applied twice.
  const again = counting(ledgerProjection({ version: 2, factor: 10 }));
  await appendLedger(store, 3, { start: 50 });
  {
    await using projector = await SqliteProjector.start({
      store,
      db,
      projection: again.projection,
    });
    await projector.caughtUp;
  }
  assert.equal(again.applies, 3);
  assert.deepEqual(dumpLedger(db), foldLedger(await allEvents(store), 10));
  db.close();
});

Deno.test("SqliteProjector stops with PROJECTION_SUPERSEDED when another version takes its read model over", async () => {
  await using store = new MemoryEventStore();
  const db = new DatabaseSync(":memory:");
  await appendLedger(store, 20);
  const errors: unknown[] = [];
  await using v1 = await SqliteProjector.start({
    store,
    db,
    projection: ledgerProjection(),
    onError: (error) => errors.push(error),
  });
  await v1.caughtUp;
  await using v2 = await SqliteProjector.start({
    store,
    db,
    projection: ledgerProjection({ version: 2, factor: 10 }),
  });
  await v2.caughtUp;
  const written = await appendLedger(store, 5, { start: 20 });
  await assertCode(v1.closed, "PROJECTION_SUPERSEDED");
  assert.equal(errors.length, 1);
  await assertCode(v1.waitFor(written.position), "PROJECTION_SUPERSEDED");
  await v2.waitFor(written.position);
  assert.deepEqual(dumpLedger(db), foldLedger(await allEvents(store), 10));
  db.close();
});

Deno.test("rebuildProjection resets the read model; a running projector notices and goes on from the stored checkpoint", async () => {
  await using tmp = await tempDir();
  await using store = new MemoryEventStore();
  const path = join(tmp.dir, "read.db");
  const db = openDatabase(path);
  await appendLedger(store, 100);
  const running = counting(ledgerProjection());
  await using projector = await SqliteProjector.start({
    store,
    db,
    projection: running.projection,
    batchSize: 8,
  });
  await projector.caughtUp;
  assert.equal(running.applies, 100);

  // A CLI (another connection) rebuilds while the store holds only the first 10 events.
  const cli = openDatabase(path);
  const firstTen: EventStore = Object.assign(Object.create(store), {
    readAll: async (options: Parameters<EventStore["readAll"]>[0]) =>
      (await store.readAll(options)).filter((e) => BigInt(e.position) <= 10n),
  });
  const result = await rebuildProjection({
    store: firstTen,
    db: cli,
    projection: ledgerProjection(),
    batchSize: 3,
  });
  assert.deepEqual(result, { events: 10, position: "10" });
  assert.deepEqual(dumpLedger(db), foldLedger((await allEvents(store)).slice(0, 10)));
  assert.equal(projector.position, "100");

  // The projector's next batch finds the checkpoint at 10, not 100: it applies 11… again.
  const written = await appendLedger(store, 1, { start: 100 });
  await projector.waitFor(written.position);
  assert.equal(running.applies, 100 + 91);
  assert.equal(projector.position, "101");
  assert.deepEqual(dumpLedger(db), foldLedger(await allEvents(store)));

  // A rebuild racing live appends and the projector: every event still applied once.
  const rebuilding = rebuildProjection({
    store,
    db: cli,
    projection: ledgerProjection(),
    batchSize: 3,
  });
  let lastWrite = written;
  for (let i = 0; i < 30; i++) lastWrite = await appendLedger(store, 2, { start: 101 + i * 2 });
  const raced = await rebuilding;
  await projector.waitFor(lastWrite.position);
  assert.ok(BigInt(raced.position!) <= BigInt(lastWrite.position));
  assert.equal(storedPosition(db), lastWrite.position);
  assert.deepEqual(dumpLedger(db), foldLedger(await allEvents(store)));
  assert.deepEqual(dumpLedger(cli), dumpLedger(db));
  cli.close();
  await projector[Symbol.asyncDispose]();
  db.close();
});

Deno.test("SqliteProjector retries a failing batch after a backoff: rolled back, never skipped", async () => {
  await using store = new MemoryEventStore();
  const db = new DatabaseSync(":memory:");
  await appendLedger(store, 10);
  const ledger = ledgerProjection();
  let poisoned = true;
  const projection = defineSqliteProjection({
    name: "ledger",
    setup: (db) => ledger.setup(db),
    reset: (db) => ledger.reset(db),
    apply(db, event) {
      ledger.apply(db, event);
      if (poisoned && (event.data as { poison?: boolean }).poison === true) {
        throw new Error(`cannot digest ${event.id}`);
      }
    },
  });
  const errors: unknown[] = [];
  const thrice = Promise.withResolvers<void>();
  await using projector = await SqliteProjector.start({
    store,
    db,
    projection,
    batchSize: 50,
    retryDelayMs: 1,
    onError(error) {
      errors.push(error);
      if (errors.length === 3) thrice.resolve();
    },
  });
  await projector.caughtUp;
  const before = foldLedger(await allEvents(store));
  // One append, one batch: two good events around the poison one.
  const written = await store.append("acct-p", [
    { id: crypto.randomUUID(), type: "Deposited", data: { amount: 1 } },
    { id: crypto.randomUUID(), type: "Deposited", data: { amount: 2, poison: true } },
    { id: crypto.randomUUID(), type: "Deposited", data: { amount: 4 } },
  ], { expectedVersion: "no_stream" });
  const waiting = projector.waitFor(written.position);
  await thrice.promise;
  assert.ok(errors.every((e) => e instanceof Error && /cannot digest/.test(e.message)));
  // The batch rolled back whole; the checkpoint did not move.
  assert.equal(projector.position, "10");
  assert.equal(storedPosition(db), "10");
  assert.deepEqual(dumpLedger(db), before);

  poisoned = false;
  await waiting;
  assert.equal(storedPosition(db), written.position);
  const row = db.prepare("SELECT balance FROM ledger_accounts WHERE stream = 'acct-p'").get();
  assert.equal(row?.balance, 7);
  assert.deepEqual(dumpLedger(db), foldLedger(await allEvents(store)));
  db.close();
});

Deno.test("SqliteProjector stops cleanly on dispose or abort, and a new one resumes", async () => {
  await using store = new MemoryEventStore();
  const db = new DatabaseSync(":memory:");
  await appendLedger(store, 30);
  const projector = await SqliteProjector.start({
    store,
    db,
    projection: ledgerProjection(),
    batchSize: 4,
  });
  await projector.caughtUp;
  const pending = projector.waitFor("1000");
  const aborted = new AbortController();
  const abortable = projector.waitFor("1000", { signal: aborted.signal });
  aborted.abort(new Error("no longer needed"));
  await assert.rejects(abortable, /no longer needed/);
  await projector[Symbol.asyncDispose]();
  await projector.closed;
  await assertCode(pending, "EVENTSTORE_CLOSED");
  await assertCode(projector.waitFor("31"), "EVENTSTORE_CLOSED");
  await projector.waitFor("30"); // already applied
  await projector[Symbol.asyncDispose](); // twice is fine

  const written = await appendLedger(store, 5, { start: 30 });
  assert.equal(storedPosition(db), "30");

  const signal = new AbortController();
  const next = await SqliteProjector.start({
    store,
    db,
    projection: ledgerProjection(),
    signal: signal.signal,
  });
  await next.waitFor(written.position);
  assert.deepEqual(dumpLedger(db), foldLedger(await allEvents(store)));
  signal.abort();
  await next.closed;
  await assert.rejects(
    SqliteProjector.start({ store, db, projection: ledgerProjection(), signal: signal.signal }),
  );
  db.close();
});

Deno.test("SqliteProjector stops with EVENTSTORE_CLOSED when its store closes", async () => {
  const store = new MemoryEventStore();
  const db = new DatabaseSync(":memory:");
  await appendLedger(store, 3);
  const errors: unknown[] = [];
  await using projector = await SqliteProjector.start({
    store,
    db,
    projection: ledgerProjection(),
    onError: (error) => errors.push(error),
  });
  await projector.caughtUp;
  await store[Symbol.asyncDispose]();
  await assertCode(projector.closed, "EVENTSTORE_CLOSED");
  assert.equal(errors.length, 1);
  db.close();
});

Deno.test("defineSqliteProjection() and SqliteProjector.start() refuse invalid input with RangeError", async () => {
  const good = {
    name: "orders_by_customer",
    setup() {},
    reset() {},
    apply() {},
  };
  assert.equal(defineSqliteProjection(good), good);
  assert.equal(defineSqliteProjection({ ...good, version: 3 }).version, 3);
  const bad: unknown[] = [
    undefined,
    null,
    { ...good, name: "" },
    { ...good, name: "has space" },
    { ...good, name: "1st" },
    { ...good, name: "semi;colon" },
    { ...good, name: "x".repeat(65) },
    { ...good, name: 42 },
    { ...good, version: 0 },
    { ...good, version: -1 },
    { ...good, version: 1.5 },
    { ...good, version: "2" },
    { ...good, version: Number.NaN },
    { ...good, setup: undefined },
    { ...good, reset: "DELETE FROM t" },
    { ...good, apply: null },
  ];
  for (const p of bad) {
    assert.throws(() => defineSqliteProjection(p as SqliteProjection), RangeError, String(p));
  }
  assert.throws(
    () => defineSqliteProjection({ ...good, name: "" }),
    /Cannot define the projection as 'name'/,
  );

  await using store = new MemoryEventStore();
  const db = new DatabaseSync(":memory:");
  const projection = ledgerProjection();
  const options = { store, db, projection };
  for (
    const wrong of [
      { ...options, batchSize: 0 },
      { ...options, batchSize: 1.5 },
      { ...options, retryDelayMs: -1 },
      { ...options, projection: { ...good, version: 0 } },
      { ...options, store: {} as EventStore },
      { ...options, db: undefined as unknown as DatabaseSync },
      { ...options, onError: "log" as unknown as () => void },
    ]
  ) {
    await assert.rejects(SqliteProjector.start(wrong), RangeError);
  }
  await assert.rejects(rebuildProjection({ ...options, batchSize: -2 }), RangeError);
  await using projector = await SqliteProjector.start(options);
  await assert.rejects(projector.waitFor("-1"), RangeError);
  await assert.rejects(projector.waitFor("1.5"), RangeError);
  await assert.rejects(projector.waitFor(undefined as unknown as string), RangeError);
  const closing = new DatabaseSync(":memory:");
  closing.close();
  await assert.rejects(SqliteProjector.start({ ...options, db: closing }), RangeError);
  await projector[Symbol.asyncDispose]();
  db.close();
});

Deno.test("SqliteProjector: stopped and restarted anywhere, failing anywhere, the read model equals a fold from zero", async () => {
  const spec = fc.record({
    stream: fc.integer({ min: 0, max: 3 }),
    type: fc.constantFrom("Deposited", "Withdrawn", "Noted"),
    amount: fc.integer({ min: 1, max: 1_000 }),
  });
  const run = fc.record({
    batchSize: fc.integer({ min: 1, max: 7 }),
    stopAt: fc.nat(),
    failAt: fc.option(fc.nat(), { nil: undefined }),
  });
  await fc.assert(
    fc.asyncProperty(
      fc.array(spec, { minLength: 1, maxLength: 40 }),
      fc.array(run, { minLength: 1, maxLength: 4 }),
      fc.nat(),
      fc.integer({ min: 1, max: 9 }),
      async (specs, runs, split, finalBatch) => {
        await using store = new MemoryEventStore();
        const db = new DatabaseSync(":memory:");
        const append = (from: number, to: number) =>
          Promise.all(
            specs.slice(from, to).map((s) =>
              store.append(`acct-${s.stream}`, [
                { id: crypto.randomUUID(), type: s.type, data: { amount: s.amount } },
              ], { expectedVersion: "any" })
            ),
          );
        const before = split % (specs.length + 1);
        await append(0, before);
        const ledger = ledgerProjection();
        for (const { batchSize, stopAt, failAt } of runs) {
          let fail = failAt === undefined ? undefined : String(failAt % Math.max(before, 1) + 1);
          const projection = defineSqliteProjection({
            name: "ledger",
            setup: (db) => ledger.setup(db),
            reset: (db) => ledger.reset(db),
            apply(db, event) {
              ledger.apply(db, event);
              if (event.position === fail) {
                fail = undefined;
                throw new Error("crash inside the transaction");
              }
            },
          });
          const projector = await SqliteProjector.start({
            store,
            db,
            projection,
            batchSize,
            retryDelayMs: 0,
          });
          if (before > 0) await projector.waitFor(String(stopAt % before + 1));
          await projector[Symbol.asyncDispose]();
          const at = storedPosition(db);
          assert.equal(at, projector.position);
          assert.deepEqual(dumpLedger(db), foldLedger(upTo(await allEvents(store), at)));
        }
        await using last = await SqliteProjector.start({
          store,
          db,
          projection: ledger,
          batchSize: finalBatch,
        });
        await append(before, specs.length); // live
        await last.waitFor(String(specs.length));
        const events = await allEvents(store);
        assert.deepEqual(dumpLedger(db), foldLedger(events));
        const fresh = new DatabaseSync(":memory:");
        await rebuildProjection({ store, db: fresh, projection: ledger, batchSize: finalBatch });
        assert.deepEqual(dumpLedger(fresh), dumpLedger(db));
        await last[Symbol.asyncDispose]();
        fresh.close();
        db.close();
      },
    ),
    { numRuns: 60 },
  );
});
