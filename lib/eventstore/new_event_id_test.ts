import assert from "node:assert/strict";
import { ManualClock } from "@flotilla/core";
import { newEventId } from "./new_event_id.ts";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

Deno.test("newEventId() makes UUIDv7s that sort in the order they were made", () => {
  const clock = new ManualClock(Date.UTC(2030, 0, 1));
  const ids: string[] = [];
  for (let i = 0; i < 10_000; i++) {
    if (i % 1_000 === 0) clock.advance(1);
    ids.push(newEventId(clock));
  }
  for (const id of ids) assert.match(id, UUID_V7);
  assert.deepEqual([...ids].sort(), ids);
  assert.equal(new Set(ids).size, ids.length);
  assert.equal(
    ids[0]!.slice(0, 13).replace("-", ""),
    Date.UTC(2030, 0, 1, 0, 0, 0, 1).toString(16).padStart(12, "0"),
  );
});

Deno.test("newEventId() stays ordered when the clock steps back", () => {
  const clock = new ManualClock(Date.UTC(2031, 0, 1));
  const a = newEventId(clock);
  const back = new ManualClock(Date.UTC(2020, 0, 1));
  const b = newEventId(back);
  assert.ok(a < b);
});
