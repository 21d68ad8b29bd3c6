import assert from "node:assert/strict";
import { join } from "node:path";
import { openDatabase } from "@flotilla/sqlite";
import type { CloudEvent } from "./cloud_event.ts";
import { createEvent } from "./create_event.ts";
import { type ClaimConsumer, SqliteStore } from "./_sqlite_store.ts";

async function store(
  maxPending?: number,
): Promise<{ store: SqliteStore; path: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "flotilla-sqlite-store-" });
  const path = join(dir, "bus.db");
  const opened = new SqliteStore(path, 1_000, maxPending);
  return {
    store: opened,
    path,
    async [Symbol.asyncDispose]() {
      opened.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function consumer(name: string, overrides: Partial<ClaimConsumer> = {}): ClaimConsumer {
  return {
    stream: "s",
    group: "g",
    consumer: name,
    types: undefined,
    ackWaitMs: 1_000,
    maxDeliver: 3,
    backoffMs: [100],
    ...overrides,
  };
}

function publish(s: SqliteStore, events: CloudEvent[], stream = "s") {
  return s.publish(stream, events, events.map((e) => JSON.stringify(e)));
}

function make(
  count: number,
  subject?: (i: number) => string | undefined,
  type = "t",
): CloudEvent[] {
  return Array.from({ length: count }, (_, i) => {
    const key = subject?.(i);
    return createEvent(type, { i }, {
      source: "/s",
      ...(key === undefined ? {} : { subject: key }),
    });
  });
}

const seqs = (result: { claimed: Array<{ seq: number }> }) => result.claimed.map((c) => c.seq);

Deno.test("SqliteStore.publish() numbers each stream from 1 and reports an id seen before as duplicate", async () => {
  await using t = await store();
  const [a, b, c] = make(3);
  assert.deepEqual(publish(t.store, [a!, b!]).map((r) => [r.position, r.duplicate]), [
    ["1", false],
    ["2", false],
  ]);
  assert.deepEqual(publish(t.store, [b!, c!, c!]).map((r) => [r.position, r.duplicate]), [
    ["2", true],
    ["3", false],
    ["3", true],
  ]);
  assert.deepEqual(publish(t.store, [a!], "other").map((r) => r.position), ["1"]);
  assert.deepEqual(t.store.read("s", 1, 10).map((r) => r.event.id), [b!.id, c!.id]);
});

Deno.test("SqliteStore.claim() takes new events up to the limit, in order, and an ack removes them", async () => {
  await using t = await store();
  publish(t.store, make(5));
  t.store.createGroup("s", "g", { type: "all" }, 0);
  const a = consumer("a");
  assert.equal(t.store.hasWork("s", "g", 0), true);
  const first = t.store.claim(a, [], 2, 0);
  assert.deepEqual(seqs(first), [1, 2]);
  assert.deepEqual(first.claimed.map((c) => c.attempt), [1, 1]);
  assert.deepEqual(seqs(t.store.claim(a, [], 10, 0)), [3, 4, 5]);
  assert.equal(t.store.hasWork("s", "g", 0), false);
  assert.deepEqual(seqs(t.store.claim(a, [], 10, 999)), []);
  // Acks recorded in the next claim; nothing comes back after the ack wait.
  const acks = [1, 2, 3, 4, 5].map((seq) => ({ type: "ack" as const, seq, attempt: 1 }));
  t.store.claim(a, acks, 0, 10);
  assert.deepEqual(seqs(t.store.claim(a, [], 10, 10_000)), []);
  assert.equal(rows(t.path, "SELECT COUNT(*) AS n FROM bus_pending")[0]!.n, 0);
});

Deno.test("SqliteStore.claim() hands an unacknowledged event to another consumer at the end of its ack wait, and ignores the late ack", async () => {
  await using t = await store();
  publish(t.store, make(1));
  t.store.createGroup("s", "g", { type: "all" }, 0);
  const a = consumer("a");
  const b = consumer("b");
  assert.deepEqual(seqs(t.store.claim(a, [], 1, 0)), [1]);
  assert.deepEqual(seqs(t.store.claim(b, [], 1, 999)), []);
  assert.equal(t.store.hasWork("s", "g", 999), false);
  assert.equal(t.store.hasWork("s", "g", 1_000), true);
  const taken = t.store.claim(b, [], 1, 1_000);
  assert.deepEqual(taken.claimed.map((c) => [c.seq, c.attempt]), [[1, 2]]);
  // a finishes late: its ack (attempt 1) must not remove b's delivery.
  t.store.claim(a, [{ type: "ack", seq: 1, attempt: 1 }], 0, 1_500);
  assert.deepEqual(seqs(t.store.claim(a, [], 1, 1_999)), []);
  assert.deepEqual(t.store.claim(a, [], 1, 2_000).claimed.map((c) => [c.seq, c.attempt]), [[1, 3]]);
});

Deno.test("SqliteStore.claim() redelivers a failure after its backoff and dead-letters at maxDeliver or on poison", async () => {
  await using t = await store();
  publish(t.store, make(2));
  t.store.createGroup("s", "g", { type: "all" }, 0);
  const a = consumer("a", { maxDeliver: 2 });
  t.store.claim(a, [], 2, 0);
  const fail = (seq: number, attempt: number, poison = false) => ({
    type: "fail" as const,
    seq,
    attempt,
    reason: `boom ${seq}`,
    poison,
    backoffMs: 100,
  });
  assert.deepEqual(seqs(t.store.claim(a, [fail(1, 1), fail(2, 1, true)], 5, 10)), []);
  assert.deepEqual(
    t.store.deadLetters("s", "g", 10).map((l) => [l.event.id, l.attempts, l.reason]),
    [
      [t.store.read("s", 1, 1)[0]!.event.id, 1, "boom 2"],
    ],
  );
  assert.deepEqual(seqs(t.store.claim(a, [], 5, 109)), []);
  assert.deepEqual(t.store.claim(a, [], 5, 110).claimed.map((c) => [c.seq, c.attempt]), [[1, 2]]);
  t.store.claim(a, [fail(1, 2)], 0, 120);
  const letters = t.store.deadLetters("s", "g", 10);
  assert.deepEqual(letters.map((l) => [l.attempts, l.reason, l.stream, l.group]), [
    [1, "boom 2", "s", "g"],
    [2, "boom 1", "s", "g"],
  ]);
  assert.equal(letters[1]!.at, new Date(120).toISOString());
  assert.deepEqual(t.store.deadLetters("s", "g", 1).length, 1);
  assert.equal(t.store.hasWork("s", "g", 1e9), false);
});

Deno.test("SqliteStore.claim() dead-letters an event whose ack wait ran out maxDeliver times", async () => {
  await using t = await store();
  publish(t.store, make(1));
  t.store.createGroup("s", "g", { type: "all" }, 0);
  const a = consumer("a", { maxDeliver: 2, ackWaitMs: 50 });
  t.store.claim(a, [], 1, 0);
  assert.deepEqual(t.store.claim(a, [], 1, 50).claimed.map((c) => c.attempt), [2]);
  assert.deepEqual(seqs(t.store.claim(a, [], 1, 100)), []);
  const [letter] = t.store.deadLetters("s", "g", 10);
  assert.equal(letter!.attempts, 2);
  assert.equal(letter!.reason, "Not acknowledged within the ack wait of 50 ms (2 deliveries)");
  // A failure reported by a delivery that is no longer the owner changes nothing.
  t.store.claim(
    a,
    [{ type: "fail", seq: 1, attempt: 1, reason: "late", poison: true, backoffMs: 0 }],
    0,
    200,
  );
  assert.equal(t.store.deadLetters("s", "g", 10).length, 1);
});

Deno.test("SqliteStore.claim() parks an event while an earlier one of its subject is pending in the group", async () => {
  await using t = await store();
  // seq: 1 k, 2 j, 3 k, 4 (none), 5 k
  const events = make(5, (i) => ["k", "j", "k", undefined, "k"][i]);
  publish(t.store, events);
  t.store.createGroup("s", "g", { type: "all" }, 0);
  const a = consumer("a");
  const b = consumer("b");
  assert.deepEqual(seqs(t.store.claim(a, [], 10, 0)), [1, 2, 4]);
  assert.deepEqual(seqs(t.store.claim(b, [], 10, 0)), []);
  assert.equal(t.store.hasWork("s", "g", 0), false);
  // 1 fails: 3 and 5 stay parked through the backoff.
  const fail = {
    type: "fail" as const,
    seq: 1,
    attempt: 1,
    reason: "x",
    poison: false,
    backoffMs: 100,
  };
  assert.deepEqual(seqs(t.store.claim(a, [fail], 10, 10)), []);
  assert.deepEqual(seqs(t.store.claim(b, [], 10, 110)), [1]);
  assert.deepEqual(seqs(t.store.claim(b, [{ type: "ack", seq: 1, attempt: 2 }], 10, 120)), [3]);
  assert.deepEqual(seqs(t.store.claim(a, [], 10, 120)), []);
  const three = t.store.claim(b, [{ type: "ack", seq: 3, attempt: 1 }], 10, 130);
  assert.deepEqual(three.claimed.map((c) => [c.seq, c.attempt]), [[5, 1]]);
});

Deno.test("SqliteStore.claim() skips other types, releases at once and dead-letters malformed rows with the raw text", async () => {
  await using t = await store();
  publish(t.store, [...make(1, undefined, "wanted"), ...make(1, undefined, "other")]);
  const db = openDatabase(t.path);
  db.prepare(
    "INSERT INTO bus_events (stream, seq, id, type, subject, event) VALUES ('s', 3, 'raw-1', 'wanted', NULL, '{oops')",
  ).run();
  db.close();
  publish(t.store, make(1, undefined, "wanted"));
  t.store.createGroup("s", "g", { type: "all" }, 0);
  const a = consumer("a", { types: new Set(["wanted"]) });
  assert.deepEqual(seqs(t.store.claim(a, [], 10, 0)), [1, 4]);
  const [letter] = t.store.deadLetters("s", "g", 10);
  assert.deepEqual(letter!.event, { id: "raw-1", raw: "{oops" });
  assert.match(letter!.reason, /^Malformed event at position 3: not JSON/);
  // Released (the subscription ended mid-delivery): due again at once, attempts kept.
  const again = t.store.claim(
    a,
    [{ type: "release", seq: 1, attempt: 1, reason: "closed" }],
    10,
    5,
  );
  assert.deepEqual(again.claimed.map((c) => [c.seq, c.attempt]), [[1, 2]]);
});

Deno.test("SqliteStore.claim() takes no new events while the group has maxPending unfinished", async () => {
  await using t = await store(4);
  // A hot subject: all but the first would be parked.
  publish(t.store, [...make(10, () => "hot"), ...make(2)]);
  t.store.createGroup("s", "g", { type: "all" }, 0);
  const a = consumer("a");
  assert.deepEqual(seqs(t.store.claim(a, [], 10, 0)), [1]);
  assert.equal(rows(t.path, "SELECT COUNT(*) AS n FROM bus_pending")[0]!.n, 4);
  assert.deepEqual(seqs(t.store.claim(a, [], 10, 0)), []);
  // Each event done makes room for one more.
  assert.deepEqual(seqs(t.store.claim(a, [{ type: "ack", seq: 1, attempt: 1 }], 10, 1)), [2]);
  assert.equal(rows(t.path, "SELECT MAX(seq) AS n FROM bus_pending")[0]!.n, 5);
});

Deno.test("SqliteStore.createGroup() starts at all, new or after, once", async () => {
  await using t = await store();
  publish(t.store, make(3));
  t.store.createGroup("s", "new", { type: "new" }, 0);
  t.store.createGroup("s", "after", { type: "after", position: "1" }, 1);
  t.store.createGroup("s", "after", { type: "all" }, 0); // exists: unchanged
  publish(t.store, make(1));
  assert.deepEqual(seqs(t.store.claim(consumer("a", { group: "new" }), [], 10, 0)), [4]);
  assert.deepEqual(seqs(t.store.claim(consumer("a", { group: "after" }), [], 10, 0)), [2, 3, 4]);
});

function rows(path: string, sql: string): Array<Record<string, unknown>> {
  const db = openDatabase(path);
  try {
    return db.prepare(sql).all();
  } finally {
    db.close();
  }
}
