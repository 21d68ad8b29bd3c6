import assert from "node:assert/strict";
import postgres from "postgres";
import { ManualClock } from "@flotilla/core";
import { startPostgres, waitFor } from "@flotilla/testing";
import type { PublishOptions, PublishReceipt } from "./bus.ts";
import type { CloudEvent } from "./cloud_event.ts";
import { BusError } from "./errors.ts";
import { MemoryBus } from "./memory_bus.ts";
import type { Outbox, OutboxLease, OutboxRow } from "./outbox.ts";
import { OutboxRelay } from "./outbox_relay.ts";
import { PostgresOutbox } from "./postgres_outbox.ts";
import { LogBus } from "./_outbox_log_bus.ts";
import { Gate, orderEvent, tempDir } from "./_outbox_test_util.ts";

// --- helpers -----------------------------------------------------------------------------------

/**
 * A private server with the service's state table `orders`, and a client of
 * it; disposing it ends the client and stops the server.
 */
async function startService(): Promise<{ url: string; sql: postgres.Sql } & AsyncDisposable> {
  // Autovacuum's ANALYZE takes transaction ids, holding the outbox back for a moment: off.
  const server = await startPostgres({ settings: { autovacuum: "off" } });
  const sql = postgres(server.url, { max: 8, onnotice: () => {} });
  try {
    await sql`CREATE TABLE orders (id text PRIMARY KEY, customer text NOT NULL)`;
  } catch (error) {
    await sql.end();
    await server[Symbol.asyncDispose]();
    throw error;
  }
  return {
    url: server.url,
    sql,
    async [Symbol.asyncDispose]() {
      await sql.end();
      await server[Symbol.asyncDispose]();
    },
  };
}

/** Commits one order and its event, in one transaction. */
async function placeOrder(
  sql: postgres.Sql,
  outbox: PostgresOutbox,
  id: string,
  customer: string,
  stream = "shop.order",
): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`INSERT INTO orders (id, customer) VALUES (${id}, ${customer})`;
    await outbox.add(tx, stream, orderEvent(id, customer));
  });
}

async function countOrders(sql: postgres.Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`SELECT count(*)::integer AS n FROM orders`;
  return row!.n;
}

/** The first copy of each id, in arrival order. */
function firstCopies(copies: readonly CloudEvent[]): CloudEvent[] {
  const seen = new Set<string>();
  return copies.filter((event) => !seen.has(event.id) && seen.add(event.id));
}

/** An outbox whose every call waits at a gate: a frozen process (a long pause, a stopped VM). */
class FrozenOutbox implements Outbox {
  readonly gate = new Gate();
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

/** A bus whose next publish freezes at a gate before reaching the broker, ignoring aborts. */
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

// --- the outbox --------------------------------------------------------------------------------

Deno.test("PostgresOutbox.add() commits and rolls back with the caller's transaction, and refuses to run outside one", async () => {
  await using service = await startService();
  const { sql } = service;
  await using outbox = await PostgresOutbox.open(sql, { schema: "shop" });
  await assert.rejects(
    outbox.add(sql as unknown as postgres.TransactionSql, "shop.order", orderEvent("e-0", "c")),
    (error: unknown) => error instanceof TypeError && /outside a transaction/.test(error.message),
  );
  // Committed together.
  const seqs = await sql.begin(async (tx) => {
    await tx`INSERT INTO orders (id, customer) VALUES ('o-1', 'c-1')`;
    return await outbox.add(tx, "shop.order", [orderEvent("e-1", "c-1"), orderEvent("e-2", "c-1")]);
  });
  assert.equal(seqs.length, 2);
  assert.ok(seqs[0]! < seqs[1]!);
  // Rolled back together.
  await assert.rejects(
    sql.begin(async (tx) => {
      await tx`INSERT INTO orders (id, customer) VALUES ('o-2', 'c-1')`;
      await outbox.add(tx, "shop.order", orderEvent("e-3", "c-1"));
      throw new Error("the decision changed");
    }),
    /the decision changed/,
  );
  const rows = await outbox.pending(10);
  assert.deepEqual(rows.map((row) => [row.seq, row.id, row.stream, row.aggregate]), [
    [seqs[0], "e-1", "shop.order", "c-1"],
    [seqs[1], "e-2", "shop.order", "c-1"],
  ]);
  assert.deepEqual(rows[0]!.event, orderEvent("e-1", "c-1"));
  assert.equal(await countOrders(sql), 1);
  assert.deepEqual(await sql.begin((tx) => outbox.add(tx, "shop.order", [])), []);
});

Deno.test("PostgresOutbox.add() rejects an invalid event and a duplicate id, failing the caller's transaction", async () => {
  await using service = await startService();
  const { sql } = service;
  await using outbox = await PostgresOutbox.open(sql);
  await sql.begin((tx) => outbox.add(tx, "s", orderEvent("e-1", "c")));
  await assert.rejects(
    sql.begin((tx) =>
      outbox.add(tx, "s", { ...orderEvent("e-2", "c"), specversion: "0.3" as "1.0" })
    ),
    (error: unknown) => error instanceof BusError && error.code === "INVALID_EVENT",
  );
  await assert.rejects(
    sql.begin(async (tx) => {
      await tx`INSERT INTO orders (id, customer) VALUES ('o-9', 'c')`;
      await outbox.add(tx, "s", orderEvent("e-1", "c"));
    }),
    (error: unknown) =>
      error instanceof BusError && error.code === "INVALID_EVENT" &&
      /already there: e-1/.test(error.message),
  );
  await assert.rejects(
    sql.begin((tx) => outbox.add(tx, "", orderEvent("e-3", "c"))),
    (error: unknown) =>
      error instanceof BusError && /'stream' must be a non-empty string/.test(error.message),
  );
  assert.equal(await countOrders(sql), 0);
  assert.equal((await outbox.stats()).backlog, 1);
});

Deno.test("PostgresOutbox.pending() holds back the rows committed after a transaction still open wrote one (commit-safe order)", async () => {
  await using service = await startService();
  const { sql } = service;
  await using outbox = await PostgresOutbox.open(sql);
  await placeOrder(sql, outbox, "e-0", "c-0");
  // T1 writes its row (the lower seq, the lower transaction id) and stays open.
  const t1Wrote = Promise.withResolvers<void>();
  const t1Commit = Promise.withResolvers<void>();
  const t1 = sql.begin(async (tx) => {
    await tx`INSERT INTO orders (id, customer) VALUES ('e-1', 'c-1')`;
    await outbox.add(tx, "shop.order", orderEvent("e-1", "c-1"));
    t1Wrote.resolve();
    await t1Commit.promise;
  });
  try {
    await t1Wrote.promise;
    // T2 writes after it and commits first.
    await placeOrder(sql, outbox, "e-2", "c-2");
    // A reader going by seq alone would hand out e-2 now, ahead of e-1 (and
    // publish the two out of commit order); pending() stops before T1.
    const unsent = await sql<{ id: string }[]>`
      SELECT id FROM flotilla.outbox WHERE sent_at IS NULL ORDER BY seq`;
    assert.deepEqual(unsent.map((row) => row.id), ["e-0", "e-2"]);
    assert.deepEqual((await outbox.pending(10)).map((row) => row.id), ["e-0"]);
    assert.equal(await outbox.markSent([(await outbox.pending(1))[0]!.seq]), 1);
    assert.deepEqual(await outbox.pending(10), []);
  } finally {
    t1Commit.resolve();
    await t1;
  }
  // Once T1 has committed, both, in order.
  assert.deepEqual((await outbox.pending(10)).map((row) => row.id), ["e-1", "e-2"]);
  assert.deepEqual((await outbox.pending(1)).map((row) => row.id), ["e-1"]);
});

Deno.test("PostgresOutbox.pending() keeps an aggregate's order when the later event's transaction began first", async () => {
  await using service = await startService();
  const { sql } = service;
  await using outbox = await PostgresOutbox.open(sql);
  await sql`CREATE TABLE inbox (id text PRIMARY KEY)`;
  // T1 begins first (an inbox row gives it the lower transaction id)…
  const t1Began = Promise.withResolvers<void>();
  const t1Go = Promise.withResolvers<void>();
  const t1 = sql.begin(async (tx) => {
    await tx`INSERT INTO inbox (id) VALUES ('m-1')`;
    t1Began.resolve();
    await t1Go.promise;
    // …and adds c-1's second event after it saw the first one committed.
    const [seen] = await tx`SELECT count(*)::int AS n FROM orders WHERE customer = 'c-1'`;
    assert.equal(seen!.n, 1);
    await tx`INSERT INTO orders (id, customer) VALUES ('e-B', 'c-1')`;
    await outbox.add(tx, "shop.order", orderEvent("e-B", "c-1"));
  });
  await t1Began.promise;
  await placeOrder(sql, outbox, "e-A", "c-1"); // T2: c-1's first event, committed
  t1Go.resolve();
  await t1;
  assert.deepEqual((await outbox.pending(10)).map((row) => row.id), ["e-A", "e-B"]);
});

Deno.test("PostgresOutbox tracks the backlog, purges sent rows and grants the relay lease to one holder", async () => {
  await using service = await startService();
  const clock = new ManualClock(0);
  // On a pool of its own (ended on dispose), in a schema of its own.
  await using outbox = await PostgresOutbox.open(service.url, { schema: "shop", clock });
  // Opening again, from another client, finds the tables there.
  await using again = await PostgresOutbox.open(service.sql, { schema: "shop", clock });
  assert.deepEqual(await outbox.stats(), { backlog: 0, oldestAgeMs: 0, failing: 0, sent: 0 });
  const seqs = await service.sql.begin((tx) =>
    again.add(tx, "s", [1, 2, 3, 4].map((i) => orderEvent(`e-${i}`, "c")))
  );
  clock.advance(250);
  await outbox.markFailed([seqs[0]!], "BusError: broker down");
  assert.deepEqual(await outbox.stats(), { backlog: 4, oldestAgeMs: 250, failing: 1, sent: 0 });
  assert.equal((await outbox.pending(1))[0]!.attempts, 1);
  assert.equal(await outbox.markSent(seqs.slice(0, 2), 100), 2);
  assert.equal(await outbox.markSent(seqs.slice(0, 2), 100), 0);
  assert.equal(await outbox.markSent([seqs[2]!], 300), 1);
  assert.deepEqual((await outbox.pending(10)).map((row) => row.seq), [seqs[3]]);
  assert.deepEqual(await outbox.stats(), { backlog: 1, oldestAgeMs: 250, failing: 0, sent: 3 });
  assert.equal(await outbox.purgeSent(250, 1), 1);
  assert.equal(await outbox.purgeSent(250, 10), 1);
  assert.equal((await outbox.stats()).sent, 1);
  await assert.rejects(outbox.pending(0), RangeError);
  // The lease.
  assert.deepEqual(await outbox.acquireLease("a", 0, 100), {
    owner: "a",
    expiresAt: 100,
    fence: 1,
  });
  assert.deepEqual(await again.acquireLease("b", 50, 100), {
    owner: "a",
    expiresAt: 100,
    fence: 1,
  });
  assert.deepEqual(await outbox.acquireLease("a", 60, 100), {
    owner: "a",
    expiresAt: 160,
    fence: 1,
  });
  assert.deepEqual(await again.acquireLease("b", 160, 100), {
    owner: "b",
    expiresAt: 260,
    fence: 2,
  });
  await outbox.releaseLease("a"); // not the holder: nothing happens
  assert.deepEqual(await outbox.acquireLease("a", 170, 100), {
    owner: "b",
    expiresAt: 260,
    fence: 2,
  });
  await again.releaseLease("b");
  assert.deepEqual(await outbox.acquireLease("a", 170, 100), {
    owner: "a",
    expiresAt: 270,
    fence: 3,
  });
});

// --- with the relay ----------------------------------------------------------------------------

Deno.test("OutboxRelay drains a PostgresOutbox: each stream's events in commit order, exactly once", async () => {
  await using service = await startService();
  const { sql } = service;
  await using outbox = await PostgresOutbox.open(sql);
  await using bus = new MemoryBus();
  const committed: string[] = [];
  for (let i = 0; i < 30; i++) {
    const id = `e-${i}`;
    await placeOrder(sql, outbox, id, `c-${i % 4}`, i % 3 === 0 ? "shop.payment" : "shop.order");
    committed.push(id);
  }
  await using relay = new OutboxRelay({ outbox, bus, batchSize: 7, pollIntervalMs: 10 });
  await relay.flush();
  const orders = (await bus.read("shop.order", { limit: 100 })).map((entry) => entry.event.id);
  const payments = (await bus.read("shop.payment", { limit: 100 })).map((entry) => entry.event.id);
  assert.deepEqual(orders, committed.filter((_, i) => i % 3 !== 0));
  assert.deepEqual(payments, committed.filter((_, i) => i % 3 === 0));
  assert.deepEqual(await outbox.stats(), { backlog: 0, oldestAgeMs: 0, failing: 0, sent: 30 });
  assert.equal(relay.status.published, 30);
  assert.equal(relay.status.duplicates, 0);
});

Deno.test("OutboxRelay: two relays on a PostgresOutbox, the leader frozen mid-publish while writers commit — no loss, no reordering per aggregate", async () => {
  await using service = await startService();
  await using dir = await tempDir();
  const { sql, url } = service;
  await using writer = await PostgresOutbox.open(sql);
  // Each relay on a pool of its own, as in its own process.
  await using outboxA = await PostgresOutbox.open(url, { maxConnections: 2 });
  await using outboxB = await PostgresOutbox.open(url, { maxConnections: 2 });
  const frozenA = new FrozenOutbox(outboxA);
  await using busA = new FreezableBus(dir.file("broker.db"));
  await using busB = new LogBus(dir.file("broker.db"));
  // Per aggregate, the commit order: each aggregate's writer commits one transaction after another,
  // while the aggregates' writers run at once.
  const committed = new Map<string, string[]>();
  let n = 0;
  const write = async (perAggregate: number) => {
    await Promise.all(["c-0", "c-1", "c-2", "c-3"].map(async (customer) => {
      for (let i = 0; i < perAggregate; i++) {
        const id = `e-${n++}`;
        await placeOrder(sql, writer, id, customer);
        committed.set(customer, [...committed.get(customer) ?? [], id]);
      }
    }));
  };
  const options = { leaseMs: 300, pollIntervalMs: 10, publishTimeoutMs: 100, batchSize: 5 };
  await using a = new OutboxRelay({ ...options, outbox: frozenA, bus: busA, owner: "A" });
  await waitFor(() => a.status.leader, { intervalMs: 5, what: "A to take the lease" });
  await using b = new OutboxRelay({ ...options, outbox: outboxB, bus: busB, owner: "B" });
  // Both run while the writers commit; A publishes, B stands by.
  const writing = write(10);
  a.notify();
  await writing;
  await a.flush();
  assert.equal(b.status.leader, false);
  assert.equal(b.status.published, 0);

  // A freezes as it publishes a batch: its publish reaches the broker only
  // when it thaws, and meanwhile it cannot renew its lease.
  busA.freezeOnPublish = true;
  const frozen = write(5);
  a.notify();
  await waitFor(() => !busA.gate.isOpen, { intervalMs: 5, what: "A to freeze" });
  frozenA.gate.close();
  await frozen;
  // B takes over once A's lease has run out, and publishes everything, while more commits land.
  await Promise.all([write(5), b.flush()]);
  await b.flush();
  assert.equal(b.status.leader, true);
  // A thaws: its stale publish lands late, then it finds B holding the lease.
  busA.gate.open();
  frozenA.gate.open();
  await a.flush();
  assert.equal(a.status.leader, false);
  assert.equal(a.status.lease?.owner, "B");

  const copies = busB.entries().map((entry) => entry.event);
  const first = firstCopies(copies);
  // Nothing lost, nothing made up.
  assert.equal(first.length, n);
  assert.deepEqual(
    new Set(first.map((event) => event.id)),
    new Set([...committed.values()].flat()),
  );
  // Per aggregate, the first copies in commit order.
  for (const [customer, ids] of committed) {
    assert.deepEqual(
      first.filter((event) => event.subject === customer).map((event) => event.id),
      ids,
      customer,
    );
  }
  // The duplicates are A's stale copies of its frozen batch, and nothing else.
  assert.ok(copies.length > n, "A's stale publish landed");
  assert.ok(copies.length - n <= options.batchSize);
  assert.equal((await outboxB.stats()).backlog, 0);
});
