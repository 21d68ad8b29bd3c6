/**
 * Checks and defaults shared by the bus adapters: subscribe options, stream
 * names, read limits, backoff, integer positions. Private to the package
 * (the Redis and NATS adapters may use it too).
 *
 * @module
 */

import type { CloudEvent } from "./cloud_event.ts";
import type { StartPosition, SubscribeOptions } from "./bus.ts";
import { BusError } from "./errors.ts";
import { cloudEventIssue } from "./is_cloud_event.ts";

/** The defaults of {@link SubscribeOptions}, as the port documents them. */
export const SUBSCRIBE_DEFAULTS = {
  ackWaitMs: 30_000,
  maxDeliver: 5,
  backoffMs: [1_000, 5_000, 30_000] as readonly number[],
  concurrency: 1,
} as const;

/** {@link SubscribeOptions} checked, with every default filled in. */
export interface ResolvedSubscribeOptions {
  /** The consumer group. */
  readonly group: string;
  /** This consumer's name. */
  readonly consumer: string;
  /** The types handed to the handler; `undefined` for all. */
  readonly types: ReadonlySet<string> | undefined;
  /** Where a new group starts. */
  readonly from: StartPosition;
  /** The ack wait, in milliseconds. */
  readonly ackWaitMs: number;
  /** Deliveries before dead-lettering. */
  readonly maxDeliver: number;
  /** Backoff delays by attempt. */
  readonly backoffMs: readonly number[];
  /** Deliveries handled at once. */
  readonly concurrency: number;
  /** Ends the subscription. */
  readonly signal: AbortSignal | undefined;
}

/**
 * Checks `options` of `subscribe()` and fills in the defaults.
 *
 * @throws {RangeError} naming the first invalid option.
 */
export function resolveSubscribeOptions(
  stream: string,
  options: SubscribeOptions,
): ResolvedSubscribeOptions {
  checkStream(stream, "subscribe");
  if (typeof options !== "object" || options === null) {
    throw invalid("subscribe", "options", "an object with a 'group'", options);
  }
  const { group } = options;
  if (typeof group !== "string" || group.trim() === "") {
    throw invalid("subscribe", "group", "a non-empty string", group);
  }
  const consumer = options.consumer ?? `consumer-${crypto.randomUUID().slice(0, 13)}`;
  if (typeof consumer !== "string" || consumer.trim() === "") {
    throw invalid("subscribe", "consumer", "a non-empty string", consumer);
  }
  let types: ReadonlySet<string> | undefined;
  if (options.types !== undefined) {
    if (
      !Array.isArray(options.types) || options.types.length === 0 ||
      !options.types.every((type) => typeof type === "string" && type !== "")
    ) {
      throw invalid("subscribe", "types", "a non-empty list of event types", options.types);
    }
    types = new Set(options.types);
  }
  const from = options.from ?? { type: "all" };
  if (
    typeof from !== "object" || from === null ||
    !(from.type === "all" || from.type === "new" ||
      (from.type === "after" && typeof from.position === "string" && from.position !== ""))
  ) {
    throw invalid(
      "subscribe",
      "from",
      '{ type: "all" }, { type: "new" } or { type: "after", position }',
      from,
    );
  }
  const ackWaitMs = options.ackWaitMs ?? SUBSCRIBE_DEFAULTS.ackWaitMs;
  if (!(Number.isFinite(ackWaitMs) && ackWaitMs > 0)) {
    throw invalid("subscribe", "ackWaitMs", "a positive number", ackWaitMs);
  }
  const maxDeliver = options.maxDeliver ?? SUBSCRIBE_DEFAULTS.maxDeliver;
  if (!(Number.isSafeInteger(maxDeliver) && maxDeliver > 0)) {
    throw invalid("subscribe", "maxDeliver", "a positive integer", maxDeliver);
  }
  const backoffMs = options.backoffMs ?? SUBSCRIBE_DEFAULTS.backoffMs;
  if (
    !Array.isArray(backoffMs) || backoffMs.length === 0 ||
    !backoffMs.every((ms) => Number.isFinite(ms) && ms >= 0)
  ) {
    throw invalid("subscribe", "backoffMs", "a non-empty list of delays >= 0", backoffMs);
  }
  const concurrency = options.concurrency ?? SUBSCRIBE_DEFAULTS.concurrency;
  if (!(Number.isSafeInteger(concurrency) && concurrency > 0)) {
    throw invalid("subscribe", "concurrency", "a positive integer", concurrency);
  }
  return {
    group,
    consumer,
    types,
    from,
    ackWaitMs,
    maxDeliver,
    backoffMs: [...backoffMs],
    concurrency,
    signal: options.signal,
  };
}

/**
 * The delay before redelivering after attempt `attempt` (1-based) failed:
 * `backoffMs[attempt - 1]`, the last entry repeating.
 */
export function backoffDelay(backoffMs: readonly number[], attempt: number): number {
  const index = Math.min(Math.max(attempt, 1), backoffMs.length) - 1;
  return backoffMs[index] ?? 0;
}

/** @throws {RangeError} unless `stream` is a non-empty string. */
export function checkStream(stream: string, action: string): void {
  if (typeof stream !== "string" || stream.trim() === "") {
    throw invalid(action, "stream", "a non-empty string", stream);
  }
}

/** @throws {RangeError} unless `limit` is a positive integer (or undefined). */
export function checkLimit(limit: number | undefined, action: string): number {
  const value = limit ?? Number.MAX_SAFE_INTEGER;
  if (!(Number.isSafeInteger(value) && value > 0)) {
    throw invalid(action, "limit", "a positive integer", limit);
  }
  return value;
}

/**
 * Parses a position of the adapters whose positions are a stream's sequence
 * numbers (memory, sqlite): a non-negative decimal integer.
 *
 * @throws {RangeError} naming `name` when it is anything else.
 */
export function parseSequence(position: string, action: string, name: string): number {
  const value = /^(0|[1-9]\d{0,15})$/.test(position) ? Number(position) : NaN;
  if (!Number.isSafeInteger(value)) {
    throw invalid(action, name, "a position of this bus (a sequence number)", position);
  }
  return value;
}

/**
 * Checks the events of a `publish()` before anything is stored, so that a
 * batch is published whole or not at all.
 *
 * @throws {BusError} `INVALID_EVENT` naming the first malformed event and why.
 */
export function checkEvents(stream: string, events: readonly CloudEvent[]): void {
  checkStream(stream, "publish");
  if (!Array.isArray(events)) {
    throw new BusError(
      "INVALID_EVENT",
      `Cannot publish to '${stream}' as 'events' must be an array: current value is ${typeof events}`,
    );
  }
  for (let index = 0; index < events.length; index++) {
    const issue = cloudEventIssue(events[index]);
    if (issue !== undefined) {
      throw new BusError(
        "INVALID_EVENT",
        `Cannot publish to '${stream}' as event ${index} is not a CloudEvent: ${issue}`,
        { data: { stream, index } },
      );
    }
  }
}

/** The error of a call on a closed bus. */
export function busClosed(action: string, kind: string): BusError {
  return new BusError("SUBSCRIPTION_CLOSED", `Cannot ${action} as the ${kind} bus is closed`);
}

function invalid(action: string, name: string, what: string, value: unknown): RangeError {
  let shown: string;
  try {
    shown = value === undefined ? "undefined" : JSON.stringify(value) ?? String(value);
  } catch {
    shown = String(value);
  }
  return new RangeError(`Cannot ${action} as '${name}' must be ${what}: current value is ${shown}`);
}
