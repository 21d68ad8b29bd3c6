import assert from "node:assert/strict";
import fc from "fast-check";
import { FlotillaError, ManualClock, NotFoundError, UnavailableError } from "@flotilla/core";
import { OutlierDetector, type OutlierEvent, type OutlierOptions } from "./outlier_detector.ts";

function setup(endpoints = ["a", "b", "c", "d"], options: OutlierOptions = {}) {
  const clock = new ManualClock(0);
  const detector = new OutlierDetector({ clock, ...options });
  const events: OutlierEvent[] = [];
  detector.onEvent((event) => events.push(event));
  detector.setEndpoints(endpoints);
  return { clock, detector, events };
}

function failTimes(detector: OutlierDetector, id: string, times: number): void {
  for (let i = 0; i < times; i++) detector.record(id, false);
}

Deno.test("OutlierDetector ejects an endpoint after consecutiveFailures in a row", () => {
  const { detector, events } = setup();
  failTimes(detector, "a", 4);
  assert.equal(detector.isEjected("a"), false);
  detector.record("a", false);
  assert.equal(detector.isEjected("a"), true);
  assert.deepEqual(detector.ejected(), ["a"]);
  assert.deepEqual(events, [{ type: "ejected", id: "a", at: 0, until: 30_000, ejections: 1 }]);
});

Deno.test("OutlierDetector resets the count on a success", () => {
  const { detector } = setup();
  failTimes(detector, "a", 4);
  detector.record("a", true);
  failTimes(detector, "a", 4);
  assert.equal(detector.isEjected("a"), false);
});

Deno.test("OutlierDetector returns an endpoint lazily when its ejection is over", () => {
  const { clock, detector, events } = setup();
  failTimes(detector, "a", 5);
  clock.advance(29_999);
  assert.equal(detector.isEjected("a"), true);
  clock.advance(1);
  assert.equal(detector.isEjected("a"), false);
  assert.deepEqual(events.at(-1), { type: "returned", id: "a", at: 30_000 });
  failTimes(detector, "a", 4);
  assert.equal(detector.isEjected("a"), false); // a fresh count after the return
});

Deno.test("OutlierDetector ejects for longer each time, up to maxEjectionMs", () => {
  const { clock, detector, events } = setup(["a", "b"], {
    baseEjectionMs: 30_000,
    maxEjectionMs: 100_000,
  });
  const durations: number[] = [];
  for (let i = 0; i < 5; i++) {
    failTimes(detector, "a", 5);
    const event = events.at(-1);
    assert.equal(event?.type, "ejected");
    if (event?.type === "ejected") durations.push(event.until - event.at);
    clock.advance(durations.at(-1)!);
    assert.equal(detector.isEjected("a"), false);
  }
  assert.deepEqual(durations, [30_000, 60_000, 90_000, 100_000, 100_000]);
});

Deno.test("OutlierDetector forgets past ejections while the endpoint stays healthy", () => {
  const { clock, detector, events } = setup(["a", "b"]);
  failTimes(detector, "a", 5);
  clock.advance(30_000);
  failTimes(detector, "a", 5); // back at once: 60 s
  clock.advance(60_000 + 30_000); // then healthy for 30 s: one step back
  failTimes(detector, "a", 5);
  const last = events.at(-1);
  assert.ok(last?.type === "ejected");
  assert.equal(last.until - last.at, 60_000);
  assert.equal(last.ejections, 2);
});

Deno.test("OutlierDetector ejects at most maxEjectionPercent of the endpoints", () => {
  const { clock, detector } = setup(["a", "b", "c", "d"], { maxEjectionPercent: 50 });
  failTimes(detector, "a", 5);
  failTimes(detector, "b", 10);
  failTimes(detector, "c", 10);
  assert.deepEqual(detector.ejected(), ["a", "b"]);
  clock.advance(30_000);
  detector.record("c", false); // a and b are back: c has room now
  assert.deepEqual(detector.ejected(), ["c"]);
});

Deno.test("OutlierDetector never ejects a lone endpoint by default", () => {
  const { detector } = setup(["only"]);
  failTimes(detector, "only", 100);
  assert.equal(detector.isEjected("only"), false);
  const all = setup(["only"], { maxEjectionPercent: 100 });
  failTimes(all.detector, "only", 5);
  assert.equal(all.detector.isEjected("only"), true);
});

Deno.test("OutlierDetector.setEndpoints() forgets vanished endpoints and ignores unknown ids", () => {
  const { detector } = setup(["a", "b"]);
  failTimes(detector, "a", 5);
  detector.setEndpoints(["b", "c"]);
  assert.deepEqual(detector.ejected(), []);
  failTimes(detector, "zzz", 10);
  assert.equal(detector.isEjected("zzz"), false);
  failTimes(detector, "b", 5);
  assert.equal(detector.isEjected("b"), true);
});

Deno.test("OutlierDetector learns endpoints from records until setEndpoints() is called", () => {
  const detector = new OutlierDetector({ clock: new ManualClock(0) });
  detector.record("a", true);
  failTimes(detector, "b", 5);
  assert.equal(detector.isEjected("b"), true);
});

Deno.test("OutlierDetector.recordError() uses the classification", () => {
  const { detector } = setup();
  for (let i = 0; i < 10; i++) detector.recordError("a", new NotFoundError("X", "x"));
  for (let i = 0; i < 10; i++) {
    detector.recordError("a", new FlotillaError("C", "c", { kind: "CANCELLED" }));
  }
  assert.equal(detector.isEjected("a"), false);
  for (let i = 0; i < 4; i++) detector.recordError("a", new UnavailableError("down"));
  detector.recordError("a", new FlotillaError("C", "c", { kind: "CANCELLED" }));
  detector.recordError("a", new UnavailableError("down"));
  assert.equal(detector.isEjected("a"), true);
});

Deno.test("OutlierDetector ignores the late records of an ejected endpoint", () => {
  const { detector } = setup();
  failTimes(detector, "a", 5);
  detector.record("a", true);
  assert.equal(detector.isEjected("a"), true);
});

Deno.test("OutlierDetector() throws RangeError on out-of-range options", () => {
  assert.throws(() => new OutlierDetector({ consecutiveFailures: 0 }), {
    name: "RangeError",
    message:
      "Cannot create the outlier detector as 'consecutiveFailures' must be a positive integer: current value is 0",
  });
  assert.throws(() => new OutlierDetector({ baseEjectionMs: 0 }), RangeError);
  assert.throws(
    () => new OutlierDetector({ baseEjectionMs: 10_000, maxEjectionMs: 5_000 }),
    RangeError,
  );
  assert.throws(() => new OutlierDetector({ maxEjectionPercent: 0 }), RangeError);
});

type Op = { type: "record"; endpoint: number; ok: boolean } | { type: "advance"; ms: number };

Deno.test("OutlierDetector keeps ejections within maxEjectionPercent and maxEjectionMs", () => {
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    {
      arbitrary: fc.record({
        type: fc.constant("record" as const),
        endpoint: fc.nat(9),
        ok: fc.boolean(),
      }),
      weight: 8,
    },
    {
      arbitrary: fc.record({ type: fc.constant("advance" as const), ms: fc.nat(60_000) }),
      weight: 1,
    },
  );
  let atTheLimit = 0;
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 10 }),
      fc.integer({ min: 1, max: 100 }),
      fc.integer({ min: 1, max: 4 }),
      fc.array(opArb, { maxLength: 200, size: "max" }),
      (count, maxEjectionPercent, consecutiveFailures, ops) => {
        const ids = Array.from({ length: count }, (_, i) => `e${i}`);
        const { clock, detector, events } = setup(ids, {
          maxEjectionPercent,
          consecutiveFailures,
          baseEjectionMs: 10_000,
          maxEjectionMs: 45_000,
        });
        for (const op of ops) {
          if (op.type === "advance") clock.advance(op.ms);
          else detector.record(ids[op.endpoint % count]!, op.ok);
          const ejected = detector.ejected();
          assert.ok(
            ejected.length * 100 <= count * maxEjectionPercent,
            `${ejected.length} ejected`,
          );
          if (ejected.length > 0 && ejected.length * 100 + 100 > count * maxEjectionPercent) {
            atTheLimit++;
          }
        }
        for (const event of events) {
          if (event.type === "ejected") assert.ok(event.until - event.at <= 45_000);
        }
        clock.advance(45_000);
        assert.deepEqual(detector.ejected(), []);
      },
    ),
    { numRuns: 300 },
  );
  assert.ok(atTheLimit > 100, `the limit was reached ${atTheLimit} times`);
});
