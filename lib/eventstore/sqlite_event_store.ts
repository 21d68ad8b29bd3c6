/**
 * The embedded default event store: one SQLite file (WAL), no server.
 *
 * @module
 */

import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { type Clock, parseTraceparent, systemClock } from "@flotilla/core";
import { immediate, integer, openDatabase, type Row, text } from "@flotilla/sqlite";
import type { CloudEvent, EventCatalog, SqliteOutbox } from "@flotilla/bus";
import type {
  AllHandler,
  AllSubscription,
  AppendOptions,
  AppendResult,
  EventStore,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  Snapshot,
  SubscribeToAllOptions,
} from "./event_store.ts";
import { EventStoreError } from "./errors.ts";
import {
  assertExpectedVersion,
  checkName,
  checkPosition,
  checkPositive,
  checkReadAll,
  checkSnapshot,
  checkStored,
  checkStream,
  checkVersion,
  invalid,
  prepareAppend,
  type PreparedAppend,
  storeClosed,
  type StoredIdentity,
} from "./_append.ts";
import {
  type AllSubscriptionLoop,
  type AllSubscriptionSource,
  startAllSubscription,
} from "./_all_subscription.ts";
import {
  CHECKPOINTS_SCHEMA,
  DELETE_CHECKPOINT,
  EVENTS_SCHEMA,
  LOAD_CHECKPOINT,
  SAVE_CHECKPOINT,
} from "./_sqlite_schema.ts";

/**
 * Where a {@link SqliteEventStore} also writes each new event: a
 * transactional outbox in the same database, so that the relay publishes
 * every appended event to the bus, once.
 */
export interface SqliteEventStoreOutbox {
  /** The outbox; it must live in the store's database. */
  outbox: SqliteOutbox;
  /** The bus stream the events are published to, e.g. `shop.order`. */
  stream: string;
  /** The CloudEvents `source` of the events, e.g. `/flotilla/shop/order`. */
  source: string;
  /** When given, each event is checked against it and an invalid one fails the append. */
  catalog?: EventCatalog;
  /** Called after an append that wrote to the outbox has committed, e.g. `() => relay.notify()`. */
  onWrite?: () => void;
}

/** Options of {@link SqliteEventStore}: a `db` or a `path`, not both. */
export interface SqliteEventStoreOptions {
  /**
   * An open database to keep the events in (its tables are created if
   * missing), so that a service keeps its read models, outbox and inbox in
   * the same file and writes them in the same transactions. The store never
   * closes it.
   */
  db?: DatabaseSync;
  /** The database file to open (its folder is created if missing); closed on dispose. */
  path?: string;
  /** The source of the events' `time`. @default {systemClock} */
  clock?: Clock;
  /**
   * How often an idle subscription looks for events other connections
   * committed, in milliseconds; appends through any store of this process
   * on the same file wake subscriptions at once. @default {50}
   */
  pollIntervalMs?: number;
  /**
   * How long an operation waits for another connection's write lock before
   * failing with `EVENTSTORE_UNAVAILABLE`, in ms. The store waits itself,
   * asynchronously (from a macrotask, doubling up to 4 ms between tries),
   * rather than in SQLite's busy handler, which blocks the thread; a file
   * it opens gets `busy_timeout = 0` (a given `db` keeps its own, which
   * applies first). @default {5_000}
   */
  busyTimeoutMs?: number;
  /** Also write every new event to this outbox, in the append's transaction. */
  outbox?: SqliteEventStoreOutbox;
}

const BUSY_SLEEP = new Int32Array(new SharedArrayBuffer(4));

const COLUMNS = "position, stream, version, id, type, data, metadata, time";
const SAVEPOINT = "flotilla_eventstore_append";

/** Wakes the subscriptions of every store of this process on one file. */
const neighbours = new Map<string, Set<() => void>>();

/**
 * An {@link EventStore} in a SQLite database (WAL), in the tables `events`
 * (`position INTEGER PRIMARY KEY AUTOINCREMENT`, `UNIQUE (stream, version)`,
 * `id UNIQUE`), `snapshots` and `checkpoints`, created if missing.
 *
 * Each append is one `BEGIN IMMEDIATE` transaction (or a savepoint inside
 * the caller's transaction, see {@link SqliteEventStore.appendSync}): it
 * looks the batch's ids up (a retry of a stored batch returns its result
 * and writes nothing; an id stored differently is `IDEMPOTENCY_CONFLICT`),
 * checks the expected version against the stream's last version, inserts
 * the events and — with the `outbox` option — writes each as a CloudEvent
 * to the outbox (`id` = event id, `type`, `subject` = the stream, `time`,
 * `data`, and `traceparent`/`tracestate` from the metadata when valid), so
 * that the event and its publication commit together.
 *
 * SQLite has one writer at a time, so positions are handed out in commit
 * order: reading `position > checkpoint` never skips a late commit.
 * Subscriptions poll every `pollIntervalMs` and are woken at once by
 * appends made through any `SqliteEventStore` of this process on the same
 * file; they never read while a transaction is open on their connection
 * (they would see its uncommitted events).
 *
 * @example
 * ```ts
 * import { SqliteEventStore } from "@flotilla/eventstore";
 *
 * await using store = new SqliteEventStore({ path: ".flotilla/order/events.db" });
 * const { nextExpectedVersion } = await store.append("order-1", [
 *   { id: crypto.randomUUID(), type: "OrderPlaced", data: { total: 12 } },
 * ], { expectedVersion: "no_stream" });
 * ```
 *
 * @example Events, read model and outbox in one database
 * ```ts
 * import { openDatabase } from "@flotilla/sqlite";
 * import { SqliteOutbox } from "@flotilla/bus";
 * import { SqliteEventStore } from "@flotilla/eventstore";
 *
 * const db = openDatabase(".flotilla/order/order.db");
 * const outbox = new SqliteOutbox(db);
 * await using store = new SqliteEventStore({
 *   db,
 *   outbox: { outbox, stream: "shop.order", source: "/flotilla/shop/order" },
 * });
 * ```
 */
export class SqliteEventStore implements EventStore {
  /** Always `sqlite`. */
  readonly kind = "sqlite";
  /** The database the events live in. */
  readonly db: DatabaseSync;
  readonly #owned: boolean;
  readonly #clock: Clock;
  readonly #pollIntervalMs: number;
  readonly #busyTimeoutMs: number;
  readonly #outbox: SqliteEventStoreOutbox | undefined;
  readonly #file: string | undefined;
  readonly #subscriptions = new Set<AllSubscriptionLoop>();
  readonly #wake = () => {
    for (const subscription of this.#subscriptions) subscription.notify();
  };
  #closed = false;
  readonly #insert: StatementSync;
  readonly #version: StatementSync;
  readonly #byId: StatementSync;
  readonly #byIds: StatementSync;
  readonly #forward: StatementSync;
  readonly #backward: StatementSync;
  readonly #all: StatementSync;
  readonly #saveSnapshot: StatementSync;
  readonly #loadSnapshot: StatementSync;
  readonly #saveCheckpoint: StatementSync;
  readonly #deleteCheckpoint: StatementSync;
  readonly #loadCheckpoint: StatementSync;

  /**
   * Opens the store in `options.db`, or in the file `options.path`.
   *
   * @throws {RangeError} when an option is invalid.
   * @throws {EventStoreError} `EVENTSTORE_UNAVAILABLE` when the file cannot be opened.
   */
  constructor(options: SqliteEventStoreOptions) {
    const action = "open the sqlite event store";
    if (typeof options !== "object" || options === null) {
      throw invalid(action, "options", "an object with 'db' or 'path'", options);
    }
    const pollIntervalMs = options.pollIntervalMs ?? 50;
    if (!(Number.isFinite(pollIntervalMs) && pollIntervalMs > 0)) {
      throw invalid(action, "pollIntervalMs", "a positive finite number", pollIntervalMs);
    }
    const busyTimeoutMs = options.busyTimeoutMs ?? 5_000;
    if (!(Number.isFinite(busyTimeoutMs) && busyTimeoutMs >= 0)) {
      throw invalid(action, "busyTimeoutMs", "a non-negative finite number", busyTimeoutMs);
    }
    const outbox = options.outbox;
    if (outbox !== undefined) checkOutbox(outbox, options.db);
    if ((options.db === undefined) === (options.path === undefined)) {
      throw invalid(action, "db", "given, or else 'path' (one of them)", options.path);
    }
    if (options.db !== undefined) {
      const db = options.db;
      if (typeof db?.prepare !== "function" || !db.isOpen) {
        throw invalid(action, "db", "an open DatabaseSync", typeof db);
      }
      this.db = db;
      this.#owned = false;
      const schema = EVENTS_SCHEMA + CHECKPOINTS_SCHEMA;
      if (db.isTransaction) db.exec(schema);
      else immediate(db, () => db.exec(schema));
    } else {
      const path = options.path!;
      if (typeof path !== "string" || path === "") {
        throw invalid(action, "path", "a non-empty path", path);
      }
      try {
        if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
        this.db = retryBusySync(
          busyTimeoutMs,
          () =>
            openDatabase(path, { schema: EVENTS_SCHEMA + CHECKPOINTS_SCHEMA, busyTimeoutMs: 0 }),
        );
      } catch (error) {
        if (error instanceof RangeError) throw error;
        throw new EventStoreError(
          "EVENTSTORE_UNAVAILABLE",
          `Cannot open the sqlite event store at ${JSON.stringify(path)}: ${
            error instanceof Error ? error.message : String(error)
          }`,
          { cause: error },
        );
      }
      this.#owned = true;
    }
    this.#clock = options.clock ?? systemClock;
    this.#pollIntervalMs = pollIntervalMs;
    this.#busyTimeoutMs = busyTimeoutMs;
    this.#outbox = outbox;
    const db = this.db;
    this.#insert = db.prepare(
      "INSERT INTO events (stream, version, id, type, data, metadata, time) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    this.#version = db.prepare("SELECT max(version) AS v FROM events WHERE stream = ?");
    const identity = "SELECT position, stream, version, id, type, data FROM events";
    this.#byId = db.prepare(`${identity} WHERE id = ?`);
    this.#byIds = db.prepare(`${identity} WHERE id IN (SELECT value FROM json_each(?))`);
    this.#forward = db.prepare(
      `SELECT ${COLUMNS} FROM events WHERE stream = ? AND version >= ? ORDER BY version LIMIT ?`,
    );
    this.#backward = db.prepare(
      `SELECT ${COLUMNS} FROM events WHERE stream = ? AND version <= ? ORDER BY version DESC LIMIT ?`,
    );
    this.#all = db.prepare(
      `SELECT ${COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?`,
    );
    this.#saveSnapshot = db.prepare(
      "INSERT INTO snapshots (stream, version, state, time) VALUES (?, ?, ?, ?) " +
        "ON CONFLICT (stream) DO UPDATE SET version = excluded.version, state = excluded.state, " +
        "time = excluded.time WHERE excluded.version >= snapshots.version",
    );
    this.#loadSnapshot = db.prepare("SELECT version, state FROM snapshots WHERE stream = ?");
    this.#saveCheckpoint = db.prepare(SAVE_CHECKPOINT);
    this.#deleteCheckpoint = db.prepare(DELETE_CHECKPOINT);
    this.#loadCheckpoint = db.prepare(LOAD_CHECKPOINT);
    const location = db.location();
    this.#file = location === null || location === "" ? undefined : location;
    if (this.#file !== undefined) {
      const set = neighbours.get(this.#file) ?? new Set();
      set.add(this.#wake);
      neighbours.set(this.#file, set);
    }
  }

  /** Appends `events` to `stream` in one transaction (see {@link EventStore.append}). */
  append(
    stream: string,
    events: readonly NewEvent[],
    options: AppendOptions,
  ): Promise<AppendResult> {
    return this.#async("append to the stream", options?.signal, () => {
      const batch = prepareAppend(stream, events, options);
      const result = this.#transaction(() => this.#appendIn(batch));
      if (result.written) this.#afterWrite();
      return result;
    });
  }

  /**
   * {@link SqliteEventStore.append}, synchronously: in a transaction of its
   * own, or — called inside the caller's transaction on the store's
   * database (`immediate(store.db, …)`) — in a savepoint of it, so that the
   * events commit (or roll back) with the caller's other writes, e.g. an
   * inbox entry or a read model. Subscriptions of this process are woken
   * at once (they read only once no transaction is open).
   *
   * @throws {WrongExpectedVersionError} when the stream is not at the expected version.
   * @throws {EventStoreError} `IDEMPOTENCY_CONFLICT`, `INVALID_EVENT` or `EVENTSTORE_CLOSED`.
   * @throws {RangeError} for an invalid stream or expected version.
   */
  appendSync(
    stream: string,
    events: readonly NewEvent[],
    options: AppendOptions,
  ): AppendResult {
    this.#open("append to the stream");
    options?.signal?.throwIfAborted();
    const batch = prepareAppend(stream, events, options);
    const result = this.db.isTransaction
      ? this.#transaction(() => this.#appendIn(batch))
      : retryBusySync(this.#busyTimeoutMs, () => this.#transaction(() => this.#appendIn(batch)));
    if (result.written) this.#afterWrite();
    return result;
  }

  /** Events of one stream (see {@link EventStore.readStream}). */
  readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    return this.#async("read the stream", options.signal, () => {
      const action = "read the stream";
      checkStream(stream, action);
      const direction = options.direction ?? "forward";
      if (direction !== "forward" && direction !== "backward") {
        throw invalid(action, "direction", `"forward" or "backward"`, direction);
      }
      const from = checkVersion(options.fromVersion, action, "fromVersion");
      const limit = checkPositive(options.limit, Number.MAX_SAFE_INTEGER, action, "limit");
      const rows = direction === "forward"
        ? this.#forward.all(stream, from ?? 0, limit)
        : this.#backward.all(stream, from ?? Number.MAX_SAFE_INTEGER, limit);
      return rows.map(toRecorded);
    });
  }

  /** The version of the stream's last event, or −1. */
  streamVersion(stream: string, options: { signal?: AbortSignal } = {}): Promise<number> {
    return this.#async("read the stream version", options.signal, () => {
      checkStream(stream, "read the stream version");
      return this.#currentVersion(stream);
    });
  }

  /** Events of every stream in global order (see {@link EventStore.readAll}). */
  readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    return this.#async("read all events", options.signal, () => {
      const { after, limit } = checkReadAll(options);
      return this.#all.all(after === undefined ? 0 : BigInt(after), limit).map(toRecorded);
    });
  }

  /**
   * Catches up from the checkpoint, then delivers new events (see
   * {@link EventStore.subscribeToAll}): polled every `pollIntervalMs`, and
   * woken at once by the appends of this process.
   */
  async subscribeToAll(
    handler: AllHandler,
    options: SubscribeToAllOptions = {},
  ): Promise<AllSubscription> {
    this.#open("subscribe to all");
    const source: AllSubscriptionSource = {
      // Never read this connection's uncommitted events: wait for its transaction to end.
      readAll: (o) => this.db.isTransaction ? Promise.resolve([]) : this.readAll(o),
      loadCheckpoint: (name) => this.loadCheckpoint(name),
      saveCheckpoint: (name, position) => this.saveCheckpoint(name, position),
    };
    const subscription = await startAllSubscription(source, handler, options, {
      pollIntervalMs: this.#pollIntervalMs,
      onClose: (s) => this.#subscriptions.delete(s),
    });
    if (this.#closed) {
      await subscription[Symbol.asyncDispose]();
      throw storeClosed("subscribe to all", this.kind);
    }
    this.#subscriptions.add(subscription);
    return subscription;
  }

  /** Saves a snapshot, unless a newer one is stored (see {@link EventStore.saveSnapshot}). */
  saveSnapshot(
    stream: string,
    snapshot: Snapshot,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    return this.#async("save the snapshot", options.signal, () => {
      const { version, stateJson } = checkSnapshot(stream, snapshot);
      this.#transaction(() => this.#saveSnapshot.run(stream, version, stateJson, this.#now()));
    });
  }

  /** The latest snapshot of `stream`. */
  loadSnapshot<S = unknown>(
    stream: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<Snapshot<S> | undefined> {
    return this.#async("load the snapshot", options.signal, () => {
      checkStream(stream, "load the snapshot");
      const row = this.#loadSnapshot.get(stream);
      return row === undefined
        ? undefined
        : { version: integer(row, "version"), state: JSON.parse(text(row, "state")) as S };
    });
  }

  /** Reads a named checkpoint. */
  loadCheckpoint(
    name: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<string | undefined> {
    return this.#async("load the checkpoint", options.signal, () => {
      checkName(name, "load the checkpoint");
      const row = this.#loadCheckpoint.get(name);
      return row === undefined ? undefined : text(row, "position");
    });
  }

  /** Saves a named checkpoint; `undefined` deletes it. */
  saveCheckpoint(
    name: string,
    position: string | undefined,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    return this.#async("save the checkpoint", options.signal, () => {
      checkName(name, "save the checkpoint");
      checkPosition(position, "save the checkpoint", "position");
      this.#transaction(() => {
        if (position === undefined) this.#deleteCheckpoint.run(name);
        else this.#saveCheckpoint.run(name, position, this.#now());
      });
    });
  }

  /**
   * Wakes this store's subscriptions to read again, e.g. after another
   * process appended (appends of this process wake them already).
   */
  notify(): void {
    this.#wake();
  }

  /**
   * Ends the subscriptions (each after its batch in progress), then closes
   * the database if the store opened it; further calls fail with
   * `EVENTSTORE_CLOSED`.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const subscriptions = [...this.#subscriptions];
    for (const subscription of subscriptions) subscription.stop();
    await Promise.all(subscriptions.map((s) => s[Symbol.asyncDispose]()));
    if (this.#file !== undefined) {
      const set = neighbours.get(this.#file);
      set?.delete(this.#wake);
      if (set?.size === 0) neighbours.delete(this.#file);
    }
    if (this.#owned && this.db.isOpen) this.db.close();
  }

  #appendIn(batch: PreparedAppend): AppendResult {
    const { stream, events } = batch;
    const verdict = checkStored(batch, this.#lookUp(batch));
    if (verdict.type === "retry") {
      return { nextExpectedVersion: verdict.version, position: verdict.position, written: false };
    }
    const current = this.#currentVersion(stream);
    assertExpectedVersion(stream, batch.expectedVersion, current);
    const time = this.#now();
    let position = 0;
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!;
      const result = this.#insert.run(
        stream,
        current + 1 + i,
        event.id,
        event.type,
        event.dataJson,
        event.metadataJson,
        time,
      );
      position = Number(result.lastInsertRowid);
    }
    if (this.#outbox !== undefined) this.#toOutbox(this.#outbox, batch, time);
    return {
      nextExpectedVersion: current + events.length,
      position: String(position),
      written: true,
    };
  }

  #lookUp(batch: PreparedAppend): (StoredIdentity | undefined)[] {
    const { events } = batch;
    if (events.length === 1) {
      const row = this.#byId.get(events[0]!.id);
      return [row === undefined ? undefined : toIdentity(row)];
    }
    const rows = this.#byIds.all(JSON.stringify(events.map((e) => e.id)));
    if (rows.length === 0) return [];
    const found = new Map(rows.map((row) => [text(row, "id"), toIdentity(row)]));
    return events.map((event) => found.get(event.id));
  }

  #toOutbox(outbox: SqliteEventStoreOutbox, batch: PreparedAppend, time: string): void {
    const cloudEvents = batch.events.map((event): CloudEvent => {
      const { traceparent, tracestate } = event.metadata;
      const traced = typeof traceparent === "string" && traceparent === traceparent.trim() &&
        parseTraceparent(traceparent) !== undefined;
      const cloudEvent: CloudEvent = {
        specversion: "1.0",
        id: event.id,
        source: outbox.source,
        type: event.type,
        subject: batch.stream,
        time,
        datacontenttype: "application/json",
        data: JSON.parse(event.dataJson),
        ...(traced ? { traceparent: traceparent as string } : {}),
        ...(traced && typeof tracestate === "string" ? { tracestate } : {}),
      };
      if (outbox.catalog !== undefined) {
        const check = outbox.catalog.checkSync(cloudEvent);
        if (!check.ok) {
          throw new EventStoreError(
            "INVALID_EVENT",
            `Cannot append to "${batch.stream}" as the event ${event.id} cannot be published: ${check.reason}`,
            { data: { stream: batch.stream, id: event.id } },
          );
        }
      }
      return cloudEvent;
    });
    outbox.outbox.add(outbox.stream, cloudEvents);
  }

  #currentVersion(stream: string): number {
    const value = this.#version.get(stream)?.v;
    return value === null || value === undefined ? -1 : Number(value);
  }

  /** Runs `work` in a transaction of its own, or in a savepoint of the caller's. */
  #transaction<T>(work: () => T): T {
    const db = this.db;
    if (!db.isTransaction) return immediate(db, work);
    db.exec(`SAVEPOINT ${SAVEPOINT}`);
    try {
      const result = work();
      db.exec(`RELEASE ${SAVEPOINT}`);
      return result;
    } catch (error) {
      db.exec(`ROLLBACK TO ${SAVEPOINT}`);
      db.exec(`RELEASE ${SAVEPOINT}`);
      throw error;
    }
  }

  #afterWrite(): void {
    this.#wakeAll();
    this.#outbox?.onWrite?.();
  }

  #wakeAll(): void {
    if (this.#file === undefined) {
      this.#wake();
      return;
    }
    for (const wake of neighbours.get(this.#file) ?? []) wake();
  }

  #now(): string {
    return new Date(this.#clock.now()).toISOString();
  }

  #open(action: string): void {
    if (this.#closed || !this.db.isOpen) throw storeClosed(action, this.kind);
  }

  /**
   * Runs `work` at once; if it meets another connection's lock, runs it
   * again (after a macrotask, then up to 4 ms) until `busyTimeoutMs` has
   * passed, without blocking the thread.
   */
  async #async<T>(action: string, signal: AbortSignal | undefined, work: () => T): Promise<T> {
    const deadline = performance.now() + this.#busyTimeoutMs;
    for (let attempt = 0;; attempt++) {
      this.#open(action);
      signal?.throwIfAborted();
      try {
        return work();
      } catch (error) {
        if (!isBusy(error)) throw error;
        if (performance.now() >= deadline) throw busy(action, this.#busyTimeoutMs, error);
      }
      const pause = attempt < 4 ? 0 : 2 ** Math.min(attempt - 4, 2);
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

function isBusy(error: unknown): boolean {
  return error instanceof Error &&
    /database is locked|database table is locked|SQLITE_BUSY/i.test(error.message);
}

function busy(action: string, timeoutMs: number, cause: unknown): EventStoreError {
  return new EventStoreError(
    "EVENTSTORE_UNAVAILABLE",
    `Cannot ${action} as the database stayed locked by another connection for ${timeoutMs} ms`,
    { cause },
  );
}

/** Runs synchronous `work` until it does not meet a lock, waiting (blocking) from 20 µs doubling to 2 ms. */
function retryBusySync<T>(timeoutMs: number, work: () => T): T {
  const deadline = performance.now() + timeoutMs;
  for (let wait = 0.02;; wait = Math.min(wait * 2, 2)) {
    try {
      return work();
    } catch (error) {
      if (!isBusy(error)) throw error;
      const left = deadline - performance.now();
      if (left <= 0) throw busy("write to the sqlite event store", timeoutMs, error);
      Atomics.wait(BUSY_SLEEP, 0, 0, Math.min(wait, left));
    }
  }
}

function checkOutbox(outbox: SqliteEventStoreOutbox, db: DatabaseSync | undefined): void {
  const action = "open the sqlite event store";
  if (typeof outbox !== "object" || outbox === null || typeof outbox.outbox?.add !== "function") {
    throw invalid(action, "outbox", "{ outbox: SqliteOutbox, stream, source }", typeof outbox);
  }
  if (db === undefined || outbox.outbox.db !== db) {
    throw invalid(
      action,
      "outbox.outbox",
      "a SqliteOutbox on the store's 'db' (so that events and outbox commit together)",
      "an outbox on another database",
    );
  }
  if (typeof outbox.stream !== "string" || outbox.stream === "") {
    throw invalid(action, "outbox.stream", "a non-empty string", outbox.stream);
  }
  if (typeof outbox.source !== "string" || outbox.source === "") {
    throw invalid(action, "outbox.source", "a non-empty URI reference", outbox.source);
  }
}

function toIdentity(row: Row): StoredIdentity {
  return {
    stream: text(row, "stream"),
    type: text(row, "type"),
    dataJson: text(row, "data"),
    version: integer(row, "version"),
    position: String(integer(row, "position")),
  };
}

function toRecorded(row: Row): RecordedEvent {
  const metadata = row.metadata;
  return {
    stream: text(row, "stream"),
    id: text(row, "id"),
    type: text(row, "type"),
    data: JSON.parse(text(row, "data")),
    metadata: metadata === null ? {} : JSON.parse(text(row, "metadata")),
    version: integer(row, "version"),
    position: String(integer(row, "position")),
    time: text(row, "time"),
  };
}
