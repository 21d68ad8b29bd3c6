import assert from "node:assert/strict";
import { z } from "zod";
import { immediate, openDatabase } from "@flotilla/sqlite";
import { EventCatalog } from "./catalog.ts";
import { BusError } from "./errors.ts";
import { SqliteOutbox } from "./outbox.ts";
import { outboxEmitter } from "./outbox_emitter.ts";
import { recordingEmitter } from "./recording_emitter.ts";

Deno.test("outboxEmitter() writes valid events to the outbox in the caller's transaction", () => {
  const db = openDatabase(":memory:", { schema: "CREATE TABLE t (x INTEGER)" });
  const outbox = new SqliteOutbox(db);
  let nudged = 0;
  const emit = outboxEmitter(outbox, {
    stream: "shop.order",
    source: "/test/order",
    catalog: new EventCatalog({ "order.created": z.object({ orderId: z.string() }) }),
    onEmit: () => nudged++,
  });
  immediate(db, () => {
    db.prepare("INSERT INTO t VALUES (1)").run();
    emit("order.created", { orderId: "o-1" }, { subject: "o-1" });
  });
  const [row] = outbox.pending(10);
  assert.equal(row?.stream, "shop.order");
  assert.equal(row?.event.type, "order.created");
  assert.equal(row?.event.subject, "o-1");
  assert.equal(row?.event.source, "/test/order");
  assert.equal(nudged, 1);

  assert.throws(
    () =>
      immediate(db, () => {
        db.prepare("INSERT INTO t VALUES (2)").run();
        emit("order.created", { orderId: 2 });
      }),
    (error: unknown) => error instanceof BusError && error.code === "INVALID_EVENT",
  );
  assert.throws(() => immediate(db, () => emit("order.teleported", {})), BusError);
  assert.equal(outbox.pending(10).length, 1, "a refused event rolls its transaction back");
  assert.equal(db.prepare("SELECT count(*) AS n FROM t").get()?.n, 1);
  db.close();
});

Deno.test("recordingEmitter() records valid events and refuses invalid ones like the outbox", () => {
  const recorder = recordingEmitter(
    new EventCatalog({ "order.created": z.object({ orderId: z.string() }) }),
  );
  recorder.emit("order.created", { orderId: "o-1" }, { subject: "o-1" });
  assert.throws(() => recorder.emit("order.created", { orderId: 1 }), BusError);
  assert.deepEqual(recorder.events, [{
    type: "order.created",
    data: { orderId: "o-1" },
    subject: "o-1",
    trace: undefined,
  }]);
});
