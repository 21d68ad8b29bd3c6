/**
 * The tables and transactions of the SQLite bus. Synchronous: each method is
 * one statement or one `BEGIN IMMEDIATE` transaction. Private to the
 * package.
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { immediate, integer, openDatabase, type Row, text } from "@flotilla/sqlite";
import type { DeadLetter, PublishReceipt, StartPosition } from "./bus.ts";
import type { CloudEvent } from "./cloud_event.ts";
import { cloudEventIssue } from "./is_cloud_event.ts";
import { ackWaitReason } from "./_core_outcome.ts";

/**
 * - `bus_events`: the streams, one row per event; `seq` counts from 1 per
 *   stream and is the position; `id` is unique per stream (dedupe).
 * - `bus_groups`: one cursor per consumer group: the last `seq` it took.
 * - `bus_pending`: the group's events past its cursor that are not done:
 *   in flight (`consumer` set, `deliver_after` = end of the ack wait),
 *   backing off (`consumer` NULL, `deliver_after` = end of the backoff), or
 *   parked behind an earlier event of the same subject (`attempts` 0).
 * - `bus_dead_letters`: what exhausted its deliveries, oldest first (`n`).
 */
export const SQLITE_BUS_SCHEMA = `
CREATE TABLE IF NOT EXISTS bus_events (
  stream TEXT NOT NULL,
  seq INTEGER NOT NULL,
  id TEXT NOT NULL,
  type TEXT NOT NULL,
  subject TEXT,
  event TEXT NOT NULL,
  PRIMARY KEY (stream, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS bus_events_id ON bus_events (stream, id);
CREATE TABLE IF NOT EXISTS bus_groups (
  stream TEXT NOT NULL,
  grp TEXT NOT NULL,
  cursor INTEGER NOT NULL,
  PRIMARY KEY (stream, grp)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bus_pending (
  stream TEXT NOT NULL,
  grp TEXT NOT NULL,
  seq INTEGER NOT NULL,
  subject TEXT,
  consumer TEXT,
  attempts INTEGER NOT NULL,
  deliver_after INTEGER NOT NULL,
  last_error TEXT,
  PRIMARY KEY (stream, grp, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS bus_pending_subject ON bus_pending (stream, grp, subject, seq)
  WHERE subject IS NOT NULL;
CREATE TABLE IF NOT EXISTS bus_dead_letters (
  n INTEGER PRIMARY KEY AUTOINCREMENT,
  stream TEXT NOT NULL,
  grp TEXT NOT NULL,
  seq INTEGER NOT NULL,
  event TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  reason TEXT NOT NULL,
  at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS bus_dead_letters_group ON bus_dead_letters (stream, grp, n);
`;

/** How a consumer claims: who it is and its subscription's settings. */
export interface ClaimConsumer {
  readonly stream: string;
  readonly group: string;
  readonly consumer: string;
  readonly types: ReadonlySet<string> | undefined;
  readonly ackWaitMs: number;
  readonly maxDeliver: number;
  readonly backoffMs: readonly number[];
}

/** What a consumer reports back about one delivery it was given. */
export type DeliveryResult =
  | { readonly type: "ack"; readonly seq: number; readonly attempt: number }
  | {
    readonly type: "release";
    readonly seq: number;
    readonly attempt: number;
    readonly reason: string;
  }
  | {
    readonly type: "fail";
    readonly seq: number;
    readonly attempt: number;
    readonly reason: string;
    readonly poison: boolean;
    readonly backoffMs: number;
  };

/** One event handed to a consumer by {@link SqliteStore.claim}. */
export interface Claimed {
  readonly seq: number;
  readonly attempt: number;
  readonly event: CloudEvent;
}

/** The outcome of {@link SqliteStore.claim}. */
export interface ClaimResult {
  /** The events now in flight with the consumer, in stream order. */
  readonly claimed: Claimed[];
  /** Whether it dropped entries (dead letters, skipped types): more may be due at once. */
  readonly dropped: boolean;
}

/**
 * Waits between tries when another process holds the write lock, in ms:
 * from 20 µs, doubling, up to 2 ms. SQLite's own busy handler sleeps 1 ms
 * and more at the first conflict, which halves throughput when two
 * processes take turns writing many small transactions.
 */
const BUSY_FIRST_WAIT_MS = 0.02;
const BUSY_MAX_WAIT_MS = 2;
const BUSY_SLEEP = new Int32Array(new SharedArrayBuffer(4));

function isBusy(error: unknown): boolean {
  return error instanceof Error && /database is locked|SQLITE_BUSY/i.test(error.message);
}

/** Runs `attempt` until it does not fail with `SQLITE_BUSY`, for up to `timeoutMs`. */
function retryBusy<T>(timeoutMs: number, attempt: () => T): T {
  const giveUpAt = performance.now() + timeoutMs;
  let wait = BUSY_FIRST_WAIT_MS;
  while (true) {
    try {
      return attempt();
    } catch (error) {
      const left = giveUpAt - performance.now();
      if (!isBusy(error) || left <= 0) throw error;
      Atomics.wait(BUSY_SLEEP, 0, 0, Math.min(wait, left));
      wait = Math.min(wait * 2, BUSY_MAX_WAIT_MS);
    }
  }
}

/** The largest number of new events one claim looks at (bounds a transaction's length). */
const SCAN_LIMIT = 1_000;

type Statements = Record<
  | "maxSeq"
  | "insertEvent"
  | "seqOfId"
  | "createGroup"
  | "anyDue"
  | "setCursor"
  | "hasWork"
  | "countPending"
  | "due"
  | "newEvents"
  | "subjectBusy"
  | "insertPending"
  | "claimPending"
  | "ack"
  | "retry"
  | "owned"
  | "deletePending"
  | "eventOf"
  | "insertDead"
  | "deadLetters"
  | "read",
  StatementSync
>;

/** The SQLite side of the bus: one connection, prepared statements, one transaction per call. */
export class SqliteStore {
  readonly #db: DatabaseSync;
  readonly #sql: Statements;
  readonly #maxPending: number;
  readonly #busyTimeoutMs: number;

  /**
   * Opens the file. `maxPending` bounds the unfinished events of a group: a
   * claim takes no new events while the group has that many pending.
   */
  constructor(path: string, busyTimeoutMs: number, maxPending = 1_000) {
    this.#maxPending = maxPending;
    this.#busyTimeoutMs = busyTimeoutMs;
    // SQLite's busy handler is off: #write() and #read() wait for locks themselves.
    this.#db = retryBusy(
      busyTimeoutMs,
      () => openDatabase(path, { schema: SQLITE_BUS_SCHEMA, busyTimeoutMs: 0 }),
    );
    const prepare = (sql: string) => this.#db.prepare(sql);
    this.#sql = {
      maxSeq: prepare("SELECT COALESCE(MAX(seq), 0) AS seq FROM bus_events WHERE stream = ?"),
      insertEvent: prepare(
        `INSERT INTO bus_events (stream, seq, id, type, subject, event) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (stream, id) DO NOTHING`,
      ),
      seqOfId: prepare("SELECT seq FROM bus_events WHERE stream = ? AND id = ?"),
      createGroup: prepare(
        `INSERT INTO bus_groups (stream, grp, cursor) VALUES (?, ?, ?)
         ON CONFLICT (stream, grp) DO NOTHING`,
      ),
      setCursor: prepare("UPDATE bus_groups SET cursor = ? WHERE stream = ? AND grp = ?"),
      // A cheap read before taking the write lock: is anything new or due?
      hasWork: prepare(
        `SELECT EXISTS (
           SELECT 1 FROM bus_events e, bus_groups g
           WHERE g.stream = ?1 AND g.grp = ?2 AND e.stream = ?1 AND e.seq > g.cursor
         ) OR EXISTS (
           SELECT 1 FROM bus_pending p
           WHERE p.stream = ?1 AND p.grp = ?2 AND p.deliver_after <= ?3
             AND (p.subject IS NULL OR NOT EXISTS (
               SELECT 1 FROM bus_pending q
               WHERE q.stream = p.stream AND q.grp = p.grp AND q.subject = p.subject AND q.seq < p.seq
             ))
         ) AS work`,
      ),
      // The group's cursor, and its pending rows counted up to a bound.
      countPending: prepare(
        `SELECT g.cursor, (
           SELECT COUNT(*) FROM (SELECT 1 FROM bus_pending WHERE stream = ?1 AND grp = ?2 LIMIT ?3)
         ) AS n
         FROM bus_groups g WHERE g.stream = ?1 AND g.grp = ?2`,
      ),
      // Cheaper than \`due\` (no join, no subject check): most claims find nothing due.
      anyDue: prepare(
        `SELECT 1 AS due FROM bus_pending WHERE stream = ? AND grp = ? AND deliver_after <= ? LIMIT 1`,
      ),
      // Due entries, in stream order, none behind an earlier entry of its subject.
      due: prepare(
        `SELECT p.seq, p.attempts, p.last_error, e.id, e.type, e.event
         FROM bus_pending p JOIN bus_events e ON e.stream = p.stream AND e.seq = p.seq
         WHERE p.stream = ?1 AND p.grp = ?2 AND p.deliver_after <= ?3
           AND (p.subject IS NULL OR NOT EXISTS (
             SELECT 1 FROM bus_pending q
             WHERE q.stream = p.stream AND q.grp = p.grp AND q.subject = p.subject AND q.seq < p.seq
           ))
         ORDER BY p.seq LIMIT ?4`,
      ),
      newEvents: prepare(
        `SELECT seq, id, type, subject, event FROM bus_events
         WHERE stream = ? AND seq > ? ORDER BY seq LIMIT ?`,
      ),
      subjectBusy: prepare(
        "SELECT 1 AS busy FROM bus_pending WHERE stream = ? AND grp = ? AND subject = ? LIMIT 1",
      ),
      insertPending: prepare(
        `INSERT INTO bus_pending (stream, grp, seq, subject, consumer, attempts, deliver_after)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      claimPending: prepare(
        `UPDATE bus_pending SET consumer = ?, attempts = attempts + 1, deliver_after = ?
         WHERE stream = ? AND grp = ? AND seq = ?`,
      ),
      ack: prepare(
        `DELETE FROM bus_pending
         WHERE stream = ? AND grp = ? AND seq = ? AND consumer = ? AND attempts = ?`,
      ),
      retry: prepare(
        `UPDATE bus_pending SET consumer = NULL, deliver_after = ?, last_error = ?
         WHERE stream = ? AND grp = ? AND seq = ? AND consumer = ? AND attempts = ?`,
      ),
      owned: prepare(
        `SELECT 1 AS owned FROM bus_pending
         WHERE stream = ? AND grp = ? AND seq = ? AND consumer = ? AND attempts = ?`,
      ),
      deletePending: prepare("DELETE FROM bus_pending WHERE stream = ? AND grp = ? AND seq = ?"),
      eventOf: prepare("SELECT id, event FROM bus_events WHERE stream = ? AND seq = ?"),
      insertDead: prepare(
        `INSERT INTO bus_dead_letters (stream, grp, seq, event, attempts, reason, at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      deadLetters: prepare(
        `SELECT stream, grp, event, attempts, reason, at FROM bus_dead_letters
         WHERE stream = ? AND grp = ? ORDER BY n LIMIT ?`,
      ),
      read: prepare(
        "SELECT seq, event FROM bus_events WHERE stream = ? AND seq > ? ORDER BY seq LIMIT ?",
      ),
    };
  }

  /** Appends events (already checked and serialized) in one transaction. */
  publish(
    stream: string,
    events: readonly CloudEvent[],
    jsons: readonly string[],
  ): PublishReceipt[] {
    const sql = this.#sql;
    return this.#write(() => {
      let seq = integer(sql.maxSeq.get(stream) as Row, "seq");
      return events.map((event, index): PublishReceipt => {
        const next = seq + 1;
        const { changes } = sql.insertEvent.run(
          stream,
          next,
          event.id,
          event.type,
          event.subject ?? null,
          jsons[index]!,
        );
        if (Number(changes) === 0) {
          const known = integer(sql.seqOfId.get(stream, event.id) as Row, "seq");
          return { id: event.id, position: String(known), duplicate: true };
        }
        seq = next;
        return { id: event.id, position: String(next), duplicate: false };
      });
    });
  }

  /** Creates the group at `from` unless it exists. */
  createGroup(stream: string, group: string, from: StartPosition, after: number): void {
    const sql = this.#sql;
    this.#write(() => {
      const cursor = from.type === "all"
        ? 0
        : from.type === "new"
        ? integer(sql.maxSeq.get(stream) as Row, "seq")
        : after;
      sql.createGroup.run(stream, group, cursor);
    });
  }

  /** Whether `claim()` would find anything (a read, without the write lock). */
  hasWork(stream: string, group: string, now: number): boolean {
    const row = this.#read(() => this.#sql.hasWork.get(stream, group, now)) as Row | undefined;
    return row !== undefined && Number(row.work) === 1;
  }

  /**
   * One transaction: records `results` (acks, failures, releases), then
   * claims up to `limit` events for `consumer` — due entries first (backoff
   * over, ack wait expired, unparked), then new events past the cursor —
   * never one whose subject has an earlier entry pending in the group.
   */
  claim(
    consumer: ClaimConsumer,
    results: readonly DeliveryResult[],
    limit: number,
    now: number,
  ): ClaimResult {
    const sql = this.#sql;
    const { stream, group } = consumer;
    const at = () => new Date(now).toISOString();
    return this.#write(() => {
      for (const result of results) {
        const key = [stream, group, result.seq, consumer.consumer, result.attempt] as const;
        if (result.type === "ack") {
          sql.ack.run(...key);
        } else if (result.type === "release") {
          sql.retry.run(now, result.reason, ...key);
        } else if (result.poison || result.attempt >= consumer.maxDeliver) {
          if (sql.owned.get(...key) !== undefined) {
            this.#deadLetter(stream, group, result.seq, result.attempt, result.reason, at());
          }
        } else {
          sql.retry.run(now + result.backoffMs, result.reason, ...key);
        }
      }
      const claimed: Claimed[] = [];
      let dropped = false;
      if (limit <= 0) return { claimed, dropped };
      const deadline = now + consumer.ackWaitMs;
      const due = sql.anyDue.get(stream, group, now) === undefined
        ? []
        : sql.due.all(stream, group, now, limit) as Row[];
      for (const row of due) {
        const seq = integer(row, "seq");
        const attempts = integer(row, "attempts");
        if (consumer.types !== undefined && !consumer.types.has(text(row, "type"))) {
          sql.deletePending.run(stream, group, seq);
          dropped = true;
          continue;
        }
        if (attempts >= consumer.maxDeliver) {
          const reason = typeof row.last_error === "string"
            ? row.last_error
            : ackWaitReason(consumer.ackWaitMs, attempts);
          this.#deadLetter(stream, group, seq, attempts, reason, at());
          dropped = true;
          continue;
        }
        const event = parseEvent(row);
        if (typeof event === "string") {
          this.#deadLetter(stream, group, seq, attempts + 1, event, at(), row);
          dropped = true;
          continue;
        }
        sql.claimPending.run(consumer.consumer, deadline, stream, group, seq);
        claimed.push({ seq, attempt: attempts + 1, event });
      }
      const groupRow = sql.countPending.get(stream, group, this.#maxPending) as Row;
      let cursor = integer(groupRow, "cursor");
      const start = cursor;
      // Backpressure: new events become pending rows (claimed or parked); keep them bounded so
      // that a hot subject cannot park the whole backlog and slow every claim down.
      let room = this.#maxPending - integer(groupRow, "n");
      while (claimed.length < limit && room > 0 && cursor - start < SCAN_LIMIT) {
        // Rows carry the event's JSON: read no more than may be needed (more when types filter).
        const want = Math.min(limit - claimed.length, room) +
          (consumer.types === undefined ? 0 : 64);
        const rows = sql.newEvents.all(stream, cursor, want) as Row[];
        if (rows.length === 0) break;
        for (const row of rows) {
          if (claimed.length >= limit || room <= 0) break;
          const seq = integer(row, "seq");
          cursor = seq;
          if (consumer.types !== undefined && !consumer.types.has(text(row, "type"))) continue;
          const subject = typeof row.subject === "string" ? row.subject : null;
          if (subject !== null && sql.subjectBusy.get(stream, group, subject) !== undefined) {
            // Parked: handed out once the earlier events of its subject are done.
            sql.insertPending.run(stream, group, seq, subject, null, 0, 0);
            room -= 1;
            continue;
          }
          const event = parseEvent(row);
          if (typeof event === "string") {
            this.#deadLetter(stream, group, seq, 1, event, at(), row, false);
            continue;
          }
          sql.insertPending.run(stream, group, seq, subject, consumer.consumer, 1, deadline);
          room -= 1;
          claimed.push({ seq, attempt: 1, event });
        }
      }
      if (cursor !== start) sql.setCursor.run(cursor, stream, group);
      return { claimed, dropped };
    });
  }

  /** The group's dead letters, oldest first. */
  deadLetters(stream: string, group: string, limit: number): DeadLetter[] {
    const rows = this.#read(() => this.#sql.deadLetters.all(stream, group, limit)) as Row[];
    return rows.map((row) => ({
      event: JSON.parse(text(row, "event")) as DeadLetter["event"],
      stream: text(row, "stream"),
      group: text(row, "grp"),
      attempts: integer(row, "attempts"),
      reason: text(row, "reason"),
      at: text(row, "at"),
    }));
  }

  /** Events of `stream` after `after`, in order. */
  read(
    stream: string,
    after: number,
    limit: number,
  ): Array<{ position: string; event: CloudEvent }> {
    const rows = this.#read(() => this.#sql.read.all(stream, after, limit)) as Row[];
    return rows.map((row) => ({
      position: String(integer(row, "seq")),
      event: JSON.parse(text(row, "event")) as CloudEvent,
    }));
  }

  /** Closes the connection. */
  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  /** `work` in `BEGIN IMMEDIATE … COMMIT`, tried again (from the start) while the file is locked. */
  #write<T>(work: () => T): T {
    return retryBusy(this.#busyTimeoutMs, () => immediate(this.#db, work));
  }

  /** A read, tried again while the file is locked (rare in WAL mode). */
  #read<T>(read: () => T): T {
    return retryBusy(this.#busyTimeoutMs, read);
  }

  #deadLetter(
    stream: string,
    group: string,
    seq: number,
    attempts: number,
    reason: string,
    at: string,
    malformed?: Row,
    pending = true,
  ): void {
    const sql = this.#sql;
    let event: string;
    if (malformed !== undefined) {
      event = JSON.stringify({
        id: String(malformed.id),
        raw: parseOrText(text(malformed, "event")),
      });
    } else {
      const row = sql.eventOf.get(stream, seq) as Row;
      event = text(row, "event");
    }
    sql.insertDead.run(stream, group, seq, event, attempts, reason, at);
    if (pending) sql.deletePending.run(stream, group, seq);
  }
}

/** The event of a row, or why it is not one. */
function parseEvent(row: Row): CloudEvent | string {
  const raw = text(row, "event");
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    return `Malformed event at position ${row.seq}: not JSON (${(error as Error).message})`;
  }
  const issue = cloudEventIssue(value);
  if (issue !== undefined) return `Malformed event at position ${row.seq}: ${issue}`;
  return value as CloudEvent;
}

function parseOrText(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}
