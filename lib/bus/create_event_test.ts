import assert from "node:assert/strict";
import fc from "fast-check";
import { ManualClock, newTrace } from "@flotilla/core";
import { createEvent } from "./create_event.ts";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

Deno.test("createEvent() fills in a CloudEvents 1.0 envelope with a UUIDv7 id and the clock's time", () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 2, 3, 4, 5, 6));
  const event = createEvent("order.created", { orderId: "o-1" }, { source: "/shop/order", clock });
  assert.deepEqual({ ...event, id: "?" }, {
    specversion: "1.0",
    id: "?",
    source: "/shop/order",
    type: "order.created",
    time: "2026-01-02T03:04:05.006Z",
    datacontenttype: "application/json",
    data: { orderId: "o-1" },
  });
  assert.match(event.id, UUID_V7);
  // The id's first 48 bits are the clock's milliseconds.
  assert.equal(parseInt(event.id.replace("-", "").slice(0, 12), 16), clock.now());
  assert.equal("subject" in event, false);
  assert.equal("traceparent" in event, false);
});

Deno.test("createEvent() takes subject, id, time and the trace's traceparent and tracestate", () => {
  const trace = { ...newTrace(), tracestate: "vendor=x" };
  const event = createEvent("order.paid", null, {
    source: "/shop/payment",
    subject: "o-1",
    id: "evt-7",
    time: new Date(Date.UTC(2026, 5, 1)),
    trace,
  });
  assert.equal(event.id, "evt-7");
  assert.equal(event.subject, "o-1");
  assert.equal(event.time, "2026-06-01T00:00:00.000Z");
  assert.equal(event.traceparent, `00-${trace.traceId}-${trace.spanId}-01`);
  assert.equal(event.tracestate, "vendor=x");
  assert.equal(
    createEvent("t", 1, { source: "/s", time: "2026-01-01T00:00:00+01:00" }).time,
    "2026-01-01T00:00:00+01:00",
  );
  const unsampled = createEvent("t", 1, { source: "/s", trace: { ...newTrace(false) } });
  assert.match(unsampled.traceparent!, /-00$/);
  assert.equal("tracestate" in unsampled, false);
});

Deno.test("createEvent() throws RangeError for invalid arguments", () => {
  const cases: Array<[() => unknown, RegExp]> = [
    [
      () => createEvent("", 1, { source: "/s" }),
      /Cannot create the event as 'type' must be a non-empty string: current value is ""/,
    ],
    [() => createEvent("t", 1, { source: "" }), /'source' must be a non-empty URI reference/],
    [
      () => createEvent("t", undefined, { source: "/s" }),
      /'data' must be a JSON value: current value is undefined/,
    ],
    [() => createEvent("t", 1, { source: "/s", id: "" }), /'id' must be a non-empty string/],
    [
      () => createEvent("t", 1, { source: "/s", time: "tomorrow" }),
      /'time' must be a valid Date or an RFC 3339 timestamp: current value is "tomorrow"/,
    ],
    [
      () => createEvent("t", 1, { source: "/s", time: new Date(NaN) }),
      /'time' must be a valid Date/,
    ],
    [
      () => createEvent("t", 1, { source: "/s", subject: 1 as unknown as string }),
      /'subject' must be a string/,
    ],
  ];
  for (const [fn, message] of cases) {
    assert.throws(fn, (e: unknown) => e instanceof RangeError && message.test(e.message));
  }
});

Deno.test("createEvent() ids sort in creation order, within a millisecond and when the clock steps back", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 300 }),
      (steps) => {
        const clock = new ManualClock(1_750_000_000_000);
        let now = clock.now();
        const ids: string[] = [];
        for (const step of steps) {
          now += step;
          ids.push(createEvent("t", 1, { source: "/s", clock: { now: () => now } }).id);
        }
        assert.ok(ids.every((id) => UUID_V7.test(id)));
        assert.deepEqual([...ids].sort(), ids);
        assert.equal(new Set(ids).size, ids.length);
      },
    ),
  );
});
