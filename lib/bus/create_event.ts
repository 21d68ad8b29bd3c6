/**
 * Building a {@link CloudEvent} to publish.
 *
 * @module
 */

import { type Clock, formatTraceparent, systemClock, type TraceContext } from "@flotilla/core";
import type { CloudEvent } from "./cloud_event.ts";
import { uuidV7 } from "./_core_uuid.ts";

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Options of {@link createEvent}. */
export interface CreateEventOptions {
  /** Who emits the event, a URI reference, e.g. `/flotilla/shop/order`. */
  source: string;
  /** What the event is about (e.g. the order id); also its ordering key. */
  subject?: string;
  /** The event id. @default {a UUIDv7 — time-ordered, unique} */
  id?: string;
  /** When it happened. @default {the clock's now} */
  time?: Date | string;
  /** The trace of the work that emits it; becomes `traceparent` (and `tracestate`). */
  trace?: TraceContext;
  /** The source of time for `time` and the id. @default {systemClock} */
  clock?: Clock;
}

/**
 * Creates a CloudEvents 1.0 envelope for `data` (which must be JSON).
 *
 * @example
 * ```ts
 * import { createEvent } from "@flotilla/bus";
 * import { newTrace } from "@flotilla/core";
 *
 * const event = createEvent("order.created", { orderId: "o-1", total: 12.5 }, {
 *   source: "/flotilla/shop/order",
 *   subject: "o-1",
 *   trace: newTrace(),
 * });
 * event.id; // "0190b6e1-…" (UUIDv7)
 * ```
 *
 * @throws {RangeError} when `type`, `source`, `subject`, `id` or `time` is invalid.
 */
export function createEvent<T>(type: string, data: T, options: CreateEventOptions): CloudEvent<T> {
  if (typeof type !== "string" || type === "") {
    throw invalid("type", "a non-empty string", type);
  }
  const { source, subject, trace } = options;
  if (typeof source !== "string" || source === "") {
    throw invalid("source", "a non-empty URI reference", source);
  }
  if (subject !== undefined && typeof subject !== "string") {
    throw invalid("subject", "a string", subject);
  }
  if (options.id !== undefined && (typeof options.id !== "string" || options.id === "")) {
    throw invalid("id", "a non-empty string", options.id);
  }
  if (data === undefined) throw invalid("data", "a JSON value", data);
  const clock = options.clock ?? systemClock;
  const now = clock.now();
  let time: string;
  if (options.time === undefined) {
    time = new Date(now).toISOString();
  } else {
    const valid = options.time instanceof Date
      ? !Number.isNaN(options.time.getTime())
      : typeof options.time === "string" && RFC3339.test(options.time);
    if (!valid) throw invalid("time", "a valid Date or an RFC 3339 timestamp", options.time);
    time = options.time instanceof Date ? options.time.toISOString() : options.time;
  }
  const event: {
    -readonly [K in keyof CloudEvent<T>]: CloudEvent<T>[K];
  } = {
    specversion: "1.0",
    id: options.id ?? uuidV7(now),
    source,
    type,
    time,
    datacontenttype: "application/json",
    data,
  };
  if (subject !== undefined) event.subject = subject;
  if (trace !== undefined) {
    event.traceparent = formatTraceparent(trace);
    if (trace.tracestate) event.tracestate = trace.tracestate;
  }
  return event;
}

function invalid(name: string, what: string, value: unknown): RangeError {
  return new RangeError(
    `Cannot create the event as '${name}' must be ${what}: current value is ${
      value === undefined ? "undefined" : JSON.stringify(value)
    }`,
  );
}
