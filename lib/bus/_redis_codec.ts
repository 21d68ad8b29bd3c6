/**
 * Keys, reply parsing and checks of the Redis bus. Private to the package.
 *
 * @module
 */

import type { CloudEvent } from "./cloud_event.ts";
import type { DeadLetter } from "./bus.ts";

/** The Redis keys of one stream (and, for a group, of its consumer group). */
export interface StreamKeys {
  /** The stream: `flotilla:stream:<stream>`. */
  readonly stream: string;
  /** The dedupe key of an event id: `flotilla:dedupe:<stream>:<id>`. */
  dedupe(id: string): string;
}

/** The Redis keys of one consumer group. */
export interface GroupKeys {
  /** The stream: `flotilla:stream:<stream>`. */
  readonly stream: string;
  /** Dead letters: `flotilla:dead:<stream>:<group>`. */
  readonly dead: string;
  /** Failed deliveries by "not before" time (sorted set): `flotilla:retry:<stream>:<group>`. */
  readonly retry: string;
  /** The last failure of each failed delivery (hash): `flotilla:failures:<stream>:<group>`. */
  readonly failures: string;
}

/** The keys of `stream`. */
export function streamKeys(stream: string): StreamKeys {
  const dedupePrefix = `flotilla:dedupe:${stream}:`;
  return {
    stream: `flotilla:stream:${stream}`,
    dedupe: (id) => dedupePrefix + id,
  };
}

/** The keys of `group` on `stream`. */
export function groupKeys(stream: string, group: string): GroupKeys {
  return {
    stream: `flotilla:stream:${stream}`,
    dead: `flotilla:dead:${stream}:${group}`,
    retry: `flotilla:retry:${stream}:${group}`,
    failures: `flotilla:failures:${stream}:${group}`,
  };
}

/** One stream entry as Redis sends it (RESP2): its id and flat field list (`null` once deleted). */
export type RawEntry = [position: string, fields: string[] | null];

/** The reply of XREADGROUP/XREAD for one stream: `[[key, entries]]`, or `null` on timeout. */
export type RawReadReply = Array<[key: string, entries: RawEntry[]]> | null;

/** The value of `name` in a flat `[name, value, …]` field list. */
export function field(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i] === name) return fields[i + 1];
  }
  return undefined;
}

/** Parses a dead-letter entry written by the DEAD_LETTER script. */
export function parseDeadLetter(entry: RawEntry): DeadLetter {
  const fields = entry[1] ?? [];
  const raw = field(fields, "event") ?? "";
  const id = field(fields, "id") ?? "";
  let event: DeadLetter["event"] = { id, raw };
  if (field(fields, "malformed") !== "1") {
    try {
      event = JSON.parse(raw) as CloudEvent;
    } catch {
      // kept raw
    }
  }
  return {
    event,
    stream: field(fields, "stream") ?? "",
    group: field(fields, "group") ?? "",
    attempts: Number(field(fields, "attempts") ?? 0),
    reason: field(fields, "reason") ?? "",
    at: field(fields, "at") ?? "",
  };
}

/** Whether `error` is a Redis error reply starting with `prefix` (`NOSCRIPT`, `BUSYGROUP`…). */
export function isReplyError(error: unknown, prefix: string): boolean {
  return error instanceof Error && error.message.startsWith(prefix);
}
