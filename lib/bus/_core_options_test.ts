import assert from "node:assert/strict";
import type { CloudEvent } from "./cloud_event.ts";
import { createEvent } from "./create_event.ts";
import { BusError } from "./errors.ts";
import {
  backoffDelay,
  checkEvents,
  parseSequence,
  resolveSubscribeOptions,
  SUBSCRIBE_DEFAULTS,
} from "./_core_options.ts";

Deno.test("resolveSubscribeOptions() fills in the port's defaults", () => {
  const resolved = resolveSubscribeOptions("s", { group: "g" });
  assert.match(resolved.consumer, /^consumer-/);
  assert.deepEqual({ ...resolved, consumer: "?" }, {
    group: "g",
    consumer: "?",
    types: undefined,
    from: { type: "all" },
    ackWaitMs: 30_000,
    maxDeliver: 5,
    backoffMs: [1_000, 5_000, 30_000],
    concurrency: 1,
    signal: undefined,
  });
  assert.equal(SUBSCRIBE_DEFAULTS.maxDeliver, 5);
  assert.deepEqual(
    resolveSubscribeOptions("s", { group: "g", types: ["a", "a"] }).types,
    new Set(["a"]),
  );
});

Deno.test("backoffDelay() takes the failed attempt's entry, the last one repeating", () => {
  const backoff = [100, 1_000];
  assert.deepEqual([0, 1, 2, 3, 10].map((attempt) => backoffDelay(backoff, attempt)), [
    100,
    100,
    1_000,
    1_000,
    1_000,
  ]);
});

Deno.test("parseSequence() accepts non-negative decimal integers only", () => {
  assert.equal(parseSequence("0", "read", "after"), 0);
  assert.equal(parseSequence("42", "read", "after"), 42);
  for (const bad of ["", "-1", "01", "1.5", "1e3", "1-0", " 1", "99999999999999999"]) {
    assert.throws(() => parseSequence(bad, "read", "after"), RangeError, bad);
  }
});

Deno.test("checkEvents() names the first malformed event of a batch", () => {
  const good = createEvent("t", 1, { source: "/s" });
  checkEvents("s", [good]);
  const error = (() => {
    try {
      checkEvents("s", [good, { ...good, time: "now" } as CloudEvent]);
    } catch (e) {
      return e;
    }
  })();
  assert.ok(error instanceof BusError);
  assert.equal(error.code, "INVALID_EVENT");
  assert.match(
    error.message,
    /^Cannot publish to 's' as event 1 is not a CloudEvent: 'time' must be an RFC 3339 timestamp/,
  );
  assert.throws(() => checkEvents("s", "nope" as never), /'events' must be an array/);
  assert.throws(() => checkEvents("", []), RangeError);
});
