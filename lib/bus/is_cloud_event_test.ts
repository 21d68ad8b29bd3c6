import assert from "node:assert/strict";
import fc from "fast-check";
import { newTrace } from "@flotilla/core";
import { cloudEventIssue, isCloudEvent } from "./is_cloud_event.ts";
import { createEvent } from "./create_event.ts";

const valid = {
  specversion: "1.0",
  id: "e-1",
  source: "/flotilla/test",
  type: "order.created",
  time: "2026-01-01T00:00:00.000Z",
  datacontenttype: "application/json",
  data: { orderId: "o-1" },
};

Deno.test("isCloudEvent() accepts a complete envelope, with or without the optional members", () => {
  assert.equal(isCloudEvent(valid), true);
  assert.equal(isCloudEvent({ ...valid, data: null }), true);
  assert.equal(
    isCloudEvent({
      ...valid,
      subject: "o-1",
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      tracestate: "vendor=x",
      time: "2026-01-01T01:02:03+02:00",
    }),
    true,
  );
  assert.equal(cloudEventIssue(valid), undefined);
});

Deno.test("cloudEventIssue() names the first member that breaks the envelope", () => {
  const cases: Array<[unknown, RegExp]> = [
    [null, /an event must be a JSON object: current value is null/],
    [[valid], /an event must be a JSON object/],
    ["{}", /an event must be a JSON object: current value is "\{\}"/],
    [{ ...valid, specversion: "0.3" }, /'specversion' must be "1.0": current value is "0.3"/],
    [{ ...valid, id: "" }, /'id' must be a non-empty string: current value is ""/],
    [{ ...valid, source: 7 }, /'source' must be a non-empty string: current value is 7/],
    [
      { ...valid, type: undefined },
      /'type' must be a non-empty string: current value is undefined/,
    ],
    [{ ...valid, subject: 1 }, /'subject' must be a string/],
    [
      { ...valid, time: "yesterday" },
      /'time' must be an RFC 3339 timestamp: current value is "yesterday"/,
    ],
    [{ ...valid, time: "2026-01-01" }, /'time' must be an RFC 3339 timestamp/],
    [{ ...valid, datacontenttype: "text/plain" }, /'datacontenttype' must be "application\/json"/],
    [{ ...valid, data: undefined }, /'data' must be present/],
    [{ ...valid, traceparent: "00-zz" }, /'traceparent' must be a W3C traceparent/],
    [{ ...valid, tracestate: 1 }, /'tracestate' must be a string/],
  ];
  for (const [value, expected] of cases) {
    const issue = cloudEventIssue(value);
    assert.match(issue ?? "(none)", expected);
    assert.equal(isCloudEvent(value), false);
  }
  const { data: _, ...noData } = valid;
  assert.match(cloudEventIssue(noData)!, /'data' must be present/);
  assert.match(
    cloudEventIssue({ ...valid, id: "x".repeat(200), specversion: 2 })!,
    /current value is 2/,
  );
});

Deno.test("isCloudEvent() holds for every event createEvent() makes, before and after JSON", () => {
  fc.assert(
    fc.property(
      fc.string({ minLength: 1 }),
      fc.jsonValue(),
      fc.option(fc.string(), { nil: undefined }),
      fc.boolean(),
      (type, data, subject, traced) => {
        const event = createEvent(type, data ?? null, {
          source: "/flotilla/test",
          ...(subject === undefined ? {} : { subject }),
          ...(traced ? { trace: newTrace() } : {}),
        });
        assert.equal(cloudEventIssue(event), undefined);
        assert.equal(isCloudEvent(JSON.parse(JSON.stringify(event))), true);
      },
    ),
  );
});
