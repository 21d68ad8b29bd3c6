import assert from "node:assert/strict";
import fc from "fast-check";
import { checkEffects } from "@flotilla/consistency";
import { ManualClock } from "@flotilla/core";
import { ManualTimers } from "@flotilla/resilience";
import { immediate } from "@flotilla/sqlite";
import { BusError } from "./errors.ts";
import { checkInboxRetention, minimumInboxRetention, SqliteInbox } from "./inbox.ts";
import { MemoryBus } from "./memory_bus.ts";
import type { ConsumerConfig } from "./_inbox_crash_child.ts";
import { LogBus } from "./_outbox_log_bus.ts";
import {
  addEffect,
  drive,
  openEffects,
  orderEvent,
  readEffects,
  spawnChild,
  tempDir,
} from "./_outbox_test_util.ts";

const DAY = 86_400_000;

Deno.test("SqliteInbox.process() runs the work once per event id", () => {
  const db = openEffects(":memory:");
  const inbox = new SqliteInbox(db, { group: "billing", retentionMs: DAY });
  const event = orderEvent("e-1", "c-1");
  const first = inbox.process(event, () => {
    addEffect(db, event.id);
    return "invoiced";
  });
  assert.deepEqual(first, { processed: true, result: "invoiced" });
  let ran = false;
  const again = inbox.process(event, () => {
    ran = true;
    addEffect(db, event.id);
  });
  assert.deepEqual(again, { processed: false });
  assert.equal(ran, false);
  assert.deepEqual(readEffects(db), new Map([["e-1", 1]]));
  assert.equal(inbox.has("e-1"), true);
  assert.equal(inbox.size, 1);
  assert.equal(db.isTransaction, false);
  db.close();
});

Deno.test("SqliteInbox keeps separate memories per consumer group", () => {
  const db = openEffects(":memory:");
  const billing = new SqliteInbox(db, { group: "billing", retentionMs: DAY });
  const shipping = new SqliteInbox(db, { group: "shipping", retentionMs: DAY });
  assert.equal(billing.process("e-1", () => 1).processed, true);
  assert.equal(shipping.process("e-1", () => 1).processed, true);
  assert.equal(billing.process("e-1", () => 1).processed, false);
  db.close();
});

Deno.test("SqliteInbox.process() records nothing when the work throws, so the redelivery runs it", () => {
  const db = openEffects(":memory:");
  const inbox = new SqliteInbox(db, { group: "billing", retentionMs: DAY });
  assert.throws(
    () =>
      inbox.process("e-1", () => {
        addEffect(db, "e-1");
        throw new Error("the payment service is down");
      }),
    /payment service is down/,
  );
  assert.equal(inbox.has("e-1"), false);
  assert.deepEqual(readEffects(db), new Map());
  assert.equal(inbox.process("e-1", () => addEffect(db, "e-1")).processed, true);
  assert.deepEqual(readEffects(db), new Map([["e-1", 1]]));
  db.close();
});

Deno.test("SqliteInbox.process() refuses async work and an event without an id", () => {
  const db = openEffects(":memory:");
  const inbox = new SqliteInbox(db, { group: "billing", retentionMs: DAY });
  assert.throws(() => inbox.process("e-1", () => Promise.resolve(1)), TypeError);
  assert.equal(inbox.has("e-1"), false);
  assert.throws(
    () => inbox.process({ id: "" }, () => 1),
    (error: unknown) => error instanceof BusError && error.code === "INVALID_EVENT",
  );
  db.close();
});

Deno.test("SqliteInbox.process() inside the caller's transaction uses a savepoint of it", () => {
  const db = openEffects(":memory:");
  const inbox = new SqliteInbox(db, { group: "billing", retentionMs: DAY });
  immediate(db, () => {
    inbox.process("e-1", () => addEffect(db, "e-1"));
    assert.throws(() =>
      inbox.process("e-2", () => {
        addEffect(db, "e-2");
        throw new Error("no");
      })
    );
    assert.equal(db.isTransaction, true);
  });
  assert.equal(inbox.has("e-1"), true);
  assert.equal(inbox.has("e-2"), false);
  assert.deepEqual(readEffects(db), new Map([["e-1", 1]]));
  // The caller's rollback takes the id with it.
  assert.throws(() =>
    immediate(db, () => {
      inbox.process("e-3", () => addEffect(db, "e-3"));
      throw new Error("caller changed its mind");
    })
  );
  assert.equal(inbox.has("e-3"), false);
  db.close();
});

Deno.test("SqliteInbox.handler() makes a redelivery after a lost acknowledgement a no-op", async () => {
  const timers = new ManualTimers();
  await using bus = new MemoryBus({ timers });
  const db = openEffects(":memory:");
  const subscription = { group: "billing", ackWaitMs: 1_000, maxDeliver: 3, backoffMs: [100] };
  const inbox = new SqliteInbox(db, { ...subscription, retentionMs: DAY, clock: timers });
  const handle = inbox.handler<{ n: number }>(({ event }) => addEffect(db, event.id));
  const attempts: number[] = [];
  await using _subscription = await bus.subscribe("shop.order", async (delivery) => {
    attempts.push(delivery.attempt);
    await handle(delivery);
    // The state change committed, but the acknowledgement never reaches the broker.
    if (delivery.attempt === 1) throw new Error("connection lost before the ack");
  }, subscription);
  const ids = ["e-1", "e-2", "e-3"];
  await bus.publish("shop.order", ids.map((id) => orderEvent(id, "c-1")));
  await drive(timers, waitUntil(() => attempts.length === 6), 50);
  assert.deepEqual(attempts, [1, 2, 1, 2, 1, 2]);
  const verdict = checkEffects(ids, readEffects(db));
  assert.equal(verdict.valid, true, Deno.inspect(verdict));
  db.close();
});

async function waitUntil(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("SqliteInbox.purge() forgets ids older than the retention, and process() purges periodically", () => {
  const clock = new ManualClock(0);
  const db = openEffects(":memory:");
  const retentionMs = minimumInboxRetention({});
  const inbox = new SqliteInbox(db, {
    group: "billing",
    retentionMs,
    clock,
    purgeIntervalMs: 1_000,
  });
  inbox.process("old", () => 1);
  clock.advance(retentionMs - 1);
  inbox.process("new", () => 1);
  assert.equal(inbox.purge(), 0);
  clock.advance(1_000);
  inbox.process("newer", () => 1); // a purge is due: "old" goes
  assert.equal(inbox.has("old"), false);
  assert.equal(inbox.has("new"), true);
  assert.equal(inbox.size, 2);
  db.close();
});

Deno.test("SqliteInbox with an infinite retention never forgets", () => {
  const clock = new ManualClock(0);
  const db = openEffects(":memory:");
  const inbox = new SqliteInbox(db, {
    group: "g",
    retentionMs: Infinity,
    maxDeliver: Infinity,
    clock,
  });
  inbox.process("e-1", () => 1);
  clock.advance(1e12);
  assert.equal(inbox.purge(), 0);
  assert.equal(inbox.has("e-1"), true);
  db.close();
});

Deno.test("minimumInboxRetention() is ack wait × deliveries + the redeliveries' backoff + margin", () => {
  assert.equal(minimumInboxRetention({}), 30_000 * 5 + 1_000 + 5_000 + 30_000 + 30_000 + 60_000);
  assert.equal(
    minimumInboxRetention({
      ackWaitMs: 1_000,
      maxDeliver: 3,
      backoffMs: [10, 20, 40],
      marginMs: 0,
    }),
    3_000 + 10 + 20,
  );
  assert.equal(minimumInboxRetention({ ackWaitMs: 1_000, maxDeliver: 1, marginMs: 5 }), 1_005);
  assert.equal(minimumInboxRetention({ maxDeliver: 3, backoffMs: [], marginMs: 0 }), 90_000);
  assert.equal(minimumInboxRetention({ maxDeliver: Infinity }), Infinity);
});

Deno.test("checkInboxRetention() and the SqliteInbox constructor refuse a retention shorter than redelivery", () => {
  const message =
    "Cannot keep the inbox's ids as 'retentionMs' must be at least 276000 (ackWaitMs 30000 × maxDeliver 5 " +
    "+ backoff 1000 + 5000 + 30000 + 30000 + margin 60000), or a redelivered event could take effect " +
    "twice: current value is 60000";
  assert.throws(
    () => checkInboxRetention({ retentionMs: 60_000 }),
    (error: unknown) => error instanceof RangeError && error.message === message,
  );
  const db = openEffects(":memory:");
  assert.throws(
    () => new SqliteInbox(db, { group: "billing", retentionMs: 60_000 }),
    (error: unknown) => error instanceof RangeError && error.message === message,
  );
  assert.throws(
    () => new SqliteInbox(db, { group: "billing", retentionMs: DAY, maxDeliver: Infinity }),
    /maxDeliver is Infinity/,
  );
  assert.throws(() => checkInboxRetention({ retentionMs: 0 }), RangeError);
  assert.throws(() => checkInboxRetention({ retentionMs: DAY, ackWaitMs: 0 }), RangeError);
  assert.throws(() => checkInboxRetention({ retentionMs: DAY, maxDeliver: 1.5 }), RangeError);
  assert.throws(() => checkInboxRetention({ retentionMs: DAY, backoffMs: [-1] }), RangeError);
  assert.throws(() => new SqliteInbox(db, { group: "", retentionMs: DAY }), RangeError);
  checkInboxRetention({ retentionMs: 276_000 });
  checkInboxRetention({ retentionMs: Infinity, maxDeliver: Infinity });
  db.close();
});

Deno.test("SqliteInbox at the minimum retention remembers every id through the worst-case redeliveries (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 60_000 }),
      fc.integer({ min: 1, max: 8 }),
      fc.array(fc.integer({ min: 0, max: 60_000 }), { maxLength: 4 }),
      fc.integer({ min: 0, max: 100 }),
      (ackWaitMs, maxDeliver, backoffMs, handlingPercent) => {
        // The broker's worst case: the first delivery commits at once but its
        // ack is lost; every later delivery waits its backoff, is held for the
        // whole ack wait and times out; the last is handled at the very end
        // of its ack wait. With no margin, the retention is exactly the window.
        const settings = { ackWaitMs, maxDeliver, backoffMs, marginMs: 0 };
        const retentionMs = minimumInboxRetention(settings);
        const clock = new ManualClock(1_000_000);
        const db = openEffects(":memory:");
        const inbox = new SqliteInbox(db, {
          group: "g",
          ...settings,
          retentionMs,
          clock,
          purgeIntervalMs: 1,
        });
        assert.equal(inbox.process("e", () => addEffect(db, "e")).processed, true);
        clock.advance(ackWaitMs);
        for (let attempt = 1; attempt < maxDeliver; attempt++) {
          const delay = backoffMs.length === 0
            ? 0
            : backoffMs[Math.min(attempt, backoffMs.length) - 1]!;
          clock.advance(delay);
          const handled = attempt === maxDeliver - 1
            ? ackWaitMs - 1
            : Math.floor(((ackWaitMs - 1) * handlingPercent) / 100);
          clock.advance(handled);
          inbox.purge();
          assert.equal(inbox.process("e", () => addEffect(db, "e")).processed, false);
          clock.advance(ackWaitMs - handled);
        }
        assert.deepEqual(readEffects(db), new Map([["e", 1]]));
        db.close();
      },
    ),
  );
});

Deno.test("SqliteInbox: a consumer SIGKILLed in the middle of its batches processes every event exactly once", async () => {
  await using dir = await tempDir();
  const broker = dir.file("broker.db");
  const ids: string[] = [];
  {
    await using bus = new LogBus(broker);
    for (let i = 0; i < 600; i += 50) {
      const events = Array.from({ length: 50 }, (_, j) => orderEvent(`e-${i + j}`, `c-${j % 5}`));
      await bus.publish("shop.order", events);
      ids.push(...events.map((event) => event.id));
      // A publisher that crashed between publish and mark published some again.
      await bus.publish("shop.order", events.slice(0, 7));
    }
  }
  let seed = 7;
  const random = () => (seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32;
  let crashes = 0;
  for (let run = 0;; run++) {
    const crash = run < 8;
    const config: ConsumerConfig = {
      broker,
      db: dir.file("consumer.db"),
      batchSize: 40,
      freezeAfter: crash ? 1 + Math.floor(random() * 120) : 0,
    };
    await using child = spawnChild("./_inbox_crash_child.ts", config);
    const line = await child.line("FROZEN", "DONE");
    await child.kill();
    if (line === "FROZEN mid_batch") crashes++;
    else if (line?.startsWith("DONE")) break;
    else throw new Error(`the consumer said ${line}`);
  }
  assert.equal(crashes, 8);
  const db = openEffects(dir.file("consumer.db"));
  const verdict = checkEffects(ids, readEffects(db));
  assert.equal(verdict.valid, true, Deno.inspect(verdict));
  db.close();
});
