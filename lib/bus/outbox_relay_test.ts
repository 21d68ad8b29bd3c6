import assert from "node:assert/strict";
import type { DatabaseSync } from "node:sqlite";
import fc from "fast-check";
import { checkEffects, checkTotalQueue, History } from "@flotilla/consistency";
import { FlotillaError } from "@flotilla/core";
import { ManualTimers } from "@flotilla/resilience";
import { immediate } from "@flotilla/sqlite";
import type { Bus, PublishOptions, PublishReceipt, Subscription } from "./bus.ts";
import type { CloudEvent } from "./cloud_event.ts";
import { BusError } from "./errors.ts";
import { SqliteInbox } from "./inbox.ts";
import { MemoryBus } from "./memory_bus.ts";
import { SqliteBus } from "./sqlite_bus.ts";
import { type Outbox, type OutboxLease, type OutboxRow, SqliteOutbox } from "./outbox.ts";
import { OutboxRelay } from "./outbox_relay.ts";
import { LogBus } from "./_outbox_log_bus.ts";
import type { CrashPoint, PublisherConfig } from "./_outbox_crash_child.ts";
import {
  addEffect,
  drive,
  Gate,
  macrotask,
  openEffects,
  openOrders,
  orderEvent,
  readEffects,
  spawnChild,
  tempDir,
  until,
} from "./_outbox_test_util.ts";

/** Commits one order and its event; logs the enqueue in `history`. */
function placeOrder(
  db: DatabaseSync,
  outbox: SqliteOutbox,
  history: History<string>,
  id: string,
  customer: string,
  stream = "shop.order",
): void {
  history.invoke("writer", "enqueue", id);
  immediate(db, () => {
    db.prepare("INSERT INTO orders (id, customer) VALUES (?, ?)").run(id, customer);
    outbox.add(stream, orderEvent(id, customer));
  });
  history.ok("writer", "enqueue", id);
}

/** Logs every copy in `copies` as a dequeue. */
function logDequeues(history: History<string>, copies: readonly CloudEvent[]): void {
  for (const event of copies) {
    history.invoke("consumer", "dequeue");
    history.ok("consumer", "dequeue", event.id);
  }
}

/** The first copy of each id, in arrival order. */
function firstCopies(copies: readonly CloudEvent[]): CloudEvent[] {
  const seen = new Set<string>();
  return copies.filter((event) => !seen.has(event.id) && seen.add(event.id));
}

/** Checks that, per aggregate, the first copies arrived in commit order. */
function assertOrderPerAggregate(copies: readonly CloudEvent[], committed: readonly string[]) {
  const rank = new Map(committed.map((id, index) => [id, index]));
  const last = new Map<string, number>();
  for (const event of firstCopies(copies)) {
    const position = rank.get(event.id)!;
    const subject = event.subject ?? "";
    assert.ok(
      position > (last.get(subject) ?? -1),
      `${event.id} of ${subject} arrived after a later event of the same aggregate`,
    );
    last.set(subject, position);
  }
}

/** A bus that delegates to another, failing on demand and recording what it was asked. */
class ScriptedBus implements Bus {
  readonly kind = "scripted";
  readonly attempts: Array<{ stream: string; ids: string[]; at: number }> = [];
  failNext = 0;
  gate = new Gate();
  readonly #inner: Bus;
  readonly #timers: ManualTimers;

  constructor(inner: Bus, timers: ManualTimers) {
    this.#inner = inner;
    this.#timers = timers;
  }

  async publish(
    stream: string,
    events: readonly CloudEvent[],
    options?: PublishOptions,
  ): Promise<PublishReceipt[]> {
    this.attempts.push({ stream, ids: events.map((e) => e.id), at: this.#timers.now() });
    await this.gate.pass();
    if (this.failNext > 0) {
      this.failNext--;
      throw new BusError("BUS_UNAVAILABLE", "the broker is down");
    }
    return await this.#inner.publish(stream, events, options);
  }

  subscribe: Bus["subscribe"] = (...args) => this.#inner.subscribe(...args);
  deadLetters: Bus["deadLetters"] = (...args) => this.#inner.deadLetters(...args);
  read: Bus["read"] = (...args) => this.#inner.read(...args);
  [Symbol.asyncDispose](): Promise<void> {
    return Promise.resolve();
  }
}

/** An outbox whose calls can be frozen (a paused process) or whose next markSent crashes. */
class ScriptedOutbox implements Outbox {
  readonly gate = new Gate();
  crashNextMark = false;
  readonly #inner: Outbox;

  constructor(inner: Outbox) {
    this.#inner = inner;
  }

  async pending(limit: number): Promise<OutboxRow[]> {
    await this.gate.pass();
    return await this.#inner.pending(limit);
  }
  async markSent(seqs: readonly number[], sentAt: number): Promise<number> {
    await this.gate.pass();
    if (this.crashNextMark) {
      this.crashNextMark = false;
      throw new Error("simulated crash between publish and mark");
    }
    return await this.#inner.markSent(seqs, sentAt);
  }
  async markFailed(seqs: readonly number[], error: string): Promise<void> {
    await this.gate.pass();
    await this.#inner.markFailed(seqs, error);
  }
  async purgeSent(before: number, limit: number): Promise<number> {
    await this.gate.pass();
    return await this.#inner.purgeSent(before, limit);
  }
  async acquireLease(owner: string, now: number, leaseMs: number): Promise<OutboxLease> {
    await this.gate.pass();
    return await this.#inner.acquireLease(owner, now, leaseMs);
  }
  async releaseLease(owner: string): Promise<void> {
    await this.gate.pass();
    await this.#inner.releaseLease(owner);
  }
}

/** A bus whose publishes wait at a gate before reaching the broker, ignoring aborts. */
class FreezableBus extends LogBus {
  readonly gate = new Gate();
  freezeOnPublish = false;

  override async publish(
    stream: string,
    events: readonly CloudEvent[],
    _options?: PublishOptions,
  ): Promise<PublishReceipt[]> {
    if (this.freezeOnPublish) {
      this.freezeOnPublish = false;
      this.gate.close();
    }
    await this.gate.pass();
    return await super.publish(stream, events);
  }
}

Deno.test("OutboxRelay publishes each stream's events in seq order and marks them sent", async () => {
  await using dir = await tempDir();
  const timers = new ManualTimers();
  const db = openOrders(dir.file("svc.db"));
  const outbox = new SqliteOutbox(db, { clock: timers });
  await using bus = new MemoryBus({ timers });
  const history = new History<string>();
  const committed: string[] = [];
  for (let i = 0; i < 30; i++) {
    const id = `e-${i}`;
    placeOrder(db, outbox, history, id, `c-${i % 4}`, i % 3 === 0 ? "shop.payment" : "shop.order");
    committed.push(id);
  }
  await using relay = new OutboxRelay({ outbox, bus, timers, batchSize: 7 });
  await drive(timers, relay.flush());
  const orders = (await bus.read("shop.order")).map((entry) => entry.event.id);
  const payments = (await bus.read("shop.payment")).map((entry) => entry.event.id);
  assert.deepEqual(orders, committed.filter((_, i) => i % 3 !== 0));
  assert.deepEqual(payments, committed.filter((_, i) => i % 3 === 0));
  assert.deepEqual(outbox.stats(), { backlog: 0, oldestAgeMs: 0, failing: 0, sent: 30 });
  assert.equal(relay.status.published, 30);
  assert.equal(relay.status.leader, true);
  logDequeues(
    history,
    [...(await bus.read("shop.order")), ...(await bus.read("shop.payment"))]
      .map((entry) => entry.event),
  );
  const verdict = checkTotalQueue(history, { exactlyOnce: true });
  assert.equal(verdict.valid, true);
  db.close();
});

Deno.test("OutboxRelay.notify() starts a pass at once, without waiting for the poll", async () => {
  await using dir = await tempDir();
  const timers = new ManualTimers();
  const db = openOrders(dir.file("svc.db"));
  const outbox = new SqliteOutbox(db, { clock: timers });
  await using bus = new MemoryBus({ timers });
  await using relay = new OutboxRelay({ outbox, bus, timers, pollIntervalMs: 60_000 });
  await until(() => relay.status.leader);
  placeOrder(db, outbox, new History(), "e-1", "c-1");
  relay.notify();
  await until(() => relay.status.published === 1);
  assert.equal(timers.clock.now(), 0);
  assert.equal(outbox.stats().backlog, 0);
  db.close();
});

Deno.test("OutboxRelay retries a failed publish with backoff from the same row, skipping nothing", async () => {
  await using dir = await tempDir();
  const timers = new ManualTimers();
  const db = openOrders(dir.file("svc.db"));
  const outbox = new SqliteOutbox(db, { clock: timers });
  await using memory = new MemoryBus({ timers });
  const bus = new ScriptedBus(memory, timers);
  const history = new History<string>();
  for (let i = 0; i < 5; i++) placeOrder(db, outbox, history, `a-${i}`, "c-1", "stream.a");
  placeOrder(db, outbox, history, "b-0", "c-2", "stream.b");
  bus.failNext = 3;
  await using relay = new OutboxRelay({ outbox, bus, timers, minBackoffMs: 100 });
  await until(() => bus.attempts.length === 1 && relay.status.failures === 1);
  assert.deepEqual(outbox.stats(), { backlog: 6, oldestAgeMs: 0, failing: 5, sent: 0 });
  assert.match(relay.status.lastError ?? "", /broker is down/);
  await drive(timers, relay.flush(), 10);
  // Stream a failed three times, at 0, then after 100 and 200 ms of backoff;
  // stream b, later in seq order, was not published before a got through.
  assert.deepEqual(
    bus.attempts.map((attempt) => `${attempt.stream}@${attempt.at}`),
    ["stream.a@0", "stream.a@100", "stream.a@300", "stream.a@700", "stream.b@700"],
  );
  assert.deepEqual(
    (await memory.read("stream.a")).map((entry) => entry.event.id),
    ["a-0", "a-1", "a-2", "a-3", "a-4"],
  );
  assert.equal(relay.status.failures, 0);
  assert.equal(relay.status.lastError, undefined);
  assert.equal(outbox.stats().backlog, 0);
  db.close();
});

Deno.test("OutboxRelay after a crash between publish and mark republishes the same ids; nothing is lost", async () => {
  await using dir = await tempDir();
  const timers = new ManualTimers();
  const db = openOrders(dir.file("svc.db"));
  const outbox = new SqliteOutbox(db, { clock: timers });
  await using bus = new MemoryBus({ timers });
  const history = new History<string>();
  const committed: string[] = [];
  for (let i = 0; i < 10; i++) {
    placeOrder(db, outbox, history, `e-${i}`, `c-${i % 2}`);
    committed.push(`e-${i}`);
  }
  const crashing = new ScriptedOutbox(outbox);
  crashing.crashNextMark = true;
  const first = new OutboxRelay({ outbox: crashing, bus, timers, batchSize: 4, owner: "first" });
  await until(() => first.status.failures === 1);
  await first[Symbol.asyncDispose]();
  assert.equal(outbox.stats().backlog, 10);
  assert.deepEqual((await bus.read("shop.order")).map((e) => e.event.id), committed.slice(0, 4));

  await using second = new OutboxRelay({ outbox, bus, timers, batchSize: 4, owner: "second" });
  await drive(timers, second.flush());
  assert.equal(second.status.published, 10);
  assert.equal(second.status.duplicates, 4); // the broker recognised the republished ids
  const copies = (await bus.read("shop.order")).map((entry) => entry.event);
  assert.deepEqual(copies.map((event) => event.id), committed);
  logDequeues(history, copies);
  assert.equal(checkTotalQueue(history, { exactlyOnce: true }).valid, true);
  db.close();
});

Deno.test("OutboxRelay crash republish to a broker without dedupe: the inbox keeps effects exactly once", async () => {
  await using dir = await tempDir();
  const timers = new ManualTimers();
  const db = openOrders(dir.file("svc.db"));
  const outbox = new SqliteOutbox(db, { clock: timers });
  await using bus = new LogBus(dir.file("broker.db"));
  const history = new History<string>();
  const committed: string[] = [];
  for (let i = 0; i < 10; i++) {
    placeOrder(db, outbox, history, `e-${i}`, `c-${i % 3}`);
    committed.push(`e-${i}`);
  }
  const crashing = new ScriptedOutbox(outbox);
  crashing.crashNextMark = true;
  const first = new OutboxRelay({ outbox: crashing, bus, timers, batchSize: 6 });
  await until(() => first.status.failures === 1);
  await first[Symbol.asyncDispose]();
  await using second = new OutboxRelay({ outbox, bus, timers, batchSize: 6 });
  await drive(timers, second.flush());

  const copies = bus.entries().map((entry) => entry.event);
  assert.equal(copies.length, 16);
  const consumer = openEffects(dir.file("consumer.db"));
  const inbox = new SqliteInbox(consumer, { group: "billing", retentionMs: 86_400_000 });
  for (const event of copies) inbox.process(event, () => addEffect(consumer, event.id));
  logDequeues(history, copies);
  const queue = checkTotalQueue(history);
  assert.equal(queue.valid, true);
  assert.equal(queue.duplicatedCount, 6);
  assert.equal(checkTotalQueue(history, { exactlyOnce: true }).valid, false);
  const effects = checkEffects(committed, readEffects(consumer));
  assert.equal(effects.valid, true, Deno.inspect(effects));
  assertOrderPerAggregate(copies, committed);
  consumer.close();
  db.close();
});

Deno.test("OutboxRelay: two relays at once, the leader frozen mid-publish — no loss, no reordering per aggregate", async () => {
  await using dir = await tempDir();
  const timers = new ManualTimers();
  const writerDb = openOrders(dir.file("svc.db"));
  const writer = new SqliteOutbox(writerDb, { clock: timers });
  const dbA = openOrders(dir.file("svc.db"));
  const dbB = openOrders(dir.file("svc.db"));
  const outboxA = new ScriptedOutbox(new SqliteOutbox(dbA, { clock: timers }));
  await using busA = new FreezableBus(dir.file("broker.db"));
  await using busB = new LogBus(dir.file("broker.db"));
  const history = new History<string>();
  const committed: string[] = [];
  let n = 0;
  const write = (count: number) => {
    for (let i = 0; i < count; i++, n++) {
      placeOrder(writerDb, writer, history, `e-${n}`, `c-${n % 4}`);
      committed.push(`e-${n}`);
    }
  };
  const options = { timers, leaseMs: 1_000, pollIntervalMs: 100, publishTimeoutMs: 500 };
  await using a = new OutboxRelay({ ...options, outbox: outboxA, bus: busA, owner: "A" });
  await until(() => a.status.leader);
  await using b = new OutboxRelay({
    ...options,
    outbox: new SqliteOutbox(dbB, { clock: timers }),
    bus: busB,
    owner: "B",
  });
  write(12);
  await drive(timers, a.flush());
  assert.equal(b.status.leader, false);
  assert.equal(b.status.published, 0);

  // A reads the next batch and freezes as it publishes (a long GC pause, a
  // stopped VM): its publish reaches the broker only when it thaws.
  busA.freezeOnPublish = true;
  write(12);
  a.notify();
  await until(() => !busA.gate.isOpen);
  outboxA.gate.close();
  // B takes over once A's lease runs out, and publishes everything.
  await drive(timers, b.flush());
  assert.equal(b.status.leader, true);
  write(12);
  await drive(timers, b.flush());
  // A thaws: its stale publish lands late, then it finds B holding the lease.
  busA.gate.open();
  outboxA.gate.open();
  await drive(timers, a.flush());
  assert.equal(a.status.leader, false);
  assert.equal(a.status.lease?.owner, "B");

  const copies = busB.entries().map((entry) => entry.event);
  assert.deepEqual(firstCopies(copies).map((event) => event.id), committed);
  assertOrderPerAggregate(copies, committed);
  logDequeues(history, copies);
  const queue = checkTotalQueue(history);
  assert.equal(queue.valid, true, Deno.inspect(queue));
  assert.equal(queue.duplicatedCount, 12); // A's stale copies of the frozen batch
  writerDb.close();
  dbA.close();
  dbB.close();
});

Deno.test("OutboxRelay: relays started, nudged and stopped at random publish every event once, in order (property)", async () => {
  type Step =
    | { type: "write"; count: number; customers: number }
    | { type: "notify"; relay: number }
    | { type: "advance"; ms: number }
    | { type: "restart"; relay: number };
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({
      type: fc.constant("write" as const),
      count: fc.integer({ min: 1, max: 8 }),
      customers: fc.integer({ min: 1, max: 3 }),
    }),
    fc.record({ type: fc.constant("notify" as const), relay: fc.integer({ min: 0, max: 1 }) }),
    fc.record({ type: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 2_500 }) }),
    fc.record({ type: fc.constant("restart" as const), relay: fc.integer({ min: 0, max: 1 }) }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(step, { maxLength: 25 }), async (steps) => {
      await using dir = await tempDir();
      const timers = new ManualTimers();
      const writerDb = openOrders(dir.file("svc.db"));
      const writer = new SqliteOutbox(writerDb, { clock: timers });
      await using bus = new LogBus(dir.file("broker.db"));
      const dbs = [openOrders(dir.file("svc.db")), openOrders(dir.file("svc.db"))];
      const start = (i: number, generation: number) =>
        new OutboxRelay({
          outbox: new SqliteOutbox(dbs[i]!, { clock: timers }),
          bus,
          timers,
          owner: `relay-${i}.${generation}`,
          batchSize: 5,
          leaseMs: 900,
          pollIntervalMs: 200,
          publishTimeoutMs: 400,
        });
      const relays = [start(0, 0), start(1, 0)];
      const history = new History<string>();
      const committed: string[] = [];
      try {
        for (const s of steps) {
          if (s.type === "write") {
            for (let i = 0; i < s.count; i++) {
              const id = `e-${committed.length}`;
              placeOrder(writerDb, writer, history, id, `c-${committed.length % s.customers}`);
              committed.push(id);
            }
          } else if (s.type === "notify") {
            relays[s.relay]!.notify();
            await macrotask();
          } else if (s.type === "advance") {
            await macrotask();
            timers.advance(s.ms);
            await macrotask();
          } else {
            await relays[s.relay]![Symbol.asyncDispose]();
            relays[s.relay] = start(s.relay, committed.length + 1);
          }
        }
        await drive(timers, Promise.all(relays.map((relay) => relay.flush())), 50);
      } finally {
        for (const relay of relays) await relay[Symbol.asyncDispose]();
        writerDb.close();
        for (const db of dbs) db.close();
      }
      const copies = bus.entries().map((entry) => entry.event);
      logDequeues(history, copies);
      // Handovers are graceful here (a stopping relay finishes its batch and
      // gives the lease up): nothing is lost, reordered or even duplicated.
      assert.equal(checkTotalQueue(history, { exactlyOnce: true }).valid, true);
      assert.deepEqual(copies.map((event) => event.id), committed);
    }),
    { numRuns: 40 },
  );
});

Deno.test("OutboxRelay[Symbol.asyncDispose]() finishes the batch in flight, then gives the lease up", async () => {
  await using dir = await tempDir();
  const timers = new ManualTimers();
  const db = openOrders(dir.file("svc.db"));
  const outbox = new SqliteOutbox(db, { clock: timers });
  await using memory = new MemoryBus({ timers });
  const bus = new ScriptedBus(memory, timers);
  placeOrder(db, outbox, new History(), "e-1", "c-1");
  bus.gate.close();
  const relay = new OutboxRelay({ outbox, bus, timers, owner: "leaving" });
  await until(() => bus.attempts.length === 1);
  let disposed = false;
  const disposing = relay[Symbol.asyncDispose]().then(() => disposed = true);
  for (let i = 0; i < 5; i++) await macrotask();
  assert.equal(disposed, false);
  bus.gate.open();
  await disposing;
  assert.equal(outbox.stats().backlog, 0);
  assert.equal(relay.status.closed, true);
  assert.equal(relay.status.leader, false);
  const lease = outbox.acquireLease("next", timers.now(), 1_000);
  assert.deepEqual(lease, { owner: "next", expiresAt: 1_000, fence: 2 });
  await assert.rejects(
    relay.flush(),
    (error: unknown) => error instanceof FlotillaError && error.code === "OUTBOX_RELAY_CLOSED",
  );
  db.close();
});

Deno.test("OutboxRelay.flush() rejects when the relay stops first, or with the signal's reason", async () => {
  await using dir = await tempDir();
  const timers = new ManualTimers();
  const db = openOrders(dir.file("svc.db"));
  const outbox = new SqliteOutbox(db, { clock: timers });
  await using memory = new MemoryBus({ timers });
  const bus = new ScriptedBus(memory, timers);
  placeOrder(db, outbox, new History(), "e-1", "c-1");
  bus.failNext = 1_000;
  const controller = new AbortController();
  const relay = new OutboxRelay({ outbox, bus, timers, signal: controller.signal });
  const flushing = relay.flush();
  const aborted = new AbortController();
  const abortedFlush = relay.flush({ signal: aborted.signal });
  aborted.abort(new Error("gave up"));
  await assert.rejects(abortedFlush, /gave up/);
  await until(() => relay.status.failures > 0);
  controller.abort();
  await assert.rejects(
    flushing,
    (error: unknown) => error instanceof FlotillaError && error.code === "OUTBOX_RELAY_CLOSED",
  );
  await relay.closed;
  db.close();
});

Deno.test("OutboxRelay deletes sent rows once they are older than the retention", async () => {
  await using dir = await tempDir();
  const timers = new ManualTimers();
  const db = openOrders(dir.file("svc.db"));
  const outbox = new SqliteOutbox(db, { clock: timers });
  await using bus = new MemoryBus({ timers });
  for (let i = 0; i < 3; i++) placeOrder(db, outbox, new History(), `e-${i}`, "c");
  await using relay = new OutboxRelay({
    outbox,
    bus,
    timers,
    retentionMs: 1_000,
    purgeIntervalMs: 500,
  });
  await drive(timers, relay.flush());
  assert.equal(outbox.stats().sent, 3);
  timers.advance(1_600);
  await drive(timers, relay.flush());
  assert.equal(outbox.stats().sent, 0);
  db.close();
});

Deno.test("OutboxRelay rejects invalid options", () => {
  const db = openOrders(":memory:");
  const outbox = new SqliteOutbox(db);
  const bus = new MemoryBus();
  const cases: Array<[Record<string, unknown>, string]> = [
    [
      { batchSize: 0 },
      "Cannot create the outbox relay as 'batchSize' must be a positive integer: current value is 0",
    ],
    [
      { pollIntervalMs: Infinity },
      "Cannot create the outbox relay as 'pollIntervalMs' must be a positive finite number: current value is Infinity",
    ],
    [
      { leaseMs: 1_000, publishTimeoutMs: 600 },
      "Cannot create the outbox relay as 'publishTimeoutMs' must be at most half of 'leaseMs' (500): current value is 600",
    ],
    [
      { minBackoffMs: 500, maxBackoffMs: 100 },
      "Cannot create the outbox relay as 'maxBackoffMs' must be at least 'minBackoffMs' (500): current value is 100",
    ],
    [
      { owner: "" },
      `Cannot create the outbox relay as 'owner' must be a non-empty string: current value is ""`,
    ],
  ];
  for (const [options, message] of cases) {
    assert.throws(
      () => new OutboxRelay({ outbox, bus, ...options }),
      (error: unknown) => error instanceof RangeError && error.message === message,
    );
  }
  db.close();
});

/**
 * Runs the publisher child until it freezes at `crashAt` (or, for "none",
 * for a random moment), kills it with SIGKILL, restarts a relay, and checks
 * that every committed order's event is published and processed exactly
 * once, and that no uncommitted one is.
 */
async function publisherCrash(crashAt: CrashPoint, crashIndex: number, seed: number) {
  await using dir = await tempDir();
  const config: PublisherConfig = {
    db: dir.file("svc.db"),
    broker: dir.file("broker.db"),
    history: dir.file("publisher.jsonl"),
    crashAt,
    crashIndex,
    count: crashAt === "none" ? 400 : 40,
    seed,
    owner: "publisher-1",
  };
  await using child = spawnChild("./_outbox_crash_child.ts", config);
  assert.equal(await child.line("STARTED"), "STARTED");
  if (crashAt === "none") {
    await new Promise((resolve) => setTimeout(resolve, seed % 50));
  } else {
    assert.equal(await child.line("FROZEN", "DONE"), `FROZEN ${crashAt}`);
  }
  const status = await child.kill();
  assert.ok(crashAt === "none" || status.signal === "SIGKILL");

  // Restart: the same service instance (same lease owner) or, after a random
  // kill, a different one that waits for the dead one's lease to run out.
  const db = openOrders(config.db);
  const outbox = new SqliteOutbox(db);
  await using bus = new LogBus(config.broker);
  const relay = new OutboxRelay({
    outbox,
    bus,
    owner: crashAt === "none" ? "publisher-2" : config.owner,
    pollIntervalMs: 20,
    leaseMs: 300,
    publishTimeoutMs: 150,
  });
  await relay.flush({ signal: AbortSignal.timeout(30_000) });
  await relay[Symbol.asyncDispose]();

  const committed = db.prepare("SELECT id FROM orders ORDER BY rowid").all().map((row) =>
    String(row.id)
  );
  const copies = bus.entries().map((entry) => entry.event);
  const consumer = openEffects(dir.file("consumer.db"));
  const inbox = new SqliteInbox(consumer, { group: "billing", retentionMs: 86_400_000 });
  for (const event of copies) inbox.process(event, () => addEffect(consumer, event.id));
  const effects = checkEffects(committed, readEffects(consumer));
  assert.equal(effects.valid, true, `${crashAt}: ${Deno.inspect(effects)}`);
  assertOrderPerAggregate(copies, committed);

  const history = History.fromJsonLines<string>(await Deno.readTextFile(config.history));
  logDequeues(history, copies);
  const queue = checkTotalQueue(history);
  assert.equal(queue.valid, true, `${crashAt}: ${Deno.inspect(queue)}`);
  if (crashAt === "before_commit") {
    assert.equal(committed.length, crashIndex);
    assert.equal(queue.indeterminate, 1);
    assert.equal(copies.some((event) => event.id === `e-${crashIndex}`), false);
  }
  if (crashAt === "after_commit") assert.equal(committed.length, crashIndex + 1);
  if (crashAt === "mid_relay") {
    assert.ok(queue.duplicatedCount > 0, "the unmarked batch is republished");
  }
  consumer.close();
  db.close();
}

Deno.test("OutboxRelay: a publisher SIGKILLed at any point loses nothing and publishes nothing uncommitted", async (t) => {
  const points: Array<[CrashPoint, number]> = [
    ["before_commit", 7],
    ["after_commit", 7],
    ["mid_publish", 12],
    ["mid_relay", 12],
  ];
  for (const [point, index] of points) {
    await t.step(`killed ${point.replace("_", " ")}`, async () => {
      await publisherCrash(point, index, 1);
    });
  }
  for (const seed of [3, 17, 29, 41, 58]) {
    await t.step(`killed at a random moment (seed ${seed})`, async () => {
      await publisherCrash("none", 0, seed);
    });
  }
});

Deno.test("OutboxRelay + SqliteBus + SqliteInbox: the broker restarted while 10,000 events are in flight — each processed exactly once", async () => {
  await using dir = await tempDir();
  const busPath = dir.file("bus.db");
  const db = openOrders(dir.file("svc.db"));
  const outbox = new SqliteOutbox(db);
  const consumerDb = openEffects(dir.file("consumer.db"));
  const subscription = {
    group: "billing",
    ackWaitMs: 1_000,
    maxDeliver: 1_000,
    backoffMs: [10],
    concurrency: 16,
  };
  const inbox = new SqliteInbox(consumerDb, { ...subscription, retentionMs: 86_400_000 });
  const history = new History<string>();
  let processed = 0;
  let restart!: () => void;
  const restartNow = new Promise<void>((resolve) => restart = resolve);
  const handler = inbox.handler(({ event }) => {
    addEffect(consumerDb, event.id);
    history.invoke("consumer", "dequeue");
    history.ok("consumer", "dequeue", event.id);
    if (++processed === 1_000) restart();
  });
  // The broker: a SqliteBus that the test stops and starts again; the relay
  // reaches it through this handle, and fails while it is down.
  let broker: SqliteBus | undefined = new SqliteBus({ path: busPath, pollIntervalMs: 5 });
  const handle: Bus = {
    kind: "restartable",
    publish: (...args) =>
      broker?.publish(...args) ??
        Promise.reject(new BusError("BUS_UNAVAILABLE", "the broker is restarting")),
    subscribe: (...args) => broker!.subscribe(...args),
    deadLetters: (...args) => broker!.deadLetters(...args),
    read: (...args) => broker!.read(...args),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
  const relay = new OutboxRelay({
    outbox,
    bus: handle,
    batchSize: 200,
    pollIntervalMs: 10,
    minBackoffMs: 5,
    maxBackoffMs: 50,
  });
  const committed: string[] = [];
  const write = async (count: number) => {
    for (let i = 0; i < count; i++) {
      const id = `e-${committed.length}`;
      placeOrder(db, outbox, history, id, `c-${committed.length % 7}`);
      committed.push(id);
      relay.notify();
      if (i % 50 === 49) await macrotask();
    }
  };
  const consumed = () => readEffects(consumerDb).size;
  let consumer: Subscription | undefined;
  try {
    await write(10_000);
    await relay.flush({ signal: AbortSignal.timeout(60_000) });
    consumer = await broker.subscribe("shop.order", handler, subscription);
    await restartNow;
    // 10,000 events published, a few thousand consumed, 16 being handled:
    // the broker goes down. Meanwhile the service keeps writing.
    await consumer[Symbol.asyncDispose]();
    await broker[Symbol.asyncDispose]();
    broker = undefined;
    const inFlight = relay.status.published - consumed();
    assert.ok(inFlight >= 1_000, `only ${inFlight} events in flight`);
    await write(500);
    await until(() => relay.status.failures > 0);
    broker = new SqliteBus({ path: busPath, pollIntervalMs: 5 });
    consumer = await broker.subscribe("shop.order", handler, subscription);
    await relay.flush({ signal: AbortSignal.timeout(60_000) });
    const deadline = AbortSignal.timeout(60_000);
    while (consumed() < committed.length && !deadline.aborted) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await relay[Symbol.asyncDispose]();
    await consumer?.[Symbol.asyncDispose]();
    await broker?.[Symbol.asyncDispose]();
  }
  const effects = checkEffects(committed, readEffects(consumerDb));
  assert.equal(effects.valid, true, Deno.inspect(effects));
  const queue = checkTotalQueue(history, { exactlyOnce: true });
  assert.equal(queue.valid, true, Deno.inspect(queue));
  consumerDb.close();
  db.close();
});
