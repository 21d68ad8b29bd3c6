import assert from "node:assert/strict";
import postgres from "postgres";
import { z } from "zod";
import { ManualClock } from "@flotilla/core";
import { EventCatalog, MemoryBus, OutboxRelay } from "@flotilla/bus";
import { startPostgres, waitFor } from "@flotilla/testing";
import { testEventStoreConformance } from "./conformance.ts";
import { EventStoreError, WrongExpectedVersionError } from "./errors.ts";
import type { EventStore, NewEvent, ReadAllOptions, RecordedEvent } from "./event_store.ts";
import { PostgresEventStore } from "./postgres_event_store.ts";
import { migrate, MIGRATIONS } from "./_postgres_migrations.ts";

/** A store on a server of its own; disposing the store stops the server. */
async function openOnOwnServer(): Promise<EventStore> {
  const server = await startPostgres();
  const store = await PostgresEventStore.connect({ url: server.url, pollIntervalMs: 200 });
  let stopped: Promise<void> | undefined;
  const stop = async () => {
    await store[Symbol.asyncDispose]();
    await server[Symbol.asyncDispose]();
  };
  return new Proxy(store, {
    get(target, key) {
      if (key === Symbol.asyncDispose) return () => (stopped ??= stop());
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

testEventStoreConformance("PostgresEventStore", openOnOwnServer, { propertyRuns: 2 });

// --- helpers -----------------------------------------------------------------------------------

/**
 * A private server for one test. Autovacuum is off: its ANALYZE takes
 * transaction ids, which would hold readers back for a moment (harmless,
 * but a subscription that never polls would wait for the next append).
 */
function startServer() {
  return startPostgres({ settings: { autovacuum: "off" } });
}

/** A raw postgres.js client (another process, as far as the store can tell). */
function rawClient(url: string): postgres.Sql & AsyncDisposable {
  const sql = postgres(url, { max: 4, onnotice: () => {} });
  return Object.assign(sql, { [Symbol.asyncDispose]: () => sql.end() });
}

function events(count: number, type = "order.changed"): NewEvent[] {
  return Array.from({ length: count }, (_, i) => ({ id: crypto.randomUUID(), type, data: { i } }));
}

/** Fails instead of hanging when `promise` never settles: a guard, not a timing assertion. */
async function guarded<T>(promise: Promise<T>, what: string, timeoutMs = 30_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Gave up waiting for ${what}`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const byPosition = (a: { position: string }, b: { position: string }) =>
  BigInt(a.position) < BigInt(b.position) ? -1 : BigInt(a.position) > BigInt(b.position) ? 1 : 0;

function assertIncreasing(list: readonly RecordedEvent[]): void {
  for (let i = 1; i < list.length; i++) {
    assert.ok(
      BigInt(list[i]!.position) > BigInt(list[i - 1]!.position),
      `position ${list[i]!.position} after ${list[i - 1]!.position}`,
    );
  }
}

/**
 * Installs a test-only trigger in `schema` that makes an append wait in the
 * middle of its transaction — after it has taken its transaction id and
 * inserted its rows, before it commits — while an {@link AppendHold} holds
 * its lock: the events of such an append carry metadata `{ hold: key }`
 * (metadata plays no part in idempotency).
 */
async function installHoldTrigger(sql: postgres.Sql, schema: string): Promise<void> {
  await sql.unsafe(`
CREATE FUNCTION "${schema}".test_hold() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock((NEW.metadata->>'hold')::bigint);
  RETURN NULL;
END $$;
CREATE TRIGGER test_hold AFTER INSERT ON "${schema}".events FOR EACH ROW
  WHEN (NEW.metadata ? 'hold') EXECUTE FUNCTION "${schema}".test_hold();
`).simple();
}

/** The lock that appends marked with its key wait for (see {@link installHoldTrigger}). */
class AppendHold implements AsyncDisposable {
  readonly key: number;
  readonly #sql: postgres.Sql;
  #holder: postgres.ReservedSql | undefined;

  private constructor(sql: postgres.Sql, key: number, holder: postgres.ReservedSql) {
    this.#sql = sql;
    this.key = key;
    this.#holder = holder;
  }

  /** Takes the lock `key` on a connection of its own. */
  static async take(sql: postgres.Sql, key: number): Promise<AppendHold> {
    const holder = await sql.reserve();
    await holder`SELECT pg_advisory_lock(${key})`;
    return new AppendHold(sql, key, holder);
  }

  /** Metadata that makes an append wait for {@link AppendHold.release}. */
  get metadata(): { hold: number } {
    return { hold: this.key };
  }

  /**
   * Waits until `count` appends of the store wait on the lock, and returns
   * their transaction ids (each already taken: the appends are mid-transaction).
   */
  async waiting(count = 1): Promise<bigint[]> {
    return await waitFor(async () => {
      const rows = await this.#sql<{ xid: string | null }[]>`
        SELECT backend_xid::text AS xid FROM pg_stat_activity
        WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'
          AND application_name = 'flotilla-eventstore'`;
      return rows.length >= count && rows.every((row) => row.xid !== null)
        ? rows.map((row) => BigInt(row.xid!))
        : undefined;
    }, { intervalMs: 5, timeoutMs: 30_000, what: `${count} append(s) waiting on the hold` });
  }

  /** Waits until `count` store connections wait for another transaction (a unique key in flight). */
  async waitingBehind(count = 1): Promise<void> {
    await waitFor(async () => {
      const [row] = await this.#sql<{ n: number }[]>`
        SELECT count(*)::integer AS n FROM pg_stat_activity
        WHERE wait_event_type = 'Lock' AND wait_event = 'transactionid'
          AND application_name = 'flotilla-eventstore'`;
      return row!.n >= count;
    }, { intervalMs: 5, timeoutMs: 30_000, what: `${count} append(s) waiting behind another` });
  }

  /** Lets the held appends go on (and later ones pass). */
  async release(): Promise<void> {
    const holder = this.#holder;
    if (holder === undefined) return;
    this.#holder = undefined;
    await holder`SELECT pg_advisory_unlock(${this.key})`;
    holder.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }
}

/**
 * Counts the reads `store`'s subscriptions make, per batch size (each
 * subscription reads with its own `limit`): test instrumentation, so that
 * a test can wait for a subscription to have read again without sleeping.
 */
function countReads(store: PostgresEventStore) {
  const readAll = store.readAll.bind(store);
  let epoch = 0;
  const counts = new Map<number | undefined, number>();
  store.readAll = async (options: ReadAllOptions = {}) => {
    const started = epoch;
    const result = await readAll(options);
    if (started === epoch) counts.set(options.limit, (counts.get(options.limit) ?? 0) + 1);
    return result;
  };
  return {
    /** Forgets the reads so far, and those in progress. */
    restart(): void {
      epoch++;
      counts.clear();
    },
    /** Reads of subscriptions with batch size `limit` since the restart. */
    of(limit: number): number {
      return counts.get(limit) ?? 0;
    },
  };
}

/** A loopback TCP proxy to a server, whose connections a test cuts (a network failure). */
class CuttableProxy implements AsyncDisposable {
  readonly port: number;
  readonly #listener: Deno.Listener;
  readonly #conns = new Set<Deno.Conn>();
  readonly #pipes = new Set<Promise<unknown>>();
  readonly #accepting: Promise<void>;

  constructor(targetPort: number) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#accepting = this.#accept(targetPort);
  }

  async #accept(targetPort: number): Promise<void> {
    try {
      for await (const client of this.#listener) {
        const server = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
        this.#conns.add(client).add(server);
        const pipe = Promise.allSettled([
          client.readable.pipeTo(server.writable),
          server.readable.pipeTo(client.writable),
        ]);
        this.#pipes.add(pipe);
      }
    } catch {
      // the listener closed
    }
  }

  /** Closes every connection through the proxy, both ways (new ones still get through). */
  cut(): void {
    for (const conn of this.#conns) {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
    this.#conns.clear();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#listener.close();
    await this.#accepting;
    this.cut();
    await Promise.all(this.#pipes);
  }
}

// --- gap safety --------------------------------------------------------------------------------

Deno.test("PostgresEventStore: an append in flight below a hundred later commits holds every reader back, and none skips it", async () => {
  await using server = await startServer();
  await using sql = rawClient(server.url);
  await using reader = await PostgresEventStore.connect({ url: server.url, pollIntervalMs: 10 });
  await using writer = await PostgresEventStore.connect({ url: server.url });
  const before = await writer.append("before", events(1), { expectedVersion: "no_stream" });
  const reads = countReads(reader);

  // A live subscription, caught up before the gap opens.
  const live: RecordedEvent[] = [];
  await using liveSub = await reader.subscribeToAll((list) => void live.push(...list), {
    checkpoint: "live",
  });
  await guarded(liveSub.caughtUp, "the live subscription to catch up");
  assert.deepEqual(live.map((e) => e.position), [before.position]);

  // The slow writer: a store append that has taken its transaction id (so its
  // events' positions are below any later append's) and then waits, uncommitted.
  await installHoldTrigger(sql, reader.schema);
  await using hold = await AppendHold.take(sql, 1);
  const slowEvents = events(2).map((e) => ({ ...e, metadata: hold.metadata }));
  const slow = reader.append("slow", slowEvents, { expectedVersion: "no_stream" });
  const [slowXid] = await hold.waiting();
  const gap = slowXid! << 16n; // the lowest position the slow append can have

  // A hundred others commit meanwhile, above the gap.
  const others = await Promise.all(
    Array.from(
      { length: 100 },
      (_, i) => writer.append(`other-${i}`, events(1), { expectedVersion: "no_stream" }),
    ),
  );
  for (const result of others) assert.ok(BigInt(result.position) > gap);
  // The hazard is real: they are committed and visible, and a reader going by
  // position alone would hand them out now and move past the slow append for good.
  const [visible] = await sql<{ above: number; slow: number }[]>`
    SELECT count(*) FILTER (WHERE position >= ${String(gap)}::bigint)::integer AS above,
      count(*) FILTER (WHERE stream = 'slow')::integer AS slow
    FROM ${sql(reader.schema)}.events`;
  assert.deepEqual(visible, { above: 100, slow: 0 });

  // This store's readers stop before the gap.
  assert.deepEqual((await reader.readAll()).map((e) => e.position), [before.position]);
  assert.deepEqual(await writer.readAll({ after: before.position }), []);
  // A catch-up subscription started now catches up to the gap, not past it.
  const catchUp: RecordedEvent[] = [];
  await using catchUpSub = await reader.subscribeToAll((list) => void catchUp.push(...list), {
    checkpoint: "catch-up",
    batchSize: 7,
  });
  await guarded(catchUpSub.caughtUp, "the catch-up subscription to catch up");
  // Both subscriptions read several more times (woken by the hundred appends and
  // polling every 10 ms) and still deliver nothing past the gap.
  reads.restart();
  await waitFor(() => reads.of(500) >= 3 && reads.of(7) >= 3, {
    intervalMs: 5,
    what: "the subscriptions to read again",
  });
  assert.deepEqual(live.map((e) => e.position), [before.position]);
  assert.deepEqual(catchUp.map((e) => e.position), [before.position]);
  assert.equal(liveSub.position, before.position);
  assert.equal(await reader.loadCheckpoint("live"), before.position);
  assert.equal(await reader.loadCheckpoint("catch-up"), before.position);

  // The slow append commits last, with the lowest positions of all.
  await hold.release();
  const slowResult = await slow;
  assert.equal(slowResult.written, true);
  assert.ok(BigInt(slowResult.position) >= gap);
  for (const result of others) assert.ok(BigInt(slowResult.position) < BigInt(result.position));

  // Everything arrives, in position order, the slow events first, nothing skipped or twice.
  const expected = [before, ...others].sort(byPosition).map((r) => r.position);
  const slowRead = await reader.readStream("slow");
  expected.splice(1, 0, ...slowRead.map((e) => e.position));
  assert.equal(expected.length, 103);
  for (const [name, list] of [["live", live], ["catch-up", catchUp]] as const) {
    await waitFor(() => list.length >= expected.length, {
      intervalMs: 5,
      what: `the ${name} subscription to deliver everything`,
    });
    assert.deepEqual(list.map((e) => e.position), expected, name);
    assertIncreasing(list);
    assert.deepEqual(list.slice(1, 3).map((e) => e.id), slowEvents.map((e) => e.id));
  }
  assert.deepEqual((await reader.readAll()).map((e) => e.position), expected);
});

// --- idempotency -------------------------------------------------------------------------------

Deno.test("PostgresEventStore: a batch retried after a timeout is written once, whether the first attempt committed unseen or was cancelled", async () => {
  await using server = await startServer();
  await using sql = rawClient(server.url);
  await using proxy = new CuttableProxy(server.port);
  const outbox = { stream: "shop.order", source: "/shop/order" };
  // The client's first connection runs through a network that fails.
  await using far = await PostgresEventStore.connect({
    url: `postgres://postgres@127.0.0.1:${proxy.port}/postgres`,
    outbox,
  });
  await using store = await PostgresEventStore.connect({ url: server.url, outbox });
  await installHoldTrigger(sql, store.schema);
  await using hold = await AppendHold.take(sql, 1);

  // 1. The first attempt commits, but the client never sees the result: the
  // connection drops while the append is in flight on the server.
  const batch = events(3).map((e, i) => i === 0 ? { ...e, metadata: hold.metadata } : e);
  const first = far.append("order-1", batch, { expectedVersion: "no_stream" });
  await hold.waiting();
  proxy.cut();
  await assert.rejects(
    first,
    (error) =>
      error instanceof EventStoreError && error.code === "EVENTSTORE_UNAVAILABLE" &&
      error.retryable,
  );
  // The client retries the same batch, same expected version, while the first
  // attempt is still in flight on the server: the retry waits behind it…
  const retry = store.append("order-1", batch, { expectedVersion: "no_stream" });
  // …and so does a different batch that reuses an id.
  const reused = assert.rejects(
    store.append("order-1", [{ ...batch[1]!, data: { i: "other" } }], {
      expectedVersion: "no_stream",
    }),
    (error) => error instanceof EventStoreError && error.code === "IDEMPOTENCY_CONFLICT",
  );
  await hold.waitingBehind(2);
  await hold.release();
  const retried = await retry;
  const stored = await store.readStream("order-1");
  assert.deepEqual(stored.map((e) => e.id), batch.map((e) => e.id));
  assert.deepEqual(retried, {
    nextExpectedVersion: 2,
    position: stored[2]!.position,
    written: false,
  });
  await reused;
  // Later retries, and a conflicting payload, behave the same.
  assert.deepEqual(await store.append("order-1", batch, { expectedVersion: "no_stream" }), retried);
  await assert.rejects(
    store.append("order-1", [{ ...batch[0]!, data: { i: 9 } }], { expectedVersion: "no_stream" }),
    (error) => error instanceof EventStoreError && error.code === "IDEMPOTENCY_CONFLICT",
  );

  // 2. The client gives up and cancels an attempt in flight: it is rolled back,
  // and the retry writes the batch, once.
  await using hold2 = await AppendHold.take(sql, 2);
  const timeout = new AbortController();
  const batch2 = events(2).map((e, i) => i === 0 ? { ...e, metadata: hold2.metadata } : e);
  const cancelled = store.append("order-2", batch2, {
    expectedVersion: "no_stream",
    signal: timeout.signal,
  });
  await hold2.waiting();
  timeout.abort(new Error("the client's deadline passed"));
  await assert.rejects(cancelled, /the client's deadline passed/);
  assert.equal(await store.streamVersion("order-2"), -1);
  await hold2.release();
  const written = await store.append("order-2", batch2, { expectedVersion: "no_stream" });
  assert.equal(written.written, true);
  assert.equal(written.nextExpectedVersion, 1);
  assert.deepEqual(
    (await store.append("order-2", batch2, { expectedVersion: "no_stream" })).written,
    false,
  );

  // Nothing twice: not in the store, not in the outbox.
  const all = await store.readAll();
  assert.equal(all.length, 5);
  assert.equal(new Set(all.map((e) => e.id)).size, 5);
  const outboxRows = await store.outbox!.pending(100);
  assert.deepEqual(outboxRows.map((row) => row.id), all.map((e) => e.id));
});

// --- notifications, migrations, outbox ---------------------------------------------------------

Deno.test("PostgresEventStore wakes its subscriptions on another connection's append (LISTEN/NOTIFY), without polling", async () => {
  await using server = await startServer();
  // An hour between polls: only the notification can deliver.
  await using reader = await PostgresEventStore.connect({
    url: server.url,
    pollIntervalMs: 3_600_000,
  });
  await using writer = await PostgresEventStore.connect({ url: server.url });
  const first = Promise.withResolvers<RecordedEvent[]>();
  const second = Promise.withResolvers<RecordedEvent[]>();
  await using sub = await reader.subscribeToAll((list) => {
    if (list.some((e) => e.stream === "order-1")) first.resolve([...list]);
    if (list.some((e) => e.stream === "order-2")) second.resolve([...list]);
  });
  await guarded(sub.caughtUp, "the subscription to catch up");
  await writer.append("order-1", events(3), { expectedVersion: "no_stream" });
  assert.deepEqual(
    (await guarded(first.promise, "the first notification")).map((e) => e.version),
    [0, 1, 2],
  );
  await writer.append("order-2", events(1), { expectedVersion: "no_stream" });
  assert.deepEqual(
    (await guarded(second.promise, "the second notification")).map((e) => e.stream),
    ["order-2"],
  );
});

Deno.test("PostgresEventStore.connect() from several processes at once migrates a fresh database once; connecting again changes nothing", async () => {
  await using server = await startServer();
  await using sql = rawClient(server.url);
  const schema = "orders";
  const stores = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      PostgresEventStore.connect({
        url: `${server.url}?schema=${schema}`,
        ...(i % 2 === 0 ? {} : { outbox: { stream: "shop.order", source: "/shop/order" } }),
      })),
  );
  try {
    const recorded = await sql<{ version: number; name: string; applied_at: Date }[]>`
      SELECT version, name, applied_at FROM ${sql(schema)}.migrations ORDER BY version`;
    assert.deepEqual(
      recorded.map(({ version, name }) => ({ version, name })),
      MIGRATIONS.map(({ version, name }) => ({ version, name })),
    );
    const tables = await sql<{ table_name: string }[]>`
      SELECT table_name FROM information_schema.tables WHERE table_schema = ${schema}
      ORDER BY table_name`;
    assert.deepEqual(tables.map((row) => row.table_name), [
      "checkpoints",
      "events",
      "migrations",
      "outbox",
      "outbox_lease",
      "snapshots",
    ]);
    // Each store works on the one schema.
    await Promise.all(
      stores.map((store, i) => store.append(`s-${i}`, events(1), { expectedVersion: "no_stream" })),
    );
    assert.equal((await stores[0]!.readAll()).length, 8);
    // Connecting again applies nothing and touches nothing.
    await using again = await PostgresEventStore.connect({ url: server.url, schema });
    assert.deepEqual(await migrate(sql, schema), []);
    const after = await sql<{ version: number; name: string; applied_at: Date }[]>`
      SELECT version, name, applied_at FROM ${sql(schema)}.migrations ORDER BY version`;
    assert.deepEqual([...after], [...recorded]);
    assert.equal((await again.readAll()).length, 8);
  } finally {
    await Promise.all(stores.map((store) => store[Symbol.asyncDispose]()));
  }
});

Deno.test("PostgresEventStore writes each new event to the outbox in the append's statement", async () => {
  await using server = await startServer();
  const clock = new ManualClock(Date.UTC(2030, 0, 1));
  let writes = 0;
  await using store = await PostgresEventStore.connect({
    url: server.url,
    clock,
    outbox: {
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
  const rows = await store.outbox!.pending(10);
  assert.deepEqual(rows.map((row) => [row.id, row.stream, row.aggregate, row.createdAt]), [
    ["e-1", "shop.order", "order-o-1", clock.now()],
    ["e-2", "shop.order", "order-o-1", clock.now()],
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

Deno.test("PostgresEventStore refuses an event the outbox's catalog rejects, storing nothing", async () => {
  await using server = await startServer();
  const catalog = new EventCatalog({ "order.created": z.object({ orderId: z.string() }) });
  await using store = await PostgresEventStore.connect({
    url: server.url,
    outbox: { stream: "shop.order", source: "/shop/order", catalog },
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
  assert.equal((await store.outbox!.stats()).backlog, 0);
  await store.append("order-1", [{ id: "a", type: "order.created", data: { orderId: "o-1" } }], {
    expectedVersion: "no_stream",
  });
  assert.equal((await store.outbox!.stats()).backlog, 1);
});

Deno.test("PostgresEventStore with an outbox: every appended event reaches the bus exactly once", async () => {
  await using server = await startServer();
  await using bus = new MemoryBus();
  const started: { relay?: OutboxRelay } = {};
  await using store = await PostgresEventStore.connect({
    url: server.url,
    outbox: {
      stream: "shop.order",
      source: "/shop/order",
      onWrite: () => started.relay?.notify(),
    },
  });
  // Disposed before the store it runs on.
  await using relay = started.relay = new OutboxRelay({
    outbox: store.outbox!,
    bus,
    pollIntervalMs: 5,
  });
  const appended: string[] = [];
  for (let order = 0; order < 20; order++) {
    const batch = events(1 + (order % 3));
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
  await guarded(relay.flush(), "the relay to publish everything");
  const published = await bus.read("shop.order", { limit: 1_000 });
  assert.deepEqual(published.map((m) => m.event.id), appended);
  assert.equal((await store.outbox!.stats()).backlog, 0);
  assert.equal(relay.status.published, appended.length);
});
