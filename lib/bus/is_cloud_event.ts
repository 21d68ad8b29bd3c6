/**
 * A cheap structural check of the CloudEvents envelope, for adapters that
 * parse raw messages and for publishers that want to fail early.
 *
 * @module
 */

import type { CloudEvent } from "./cloud_event.ts";

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(-.*)?$/;
// RFC 3339 date-time: a date, `T` (or `t`/space), a time with optional fraction, and a zone.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Says why `value` is not a {@link CloudEvent}, or returns `undefined` when
 * it is one: `specversion` `"1.0"`; non-empty string `id`, `source` and
 * `type`; `subject` a string when present; `time` an RFC 3339 timestamp;
 * `datacontenttype` `"application/json"`; a `data` member (`null` allowed);
 * `traceparent` a W3C `traceparent` and `tracestate` a string when present.
 * The payload itself is not checked here (that is the catalog's job).
 *
 * @example
 * ```ts
 * import { cloudEventIssue } from "@flotilla/bus";
 *
 * cloudEventIssue({ specversion: "0.3" }); // "'specversion' must be \"1.0\": current value is \"0.3\""
 * ```
 */
export function cloudEventIssue(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return `an event must be a JSON object: current value is ${describe(value)}`;
  }
  const event = value as Record<string, unknown>;
  if (event.specversion !== "1.0") return mustBe("specversion", '"1.0"', event.specversion);
  for (const name of ["id", "source", "type"] as const) {
    const field = event[name];
    if (typeof field !== "string" || field === "") {
      return mustBe(name, "a non-empty string", field);
    }
  }
  if (event.subject !== undefined && typeof event.subject !== "string") {
    return mustBe("subject", "a string", event.subject);
  }
  if (typeof event.time !== "string" || !RFC3339.test(event.time)) {
    return mustBe("time", "an RFC 3339 timestamp", event.time);
  }
  if (event.datacontenttype !== "application/json") {
    return mustBe("datacontenttype", '"application/json"', event.datacontenttype);
  }
  if (!("data" in event) || event.data === undefined) {
    return mustBe("data", "present (null allowed)", event.data);
  }
  if (
    event.traceparent !== undefined &&
    (typeof event.traceparent !== "string" || !TRACEPARENT.test(event.traceparent))
  ) {
    return mustBe("traceparent", "a W3C traceparent", event.traceparent);
  }
  if (event.tracestate !== undefined && typeof event.tracestate !== "string") {
    return mustBe("tracestate", "a string", event.tracestate);
  }
  return undefined;
}

/**
 * Whether `value` has the shape of a {@link CloudEvent} (see
 * {@link cloudEventIssue} for what is checked).
 *
 * @example
 * ```ts
 * import { isCloudEvent } from "@flotilla/bus";
 *
 * const parsed: unknown = JSON.parse('{"specversion":"1.0"}');
 * if (!isCloudEvent(parsed)) {
 *   // dead-letter it with cloudEventIssue(parsed) as the reason
 * }
 * ```
 */
export function isCloudEvent(value: unknown): value is CloudEvent {
  return cloudEventIssue(value) === undefined;
}

function mustBe(name: string, what: string, value: unknown): string {
  return `'${name}' must be ${what}: current value is ${describe(value)}`;
}

function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  try {
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return String(value);
  }
}
