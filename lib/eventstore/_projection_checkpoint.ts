/**
 * The checkpoint of a SQLite projection, kept in the read model's own
 * database and written in the same transaction as the applies: the table,
 * the transactions (waiting out another connection's lock), and the
 * compare-and-set that keeps every apply exactly-once. Private to the
 * package.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { immediate, integer } from "@flotilla/sqlite";
import type { RecordedEvent } from "./event_store.ts";
import { EventStoreError } from "./errors.ts";

/** What the projector and the rebuild need of a projection (already checked). */
export interface CheckedProjection {
  /** Its name. */
  readonly name: string;
  /** Its version (the default applied). */
  readonly version: number;
  /** Creates its tables. */
  setup(db: DatabaseSync): void;
  /** Empties its tables. */
  reset(db: DatabaseSync): void;
  /** Applies one event. */
  apply(db: DatabaseSync, event: RecordedEvent): void;
}

/** The checkpoint table (one row per projection; `position` NULL: nothing applied yet). */
export const PROJECTION_CHECKPOINTS_SCHEMA = `
CREATE TABLE IF NOT EXISTS projection_checkpoints (
  name TEXT PRIMARY KEY,
  position TEXT,
  version INTEGER NOT NULL
) WITHOUT ROWID;
`;

/** A projection's stored checkpoint. */
export interface StoredCheckpoint {
  /** The position of the last event applied, undefined when none is. */
  readonly position: string | undefined;
  /** The version of the projection that wrote it. */
  readonly version: number;
}

/** Reads the checkpoint row of `name` (inside the caller's transaction). */
export function readCheckpoint(db: DatabaseSync, name: string): StoredCheckpoint | undefined {
  const row = db.prepare("SELECT position, version FROM projection_checkpoints WHERE name = ?")
    .get(name);
  if (row === undefined) return undefined;
  const position = row.position;
  if (position !== null && typeof position !== "string") {
    throw new TypeError(`Cannot read the checkpoint of "${name}": its position is not text`);
  }
  return { position: position ?? undefined, version: integer(row, "version") };
}

/** Upserts the checkpoint row of `name` (inside the caller's transaction). */
export function writeCheckpoint(
  db: DatabaseSync,
  name: string,
  position: string | undefined,
  version: number,
): void {
  db.prepare(
    "INSERT INTO projection_checkpoints (name, position, version) VALUES (?, ?, ?) " +
      "ON CONFLICT (name) DO UPDATE SET position = excluded.position, version = excluded.version",
  ).run(name, position ?? null, version);
}

/** Empties the read model and stores an empty checkpoint (inside the caller's transaction). */
export function resetInside(db: DatabaseSync, projection: CheckedProjection): void {
  projection.reset(db);
  writeCheckpoint(db, projection.name, undefined, projection.version);
}

/**
 * How a projector (re)joins its read model:
 * - `start`: a missing checkpoint or another version → reset (a rebuild from zero);
 * - `resume`: a missing checkpoint → reset; another version → `PROJECTION_SUPERSEDED`
 *   (a newer start took the read model over);
 * - `rebuild`: reset whatever is stored.
 */
export type JoinMode = "start" | "resume" | "rebuild";

/**
 * Creates the tables if missing and reads (or resets) the checkpoint, in one
 * transaction; returns the position the read model is at.
 *
 * @throws {EventStoreError} `PROJECTION_SUPERSEDED` in `resume` mode, see {@link JoinMode}.
 */
export function joinReadModel(
  db: DatabaseSync,
  projection: CheckedProjection,
  mode: JoinMode,
): Promise<string | undefined> {
  return transaction(db, () => {
    if (mode !== "resume") {
      db.exec(PROJECTION_CHECKPOINTS_SCHEMA);
      projection.setup(db);
    }
    const stored = readCheckpoint(db, projection.name);
    if (mode === "resume" && stored !== undefined && stored.version !== projection.version) {
      throw superseded(projection, stored.version);
    }
    if (mode === "rebuild" || stored === undefined || stored.version !== projection.version) {
      resetInside(db, projection);
      return undefined;
    }
    return stored.position;
  });
}

/** The outcome of {@link applyBatch}. */
export type BatchOutcome =
  | { readonly type: "applied"; readonly position: string }
  | { readonly type: "moved"; readonly stored: StoredCheckpoint | undefined };

/**
 * Applies `events` (read after `expected`) and moves the checkpoint to the
 * last one, in one transaction — if the stored checkpoint is still
 * `expected` at this projection's version. Otherwise someone else (a
 * rebuild, another projector on the same read model, a newer version)
 * moved it: nothing is written and the stored checkpoint is returned, so
 * that the caller goes on from there. If an apply throws, the batch rolls
 * back and the error is thrown.
 */
export function applyBatch(
  db: DatabaseSync,
  projection: CheckedProjection,
  expected: string | undefined,
  events: readonly RecordedEvent[],
): Promise<BatchOutcome> {
  const last = events[events.length - 1];
  if (last === undefined) throw new RangeError("Cannot apply an empty batch");
  return transaction(db, (): BatchOutcome => {
    const stored = readCheckpoint(db, projection.name);
    if (
      stored === undefined || stored.version !== projection.version ||
      stored.position !== expected
    ) {
      return { type: "moved", stored };
    }
    for (const event of events) projection.apply(db, event);
    writeCheckpoint(db, projection.name, last.position, projection.version);
    return { type: "applied", position: last.position };
  });
}

/** The error of a projector whose read model another version took over. */
export function superseded(projection: CheckedProjection, stored: number): EventStoreError {
  return new EventStoreError(
    "PROJECTION_SUPERSEDED",
    `Cannot go on projecting "${projection.name}" (version ${projection.version}) as its ` +
      `read model was taken over by version ${stored}`,
    { data: { name: projection.name, version: projection.version, stored } },
  );
}

/** Longest wait for another connection's write lock (or this connection's open transaction). */
const LOCK_TIMEOUT_MS = 30_000;

/**
 * Runs synchronous `work` in `BEGIN IMMEDIATE … COMMIT` on `db`. When the
 * connection already has a transaction open (other code of this process
 * awaiting inside one) or another connection holds the write lock, it
 * waits asynchronously — a macrotask, then up to 4 ms between tries — and
 * tries again, rather than nesting in someone else's transaction or
 * blocking the thread.
 */
export async function transaction<T>(db: DatabaseSync, work: () => T): Promise<T> {
  const deadline = performance.now() + LOCK_TIMEOUT_MS;
  for (let attempt = 0;; attempt++) {
    let cause: unknown;
    if (!db.isTransaction) {
      try {
        return immediate(db, work);
      } catch (error) {
        if (!isBusy(error)) throw error;
        cause = error;
      }
    }
    if (performance.now() >= deadline) {
      throw new EventStoreError(
        "EVENTSTORE_UNAVAILABLE",
        `Cannot write the read model as its database stayed locked for ${LOCK_TIMEOUT_MS} ms`,
        { cause },
      );
    }
    const pause = attempt < 4 ? 0 : 2 ** Math.min(attempt - 4, 2);
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

function isBusy(error: unknown): boolean {
  return error instanceof Error &&
    /database is locked|database table is locked|SQLITE_BUSY/i.test(error.message);
}
