import assert from "node:assert/strict";
import { join } from "node:path";
import { openDatabase } from "@flotilla/sqlite";
import { TextLineStream, waitFor } from "@flotilla/testing";
import type { Delivery } from "./bus.ts";
import type { CloudEvent } from "./cloud_event.ts";
import { testBusConformance } from "./conformance.ts";
import { createEvent } from "./create_event.ts";
import { BusError } from "./errors.ts";
import { SqliteBus } from "./sqlite_bus.ts";

const root = await Deno.makeTempDir({ prefix: "flotilla-sqlite-bus-" });
globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));
let files = 0;
const freshPath = () => join(root, `bus-${++files}.db`);

testBusConformance(
  "SqliteBus",
  () => Promise.resolve(new SqliteBus({ path: freshPath(), pollIntervalMs: 10 })),
  {
    orderedBySubject: true,
    // A foreign producer writes a row straight into the file.
    publishRaw(bus, stream, raw) {
      const db = openDatabase((bus as SqliteBus).path);
      try {
        db.prepare(
          `INSERT INTO bus_events (stream, seq, id, type, subject, event)
           SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, 'raw', NULL, ? FROM bus_events WHERE stream = ?`,
        ).run(stream, crypto.randomUUID(), raw, stream);
      } finally {
        db.close();
      }
      return Promise.resolve();
    },
  },
);

function events(count: number, subject?: (i: number) => string | undefined): CloudEvent[] {
  return Array.from({ length: count }, (_, i) => {
    const key = subject?.(i);
    return createEvent("order.created", { i }, {
      source: "/shop/order",
      ...(key === undefined ? {} : { subject: key }),
    });
  });
}

Deno.test("SqliteBus keeps its tables in one WAL-mode file, in a folder it creates", async () => {
  const path = join(root, "nested", "deeper", "bus.db");
  {
    await using bus = new SqliteBus({ path });
    assert.equal(bus.kind, "sqlite");
    assert.equal(bus.path, path);
    await bus.publish("s", events(1));
  }
  const db = openDatabase(path);
  try {
    assert.equal(db.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all().map((row) => row.name);
    assert.deepEqual(tables.filter((name) => String(name).startsWith("bus_")), [
      "bus_dead_letters",
      "bus_events",
      "bus_groups",
      "bus_pending",
    ]);
  } finally {
    db.close();
  }
});

Deno.test("SqliteBus refuses invalid options with RangeError and an unusable file with BUS_UNAVAILABLE", () => {
  assert.throws(
    () => new SqliteBus({ path: "" }),
    /Cannot open the sqlite bus as 'path' must be a non-empty path: current value is ""/,
  );
  assert.throws(
    () => new SqliteBus({ path: freshPath(), pollIntervalMs: 0 }),
    /'pollIntervalMs' must be a positive number: current value is 0/,
  );
  assert.throws(
    () => new SqliteBus({ path: freshPath(), maxPending: 0 }),
    /'maxPending' must be a positive integer: current value is 0/,
  );
  assert.throws(
    () => new SqliteBus({ path: freshPath(), busyTimeoutMs: -1 }),
    /'busyTimeoutMs' must be a non-negative integer: current value is -1/,
  );
  assert.throws(
    () => new SqliteBus({ path: root }), // a folder
    (e: unknown) => e instanceof BusError && e.code === "BUS_UNAVAILABLE" && e.retryable,
  );
});

Deno.test("SqliteBus: consumers on two connections share a group, each subject in order, none twice", async () => {
  const path = freshPath();
  await using one = new SqliteBus({ path, pollIntervalMs: 5 });
  await using two = new SqliteBus({ path, pollIntervalMs: 5 });
  const handled: Array<{ by: string; i: number; subject: string }> = [];
  const running = new Set<string>();
  const overlaps: string[] = [];
  const handler = (by: string) => async (d: Delivery) => {
    const subject = d.event.subject!;
    if (running.has(subject)) overlaps.push(subject);
    running.add(subject);
    await new Promise((resolve) => setTimeout(resolve, 0));
    handled.push({ by, i: (d.event.data as { i: number }).i, subject });
    running.delete(subject);
  };
  await using _a = await one.subscribe("s", handler("one"), { group: "g", concurrency: 4 });
  await using _b = await two.subscribe("s", handler("two"), { group: "g", concurrency: 4 });
  const published = events(200, (i) => `order-${i % 7}`);
  for (let i = 0; i < 200; i += 20) await one.publish("s", published.slice(i, i + 20));
  await waitFor(() => handled.length >= 200, { what: "200 events" });
  assert.deepEqual(handled.map((h) => h.i).sort((a, b) => a - b), [...Array(200).keys()]);
  assert.deepEqual(overlaps, []);
  for (let k = 0; k < 7; k++) {
    const order = handled.filter((h) => h.subject === `order-${k}`).map((h) => h.i);
    assert.deepEqual(order, [...order].sort((a, b) => a - b));
  }
  assert.ok(handled.some((h) => h.by === "one") && handled.some((h) => h.by === "two"));
});

function consumerProcess(path: string, stream: string, group: string, mode: "hang" | "ack") {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      new URL("./testdata/sqlite_consumer.ts", import.meta.url).pathname,
      path,
      stream,
      group,
      mode,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines: string[] = [];
  const reading = (async () => {
    const stream = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(
      new TextLineStream(),
    );
    for await (const line of stream) lines.push(line);
  })();
  return {
    lines,
    got: () => lines.filter((l) => l.startsWith("got ")).map((l) => l.split(" ")),
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await child.status;
      await reading;
    },
  };
}

Deno.test("SqliteBus: the delivery of a consumer killed with SIGKILL goes to another process after the ack wait", async () => {
  const path = freshPath();
  await using bus = new SqliteBus({ path, pollIntervalMs: 5 });
  const [event] = events(1);
  {
    await using child = consumerProcess(path, "s", "g", "hang");
    await waitFor(() => child.lines.includes("ready"), { what: "the child to subscribe" });
    await bus.publish("s", [event!]);
    await waitFor(() => child.got().length > 0, { what: "the child's delivery" });
    assert.deepEqual(child.got(), [["got", event!.id, "1"]]);
  } // SIGKILL: no ack, no release
  const seen: Delivery[] = [];
  await using _sub = await bus.subscribe("s", (d) => {
    seen.push(d);
  }, { group: "g", ackWaitMs: 500 });
  await waitFor(() => seen.length > 0, { what: "the redelivery" });
  assert.equal(seen[0]!.event.id, event!.id);
  assert.equal(seen[0]!.attempt, 2);
  assert.deepEqual(await bus.deadLetters("s", "g"), []);
});

Deno.test("SqliteBus: a consumer process and this one share a group's events, none twice", async () => {
  const path = freshPath();
  await using bus = new SqliteBus({ path, pollIntervalMs: 5 });
  await using child = consumerProcess(path, "s", "g", "ack");
  await waitFor(() => child.lines.includes("ready"), { what: "the child to subscribe" });
  const mine: string[] = [];
  await using _sub = await bus.subscribe("s", async (d) => {
    mine.push(d.event.id);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }, { group: "g" });
  const published = events(300);
  for (let i = 0; i < 300; i += 10) await bus.publish("s", published.slice(i, i + 10));
  await waitFor(() => mine.length + child.got().length >= 300, { what: "300 events" });
  const theirs = child.got().map((line) => line[1]!);
  assert.deepEqual([...mine, ...theirs].sort(), published.map((e) => e.id).sort());
  assert.ok(theirs.length > 0 && mine.length > 0, `both got work: ${mine.length}/${theirs.length}`);
});

Deno.test("SqliteBus reports a locked file as BUS_UNAVAILABLE, to publish() and to onError, and recovers", async () => {
  const path = freshPath();
  const errors: BusError[] = [];
  await using bus = new SqliteBus({
    path,
    pollIntervalMs: 5,
    busyTimeoutMs: 0,
    onError: (error) => errors.push(error),
  });
  await bus.publish("s", events(1));
  const seen: Delivery[] = [];
  const locker = openDatabase(path);
  locker.exec("BEGIN IMMEDIATE");
  try {
    const error = await bus.publish("s", events(1)).catch((e) => e);
    assert.ok(error instanceof BusError);
    assert.equal(error.code, "BUS_UNAVAILABLE");
    assert.equal(error.retryable, true);
    assert.match(error.message, /^Cannot publish to 's': database is locked/);
    // Creating the group needs the write lock too.
    await assert.rejects(
      () => bus.subscribe("s", () => {}, { group: "g" }),
      (e: unknown) => e instanceof BusError && e.code === "BUS_UNAVAILABLE",
    );
  } finally {
    locker.exec("ROLLBACK");
  }
  await using _sub = await bus.subscribe("s", (d) => {
    seen.push(d);
  }, { group: "g" });
  locker.exec("BEGIN IMMEDIATE");
  try {
    await waitFor(() => errors.length > 0, { what: "a claim to fail" });
    assert.equal(errors[0]!.code, "BUS_UNAVAILABLE");
    assert.match(errors[0]!.message, /^Cannot claim events of 's'/);
  } finally {
    locker.exec("ROLLBACK");
    locker.close();
  }
  await waitFor(() => seen.length > 0, { what: "the delivery once the lock is gone" });
});
