import assert from "node:assert/strict";
import { ManualClock } from "@flotilla/core";
import { immediate } from "@flotilla/sqlite";
import { BusError } from "./errors.ts";
import { SqliteOutbox } from "./outbox.ts";
import { openOrders, orderEvent, tempDir } from "./_outbox_test_util.ts";

function insertOrder(db: ReturnType<typeof openOrders>, id: string, customer = "c-1") {
  db.prepare("INSERT INTO orders (id, customer) VALUES (?, ?)").run(id, customer);
}

Deno.test("SqliteOutbox.add() refuses to run outside a transaction", () => {
  const db = openOrders(":memory:");
  const outbox = new SqliteOutbox(db);
  assert.throws(
    () => outbox.add("shop.order", orderEvent("e-1", "c-1")),
    (error: unknown) => error instanceof TypeError && /outside a transaction/.test(error.message),
  );
  assert.equal(outbox.stats().backlog, 0);
  db.close();
});

Deno.test("SqliteOutbox.add() commits and rolls back with the caller's state change", () => {
  const db = openOrders(":memory:");
  const outbox = new SqliteOutbox(db);
  const seqs = immediate(db, () => {
    insertOrder(db, "o-1");
    return outbox.add("shop.order", [orderEvent("e-1", "c-1"), orderEvent("e-2", "c-1")]);
  });
  assert.deepEqual(seqs, [1, 2]);
  assert.throws(() =>
    immediate(db, () => {
      insertOrder(db, "o-2");
      outbox.add("shop.order", orderEvent("e-3", "c-1"));
      throw new Error("the decision changed");
    }), /the decision changed/);
  assert.deepEqual(outbox.pending(10).map((row) => row.id), ["e-1", "e-2"]);
  assert.equal(db.prepare("SELECT count(*) AS n FROM orders").get()?.n, 1);
  db.close();
});

Deno.test("SqliteOutbox.add() rejects an invalid event and a duplicate id, rolling the transaction back", () => {
  const db = openOrders(":memory:");
  const outbox = new SqliteOutbox(db);
  immediate(db, () => outbox.add("s", orderEvent("e-1", "c-1")));
  assert.throws(
    () =>
      immediate(
        db,
        () => outbox.add("s", { ...orderEvent("e-2", "c"), specversion: "0.3" as "1.0" }),
      ),
    (error: unknown) => error instanceof BusError && error.code === "INVALID_EVENT",
  );
  assert.throws(
    () =>
      immediate(db, () => {
        insertOrder(db, "o-9");
        outbox.add("s", orderEvent("e-1", "c-1"));
      }),
    (error: unknown) =>
      error instanceof BusError && error.code === "INVALID_EVENT" &&
      /already there: e-1/.test(error.message),
  );
  assert.throws(
    () => immediate(db, () => outbox.add("", orderEvent("e-3", "c"))),
    (error: unknown) =>
      error instanceof BusError && /'stream' must be a non-empty string/.test(error.message),
  );
  assert.equal(db.prepare("SELECT count(*) AS n FROM orders").get()?.n, 0);
  assert.equal(outbox.stats().backlog, 1);
  db.close();
});

Deno.test("SqliteOutbox.pending() reads unsent rows in seq order with their aggregate", () => {
  const clock = new ManualClock(1_000);
  const db = openOrders(":memory:");
  const outbox = new SqliteOutbox(db, { clock });
  immediate(db, () => outbox.add("a", orderEvent("e-1", "c-1")));
  clock.advance(10);
  immediate(db, () => outbox.add("b", [orderEvent("e-2", "c-2"), orderEvent("e-3", "c-1")]));
  const rows = outbox.pending(2);
  assert.deepEqual(rows.map((row) => [row.seq, row.id, row.stream, row.aggregate, row.createdAt]), [
    [1, "e-1", "a", "c-1", 1_000],
    [2, "e-2", "b", "c-2", 1_010],
  ]);
  assert.deepEqual(rows[0]!.event, orderEvent("e-1", "c-1"));
  assert.throws(() => outbox.pending(0), RangeError);
  db.close();
});

Deno.test("SqliteOutbox.markSent(), markFailed() and stats() track the backlog", () => {
  const clock = new ManualClock(0);
  const db = openOrders(":memory:");
  const outbox = new SqliteOutbox(db, { clock });
  assert.deepEqual(outbox.stats(), { backlog: 0, oldestAgeMs: 0, failing: 0, sent: 0 });
  immediate(db, () => outbox.add("s", [1, 2, 3].map((i) => orderEvent(`e-${i}`, "c"))));
  clock.advance(250);
  outbox.markFailed([1], "BusError: broker down");
  assert.deepEqual(outbox.stats(), { backlog: 3, oldestAgeMs: 250, failing: 1, sent: 0 });
  assert.equal(outbox.pending(1)[0]!.attempts, 1);
  assert.equal(outbox.markSent([1, 2], clock.now()), 2);
  assert.equal(outbox.markSent([1, 2], clock.now()), 0);
  assert.deepEqual(outbox.pending(10).map((row) => row.seq), [3]);
  assert.deepEqual(outbox.stats(), { backlog: 1, oldestAgeMs: 250, failing: 0, sent: 2 });
  assert.equal(outbox.markSent([]), 0);
  db.close();
});

Deno.test("SqliteOutbox.purgeSent() deletes only rows sent before the cutoff", () => {
  const db = openOrders(":memory:");
  const outbox = new SqliteOutbox(db, { clock: new ManualClock(0) });
  immediate(db, () => outbox.add("s", [1, 2, 3, 4].map((i) => orderEvent(`e-${i}`, "c"))));
  outbox.markSent([1], 100);
  outbox.markSent([2], 200);
  outbox.markSent([3], 300);
  assert.equal(outbox.purgeSent(250, 1), 1);
  assert.equal(outbox.purgeSent(250, 10), 1);
  assert.deepEqual(outbox.stats(), { backlog: 1, oldestAgeMs: 0, failing: 0, sent: 1 });
  // AUTOINCREMENT: a purged seq is never handed out again.
  assert.deepEqual(immediate(db, () => outbox.add("s", orderEvent("e-5", "c"))), [5]);
  db.close();
});

Deno.test("SqliteOutbox.acquireLease() grants one holder, renews, hands over on expiry and release", () => {
  const db = openOrders(":memory:");
  const outbox = new SqliteOutbox(db);
  assert.deepEqual(outbox.acquireLease("a", 0, 100), { owner: "a", expiresAt: 100, fence: 1 });
  assert.deepEqual(outbox.acquireLease("b", 50, 100), { owner: "a", expiresAt: 100, fence: 1 });
  assert.deepEqual(outbox.acquireLease("a", 60, 100), { owner: "a", expiresAt: 160, fence: 1 });
  assert.deepEqual(outbox.acquireLease("b", 160, 100), { owner: "b", expiresAt: 260, fence: 2 });
  outbox.releaseLease("a"); // not the holder: nothing happens
  assert.deepEqual(outbox.acquireLease("a", 170, 100), { owner: "b", expiresAt: 260, fence: 2 });
  outbox.releaseLease("b");
  assert.deepEqual(outbox.acquireLease("a", 170, 100), { owner: "a", expiresAt: 270, fence: 3 });
  db.close();
});

Deno.test("SqliteOutbox creates its tables idempotently and sees other connections' rows", async () => {
  await using dir = await tempDir();
  const first = openOrders(dir.file("svc.db"));
  const second = openOrders(dir.file("svc.db"));
  const writer = new SqliteOutbox(first);
  const reader = new SqliteOutbox(second);
  new SqliteOutbox(first);
  immediate(first, () => writer.add("s", orderEvent("e-1", "c")));
  assert.deepEqual(reader.pending(10).map((row) => row.id), ["e-1"]);
  first.close();
  second.close();
});

Deno.test("SqliteOutbox refuses the relay's reads and writes inside a transaction on its connection", () => {
  const db = openOrders(":memory:");
  const outbox = new SqliteOutbox(db);
  immediate(db, () => {
    outbox.add("s", orderEvent("e-1", "c"));
    assert.throws(
      () => outbox.pending(10),
      (error: unknown) =>
        error instanceof TypeError &&
        error.message.startsWith(
          "Cannot read the outbox's pending events inside a transaction on the same connection",
        ),
    );
    assert.throws(() => outbox.markSent([1], 0), TypeError);
    assert.throws(() => outbox.acquireLease("a", 0, 100), TypeError);
  });
  assert.equal(outbox.pending(10).length, 1);
  db.close();
});
