import assert from "node:assert/strict";
import { join } from "node:path";
import { z } from "zod";
import { defineContract, defineService } from "@flotilla/core";
import { createEvent } from "@flotilla/bus";
import { immediate, openDatabase } from "@flotilla/sqlite";
import { waitFor } from "@flotilla/testing";
import { bootService } from "./boot.ts";

const noted = { "note.added": { data: z.object({ text: z.string().min(1) }) } };

const contract = defineContract({
  name: "notes",
  version: "1.0.0",
  actions: {
    add: { input: z.object({ text: z.string() }), output: z.object({ ok: z.boolean() }) },
  },
  events: { emits: noted, handles: noted },
  needs: { dataDir: true },
});

Deno.test({
  name: "bootService() relays outbox events to the bus and consumes them once through an inbox",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "flotilla-boot-" });
    const values: Record<string, string> = {
      PORT: "0",
      FLOTILLA_DATA_DIR: dir,
      FLOTILLA_BUS: "sqlite",
      FLOTILLA_BUS_DIR: dir,
      FLOTILLA_LOG_LEVEL: "error",
    };
    const node = await bootService(contract, {
      env: { get: (name) => values[name] },
      exitOnStop: false,
    });
    const db = openDatabase(join(dir, "notes.db"), {
      schema: "CREATE TABLE IF NOT EXISTS seen (text TEXT NOT NULL)",
    });
    const emit = node.outbox(db, { stream: "notes" });
    node.consume(db, "notes", ({ event }) => {
      db.prepare("INSERT INTO seen (text) VALUES (?)").run((event.data as { text: string }).text);
    }, { group: "readers", ackWaitMs: 1_000, maxDeliver: 2, backoffMs: [10] });
    const running = await node.serve(defineService(contract, {
      add: ({ text }) => {
        immediate(db, () => emit("note.added", { text }));
        return { ok: true };
      },
    }, { onStop: () => db.close() }));
    try {
      await running.host.invoke("add", { text: "hello" }, {});
      await running.host.invoke("add", { text: "world" }, {});
      const seen = () =>
        db.prepare("SELECT text FROM seen ORDER BY rowid").all().map((r) => r.text);
      await waitFor(() => seen().length === 2, { what: "both events consumed" });
      assert.deepEqual(seen(), ["hello", "world"]);

      // An event that breaks its schema on the wire is dead-lettered with the reason, never handled.
      const bus = await node.bus();
      await bus.publish("notes", [
        createEvent("note.added", { text: "" }, { source: "/elsewhere" }),
      ]);
      await waitFor(async () => (await bus.deadLetters("notes", "readers")).length === 1, {
        what: "the invalid event to be dead-lettered",
      });
      const [letter] = await bus.deadLetters("notes", "readers");
      assert.match(letter!.reason, /text/);
      assert.equal(seen().length, 2);

      assert.throws(() => immediate(db, () => emit("note.added", { text: "" })), /text/);
    } finally {
      await running.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "bootService() opens the event store of FLOTILLA_EVENTSTORE and publishes every appended event once",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "flotilla-boot-" });
    const values: Record<string, string> = {
      PORT: "0",
      FLOTILLA_DATA_DIR: dir,
      FLOTILLA_BUS: "sqlite",
      FLOTILLA_BUS_DIR: dir,
      FLOTILLA_EVENTSTORE: "sqlite",
      FLOTILLA_LOG_LEVEL: "error",
    };
    const sourced = defineContract({ ...contract, needs: { dataDir: true, eventStore: true } });
    const node = await bootService(sourced, {
      env: { get: (name) => values[name] },
      exitOnStop: false,
    });
    const db = openDatabase(join(dir, "notes.db"));
    const store = await node.eventStore(db, { stream: "notes" });
    assert.equal(store.kind, "sqlite");
    const running = await node.serve(defineService(sourced, {
      add: async ({ text }) => {
        await store.append(`note-${text}`, [{
          id: crypto.randomUUID(),
          type: "note.added",
          data: { text },
        }], { expectedVersion: "no_stream" });
        return { ok: true };
      },
    }, {
      onStop: async () => {
        await store[Symbol.asyncDispose]();
        db.close();
      },
    }));
    try {
      await running.host.invoke("add", { text: "hello" }, {});
      await running.host.invoke("add", { text: "world" }, {});
      // An event its schema refuses is never stored, so it can never be published.
      await assert.rejects(running.host.invoke("add", { text: "" }, {}));
      assert.equal(await store.streamVersion("note-"), -1);
      const bus = await node.bus();
      const received: string[] = [];
      const subscription = await bus.subscribe("notes", (delivery) => {
        received.push(
          `${delivery.event.subject} ${(delivery.event.data as { text: string }).text}`,
        );
      }, { group: "probe", consumer: "probe-1", from: { type: "all" } });
      await waitFor(() => received.length === 2, { what: "both appended events published" });
      assert.deepEqual(received.sort(), ["note-hello hello", "note-world world"]);
      await subscription[Symbol.asyncDispose]();
    } finally {
      await running.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
