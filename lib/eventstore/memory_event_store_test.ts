import assert from "node:assert/strict";
import { ManualClock } from "@flotilla/core";
import { testEventStoreConformance } from "./conformance.ts";
import { MemoryEventStore } from "./memory_event_store.ts";

testEventStoreConformance("MemoryEventStore", () => Promise.resolve(new MemoryEventStore()));

Deno.test("MemoryEventStore stamps events with its clock and numbers positions from 1", async () => {
  const clock = new ManualClock(Date.UTC(2030, 0, 2, 3, 4, 5, 678));
  await using store = new MemoryEventStore({ clock });
  await store.append("a", [{ id: "e1", type: "t", data: 1 }], { expectedVersion: "no_stream" });
  clock.advance(1_000);
  await store.append("b", [{ id: "e2", type: "t", data: 2 }], { expectedVersion: "no_stream" });
  const all = await store.readAll();
  assert.deepEqual(all.map((e) => [e.position, e.time]), [
    ["1", "2030-01-02T03:04:05.678Z"],
    ["2", "2030-01-02T03:04:06.678Z"],
  ]);
});
