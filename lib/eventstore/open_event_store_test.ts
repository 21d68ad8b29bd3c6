import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { SqliteOutbox } from "@flotilla/bus";
import { EventStoreError } from "./errors.ts";
import { MemoryEventStore } from "./memory_event_store.ts";
import { openEventStore, parseEventStoreUrl } from "./open_event_store.ts";
import { SqliteEventStore } from "./sqlite_event_store.ts";

Deno.test("parseEventStoreUrl() reads every form", () => {
  assert.deepEqual(parseEventStoreUrl("memory"), { type: "memory" });
  assert.deepEqual(parseEventStoreUrl(" SQLite "), { type: "sqlite" });
  assert.deepEqual(parseEventStoreUrl("sqlite:/tmp/e.db"), { type: "sqlite", path: "/tmp/e.db" });
  assert.deepEqual(parseEventStoreUrl("sqlite:///tmp/e.db"), { type: "sqlite", path: "/tmp/e.db" });
  assert.deepEqual(parseEventStoreUrl("postgres://app@db:5432/shop?schema=orders"), {
    type: "postgres",
    url: "postgres://app@db:5432/shop?schema=orders",
  });
  assert.equal(parseEventStoreUrl("postgresql://app@db/shop").type, "postgres");
});

Deno.test("parseEventStoreUrl() refuses anything else with INVALID_EVENTSTORE_URL, hiding passwords", () => {
  for (const value of ["", "sqlite:", "mysql://a@b/c", "postgres://", "postgres://app:pw@/x"]) {
    assert.throws(
      () => parseEventStoreUrl(value),
      (error: unknown) =>
        error instanceof EventStoreError && error.code === "INVALID_EVENTSTORE_URL" &&
        !error.message.includes(":pw@"),
      value,
    );
  }
});

Deno.test("openEventStore() opens memory and SQLite stores, with the outbox of the database", async () => {
  const memory = await openEventStore("memory");
  assert.ok(memory.store instanceof MemoryEventStore);
  await memory.store[Symbol.asyncDispose]();
  const db = new DatabaseSync(":memory:");
  const sqlite = new SqliteOutbox(db);
  const opened = await openEventStore("sqlite", {
    db,
    outbox: { stream: "shop.order", source: "/test", sqlite },
  });
  assert.ok(opened.store instanceof SqliteEventStore);
  assert.equal(opened.outbox, sqlite);
  await opened.store.append(
    "order-1",
    [{ id: crypto.randomUUID(), type: "OrderPlaced", data: {} }],
    {
      expectedVersion: "no_stream",
    },
  );
  assert.equal(sqlite.stats().backlog, 1);
  await opened.store[Symbol.asyncDispose]();
  db.close();
});

Deno.test("openEventStore() refuses SQLite without a database, and an outbox it cannot keep", async () => {
  await assert.rejects(openEventStore("sqlite"), RangeError);
  await assert.rejects(
    openEventStore("memory", { outbox: { stream: "s", source: "/t" } }),
    RangeError,
  );
  await assert.rejects(
    openEventStore("sqlite", {
      db: new DatabaseSync(":memory:"),
      outbox: { stream: "s", source: "/t" },
    }),
    RangeError,
  );
});
