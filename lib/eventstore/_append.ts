/**
 * The rules of an append that every adapter shares: input checks, the
 * idempotency decision and the expected-version check. Private to the
 * package (the adapters of this folder import it; it is not exported).
 *
 * @module
 */

import type {
  AppendOptions,
  ExpectedVersion,
  NewEvent,
  ReadAllOptions,
  Snapshot,
} from "./event_store.ts";
import { EventStoreError, WrongExpectedVersionError } from "./errors.ts";

/** An event to append, checked and serialised once for every adapter. */
export interface PreparedEvent {
  /** Its id. */
  readonly id: string;
  /** Its type. */
  readonly type: string;
  /** Its payload as JSON text. */
  readonly dataJson: string;
  /** Its metadata as JSON text, or `null` when it has none (or an empty object). */
  readonly metadataJson: string | null;
  /** Its metadata (`{}` when none), after a JSON round trip. */
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** An append, checked. */
export interface PreparedAppend {
  /** The stream. */
  readonly stream: string;
  /** The expectation. */
  readonly expectedVersion: ExpectedVersion;
  /** The events, in order. */
  readonly events: readonly PreparedEvent[];
}

/** What the store holds under one id of the batch. */
export interface StoredIdentity {
  /** The stream it is in. */
  readonly stream: string;
  /** Its type. */
  readonly type: string;
  /** Its payload as JSON text. */
  readonly dataJson: string;
  /** Its version. */
  readonly version: number;
  /** Its global position. */
  readonly position: string;
}

/** The outcome of {@link checkStored}: append the batch, or report the earlier append. */
export type StoredVerdict =
  | { readonly type: "new" }
  | { readonly type: "retry"; readonly version: number; readonly position: string };

/**
 * Checks an append's arguments and serialises its events.
 *
 * @throws {RangeError} for an invalid `stream` or `expectedVersion`.
 * @throws {EventStoreError} `INVALID_EVENT` for an empty batch, a malformed
 * event, a payload that is not JSON, or an id twice in the batch.
 */
export function prepareAppend(
  stream: string,
  events: readonly NewEvent[],
  options: AppendOptions,
): PreparedAppend {
  checkStream(stream, "append to the stream");
  if (typeof options !== "object" || options === null) {
    throw invalid("append to the stream", "options", "an object with 'expectedVersion'", options);
  }
  const expectedVersion = checkExpectedVersion(options.expectedVersion);
  if (!Array.isArray(events) || events.length === 0) {
    throw new EventStoreError(
      "INVALID_EVENT",
      `Cannot append to "${stream}" as 'events' must be a non-empty array: current value is ${
        Array.isArray(events) ? "[]" : typeof events
      }`,
      { data: { stream } },
    );
  }
  const seen = new Set<string>();
  const prepared = events.map((event, index) => {
    const fail = (why: string): never => {
      throw new EventStoreError(
        "INVALID_EVENT",
        `Cannot append to "${stream}" as event ${index} ${why}`,
        { data: { stream, index } },
      );
    };
    if (typeof event !== "object" || event === null) fail("is not an object");
    if (typeof event.id !== "string" || event.id === "") fail("has no 'id' (a non-empty string)");
    if (typeof event.type !== "string" || event.type === "") {
      fail("has no 'type' (a non-empty string)");
    }
    if (seen.has(event.id)) fail(`repeats the id ${event.id} of an earlier event of the batch`);
    seen.add(event.id);
    const dataJson = toJson(event.data);
    if (dataJson === undefined) fail("has a 'data' that is not JSON-serialisable");
    let metadata: Record<string, unknown> = {};
    let metadataJson: string | null = null;
    if (event.metadata !== undefined) {
      if (
        typeof event.metadata !== "object" || event.metadata === null ||
        Array.isArray(event.metadata)
      ) {
        fail("has a 'metadata' that is not an object");
      }
      const json = toJson(event.metadata);
      if (json === undefined) fail("has a 'metadata' that is not JSON-serialisable");
      metadata = JSON.parse(json!) as Record<string, unknown>;
      metadataJson = json === "{}" ? null : json!;
    }
    return { id: event.id, type: event.type, dataJson: dataJson!, metadataJson, metadata };
  });
  return { stream, expectedVersion, events: prepared };
}

/**
 * Decides what to do with a batch given what the store already holds under
 * its ids (`stored[i]` for `batch.events[i]`, `undefined` when new):
 *
 * - no id stored: append it (`new`), subject to the expected version;
 * - every id stored, each in this stream with the same type and the same
 *   JSON payload (metadata is not compared): the batch was appended before,
 *   this is a retry (`retry`, with the version and position of its last
 *   event), whatever the expected version says now;
 * - an id stored in another stream, with another type or another payload:
 *   `IDEMPOTENCY_CONFLICT`;
 * - some ids stored and some not: `IDEMPOTENCY_CONFLICT` too — a batch is
 *   appended whole, so a batch that is partly stored is no retry of it.
 *
 * @throws {EventStoreError} `IDEMPOTENCY_CONFLICT` as above.
 */
export function checkStored(
  batch: PreparedAppend,
  stored: readonly (StoredIdentity | undefined)[],
): StoredVerdict {
  const { stream } = batch;
  let last: StoredIdentity | undefined;
  const known: string[] = [];
  const unknown: string[] = [];
  batch.events.forEach((event, index) => {
    const found = stored[index];
    if (found === undefined) {
      unknown.push(event.id);
      return;
    }
    if (
      found.stream !== stream || found.type !== event.type ||
      !sameJson(found.dataJson, event.dataJson)
    ) {
      const what = found.stream !== stream
        ? `in the stream "${found.stream}"`
        : found.type !== event.type
        ? `with the type '${found.type}'`
        : "with a different payload";
      throw new EventStoreError(
        "IDEMPOTENCY_CONFLICT",
        `Cannot append to "${stream}" as the event ${event.id} is already stored ${what}`,
        { data: { stream, id: event.id } },
      );
    }
    known.push(event.id);
    if (last === undefined || found.version > last.version) last = found;
  });
  if (last === undefined) return { type: "new" };
  if (unknown.length > 0) {
    throw new EventStoreError(
      "IDEMPOTENCY_CONFLICT",
      `Cannot append to "${stream}" as the batch mixes events already stored (${
        known.join(", ")
      }) with new ones (${unknown.join(", ")}): a retry must repeat the whole batch`,
      { data: { stream, stored: known, new: unknown } },
    );
  }
  return { type: "retry", version: last.version, position: last.position };
}

/**
 * Checks the stream's `actual` version (−1 when it has no event) against `expected`.
 *
 * @throws {WrongExpectedVersionError} when they disagree.
 */
export function assertExpectedVersion(
  stream: string,
  expected: ExpectedVersion,
  actual: number,
): void {
  const ok = expected === "any" ||
    (expected === "no_stream" && actual === -1) ||
    (expected === "stream_exists" && actual >= 0) ||
    expected === actual;
  if (!ok) throw new WrongExpectedVersionError(stream, expected, actual);
}

/** @throws {RangeError} unless `value` is an {@link ExpectedVersion}. */
export function checkExpectedVersion(value: ExpectedVersion): ExpectedVersion {
  if (value === "any" || value === "no_stream" || value === "stream_exists") return value;
  if (Number.isSafeInteger(value) && (value as number) >= -1) return value;
  throw invalid(
    "append to the stream",
    "expectedVersion",
    `"any", "no_stream", "stream_exists" or an integer >= -1`,
    value,
  );
}

/** @throws {RangeError} unless `stream` is a non-empty string. */
export function checkStream(stream: string, action: string): void {
  if (typeof stream !== "string" || stream === "") {
    throw invalid(action, "stream", "a non-empty string", stream);
  }
}

/** @throws {RangeError} unless `name` is a non-empty string. */
export function checkName(name: string, action: string, what = "name"): void {
  if (typeof name !== "string" || name === "") {
    throw invalid(action, what, "a non-empty string", name);
  }
}

/** @throws {RangeError} unless `value` is a positive integer (or undefined, giving `fallback`). */
export function checkPositive(
  value: number | undefined,
  fallback: number,
  action: string,
  name: string,
): number {
  const result = value ?? fallback;
  if (!(Number.isSafeInteger(result) && result > 0)) {
    throw invalid(action, name, "a positive integer", value);
  }
  return result;
}

/** @throws {RangeError} unless `value` is a version (a non-negative integer) or undefined. */
export function checkVersion(
  value: number | undefined,
  action: string,
  name: string,
): number | undefined {
  if (value === undefined) return undefined;
  if (!(Number.isSafeInteger(value) && value >= 0)) {
    throw invalid(action, name, "a non-negative integer", value);
  }
  return value;
}

/**
 * Checks a global position: a non-negative decimal integer string (at most
 * 19 digits, a PostgreSQL `bigint`), or undefined.
 *
 * @throws {RangeError} otherwise.
 */
export function checkPosition(
  value: string | undefined,
  action: string,
  name: string,
): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !/^(0|[1-9]\d{0,18})$/.test(value)) {
    throw invalid(action, name, "a position (a non-negative decimal integer string)", value);
  }
  return value;
}

/** Checks the options of `readAll`; returns `after` and `limit` with their defaults. */
export function checkReadAll(
  options: ReadAllOptions,
): { after: string | undefined; limit: number } {
  return {
    after: checkPosition(options.after, "read all events", "after"),
    limit: checkPositive(options.limit, 1_000, "read all events", "limit"),
  };
}

/** `value` as JSON text, or undefined when it is not JSON-serialisable. */
export function toJson(value: unknown): string | undefined {
  if (value === undefined || typeof value === "function" || typeof value === "symbol") {
    return undefined;
  }
  try {
    const json = JSON.stringify(value);
    return typeof json === "string" ? json : undefined;
  } catch {
    return undefined;
  }
}

/** Whether two JSON texts hold the same value (object keys in any order). */
export function sameJson(a: string, b: string): boolean {
  if (a === b) return true;
  return canonical(JSON.parse(a)) === canonical(JSON.parse(b));
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * Checks a snapshot to save; returns its version and state as JSON text.
 *
 * @throws {RangeError} for an invalid stream, version or state.
 */
export function checkSnapshot(
  stream: string,
  snapshot: Snapshot,
): { version: number; stateJson: string } {
  const action = "save the snapshot";
  checkStream(stream, action);
  if (typeof snapshot !== "object" || snapshot === null) {
    throw invalid(action, "snapshot", "an object with 'version' and 'state'", snapshot);
  }
  const version = checkVersion(snapshot.version, action, "version");
  if (version === undefined) throw invalid(action, "version", "a non-negative integer", undefined);
  const stateJson = toJson(snapshot.state);
  if (stateJson === undefined) {
    throw invalid(action, "state", "JSON-serialisable", typeof snapshot.state);
  }
  return { version, stateJson };
}

/** The error of a call on a closed store. */
export function storeClosed(action: string, kind: string): EventStoreError {
  return new EventStoreError(
    "EVENTSTORE_CLOSED",
    `Cannot ${action} as the ${kind} event store is closed`,
  );
}

/** A RangeError in the house form. */
export function invalid(action: string, name: string, what: string, value: unknown): RangeError {
  let shown: string;
  try {
    shown = value === undefined ? "undefined" : JSON.stringify(value) ?? String(value);
  } catch {
    shown = String(value);
  }
  return new RangeError(`Cannot ${action} as '${name}' must be ${what}: current value is ${shown}`);
}
