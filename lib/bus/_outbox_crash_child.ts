/**
 * The publisher of the outbox crash tests, run as a child process: it
 * commits orders with their events and relays them to a {@link LogBus},
 * logging its enqueues to a history file, and freezes at a chosen point so
 * that the test can kill it there with SIGKILL. Private to the tests.
 *
 * Argument: a JSON {@link PublisherConfig}.
 *
 * @module
 */

import { History } from "@flotilla/consistency";
import { immediate } from "@flotilla/sqlite";
import { type OutboxRow, SqliteOutbox } from "./outbox.ts";
import { OutboxRelay } from "./outbox_relay.ts";
import { LogBus } from "./_outbox_log_bus.ts";
import { macrotask, openOrders, orderEvent } from "./_outbox_test_util.ts";

/** Where the publisher stops to be killed. */
export type CrashPoint =
  | "before_commit"
  | "after_commit"
  | "mid_publish"
  | "mid_relay"
  | "none";

/** What the publisher is told. */
export interface PublisherConfig {
  /** The service database. */
  readonly db: string;
  /** The broker file. */
  readonly broker: string;
  /** The history file (JSON lines, appended). */
  readonly history: string;
  /** Where to freeze. */
  readonly crashAt: CrashPoint;
  /** Freeze at the order (or published event) with this index. */
  readonly crashIndex: number;
  /** Orders to place. */
  readonly count: number;
  /** Seed of the writer's yields. */
  readonly seed: number;
  /** The relay's lease owner. */
  readonly owner: string;
}

const encoder = new TextEncoder();

function say(line: string): void {
  Deno.stdout.writeSync(encoder.encode(line + "\n"));
}

/** Stops this process dead (synchronously, inside whatever it is doing) until it is killed. */
function freeze(point: CrashPoint): never {
  say(`FROZEN ${point}`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
  Deno.exit(3);
}

if (import.meta.main) {
  const config = JSON.parse(Deno.args[0]!) as PublisherConfig;
  const db = openOrders(config.db);
  const outbox = new SqliteOutbox(db);
  const file = Deno.openSync(config.history, { append: true, create: true });
  const history = new History<string>({ sink: (line) => file.writeSync(encoder.encode(line)) });
  let published = 0;
  const bus = new LogBus(config.broker, {
    beforeCommit: (_stream, events) => {
      if (config.crashAt === "mid_publish" && published + events.length > config.crashIndex) {
        freeze("mid_publish");
      }
    },
  });
  const relayed = {
    pending: (limit: number): OutboxRow[] => outbox.pending(limit),
    markSent: (seqs: readonly number[], sentAt: number) => {
      published += seqs.length;
      if (config.crashAt === "mid_relay" && published > config.crashIndex) freeze("mid_relay");
      return outbox.markSent(seqs, sentAt);
    },
    markFailed: (seqs: readonly number[], error: string) => outbox.markFailed(seqs, error),
    purgeSent: (before: number, limit: number) => outbox.purgeSent(before, limit),
    acquireLease: (owner: string, now: number, leaseMs: number) =>
      outbox.acquireLease(owner, now, leaseMs),
    releaseLease: (owner: string) => outbox.releaseLease(owner),
  };
  const relay = new OutboxRelay({
    outbox: relayed,
    bus,
    owner: config.owner,
    batchSize: 5,
    pollIntervalMs: 20,
    leaseMs: 300,
    publishTimeoutMs: 150,
  });
  let random = config.seed >>> 0;
  const next = () => (random = (Math.imul(random, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32;
  say("STARTED");
  for (let i = 0; i < config.count; i++) {
    const id = `e-${i}`;
    history.invoke(config.owner, "enqueue", id);
    immediate(db, () => {
      db.prepare("INSERT INTO orders (id, customer) VALUES (?, ?)").run(id, `c-${i % 3}`);
      outbox.add("shop.order", orderEvent(id, `c-${i % 3}`, i));
      if (config.crashAt === "before_commit" && i === config.crashIndex) freeze("before_commit");
    });
    if (config.crashAt === "after_commit" && i === config.crashIndex) freeze("after_commit");
    history.ok(config.owner, "enqueue", id);
    relay.notify();
    if (next() < 0.3) await macrotask();
  }
  await relay.flush();
  say("DONE");
  await relay[Symbol.asyncDispose]();
  await bus[Symbol.asyncDispose]();
  db.close();
  file.close();
}
