import assert from "node:assert/strict";
import { FlotillaError } from "@flotilla/core";
import type { Delivery } from "./bus.ts";
import { createEvent } from "./create_event.ts";
import { PoisonMessageError } from "./errors.ts";
import { deadLetterReason, isPoison, runHandler } from "./_core_outcome.ts";

const delivery: Delivery = {
  event: createEvent("t", 1, { source: "/s" }),
  stream: "s",
  position: "1",
  attempt: 1,
  signal: new AbortController().signal,
};

Deno.test("runHandler() acknowledges a handler that returns and fails one that throws, sync or async", async () => {
  assert.deepEqual(await runHandler(() => {}, delivery), { type: "ack" });
  assert.deepEqual(await runHandler(() => Promise.resolve(), delivery), { type: "ack" });
  assert.deepEqual(
    await runHandler(() => {
      throw new Error("sync");
    }, delivery),
    { type: "fail", reason: "sync", poison: false },
  );
  assert.deepEqual(
    await runHandler(() => Promise.reject(new PoisonMessageError("bad payload")), delivery),
    { type: "fail", reason: "bad payload", poison: true },
  );
});

Deno.test("deadLetterReason() keeps the message, prefixed by the code when there is one", () => {
  assert.equal(deadLetterReason(new Error("down")), "down");
  assert.equal(
    deadLetterReason(new FlotillaError("OUT_OF_STOCK", "no TEA-01")),
    "OUT_OF_STOCK: no TEA-01",
  );
  assert.equal(deadLetterReason(new PoisonMessageError("unreadable")), "unreadable");
  assert.equal(deadLetterReason(new TypeError("")), "TypeError");
  assert.equal(deadLetterReason("plain"), "plain");
  assert.equal(deadLetterReason({ why: 1 }), 'Thrown: {"why":1}');
  assert.equal(deadLetterReason(undefined), "Thrown: undefined");
  assert.equal(isPoison({ code: "POISON_MESSAGE" }), true);
  assert.equal(isPoison(new Error("x")), false);
});
