/**
 * Projections: read models kept in SQLite, built from every event of an
 * {@link EventStore} in global order, each event applied exactly once.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { AllSubscription, EventStore, RecordedEvent } from "./event_store.ts";
import { EventStoreError } from "./errors.ts";
import { checkPosition, checkPositive, invalid } from "./_append.ts";
import {
  applyBatch,
  type CheckedProjection,
  joinReadModel,
  superseded,
} from "./_projection_checkpoint.ts";

// The port's types these signatures use, for the documentation of this file.
export type * from "./event_store.ts";

/**
 * A read model kept in a SQLite database, built from all events in global
 * order. Its checkpoint lives in the same database, in the table
 * `projection_checkpoints (name, position, version)`, and moves in the
 * same transaction as the applies.
 *
 * @example
 * ```ts
 * import { defineSqliteProjection } from "@flotilla/eventstore";
 *
 * const orderTotals = defineSqliteProjection({
 *   name: "order_totals",
 *   setup: (db) =>
 *     db.exec("CREATE TABLE IF NOT EXISTS order_totals (id TEXT PRIMARY KEY, total INTEGER)"),
 *   reset: (db) => db.exec("DELETE FROM order_totals"),
 *   apply(db, event) {
 *     if (event.type !== "OrderPlaced") return;
 *     const { total } = event.data as { total: number };
 *     db.prepare("INSERT INTO order_totals VALUES (?, ?)").run(event.stream, total);
 *   },
 * });
 * ```
 */
export interface SqliteProjection {
  /** Name; also the key of its checkpoint. A plain identifier (`[A-Za-z_][A-Za-z0-9_]*`, at most 64 characters). */
  readonly name: string;
  /**
   * Bump when the read model's shape or logic changes: a projector that
   * finds another version stored rebuilds from zero. A positive integer.
   * @default {1}
   */
  readonly version?: number;
  /** Creates its tables if missing (idempotent). */
  setup(db: DatabaseSync): void;
  /** Empties the read model (for a rebuild). */
  reset(db: DatabaseSync): void;
  /**
   * Applies one event; synchronous, runs inside the projector's
   * transaction. Ignores unknown types. A throw rolls the whole batch back.
   */
  apply(db: DatabaseSync, event: RecordedEvent): void;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * Checks a projection's definition and returns it unchanged.
 *
 * @example
 * ```ts
 * import { defineSqliteProjection } from "@flotilla/eventstore";
 *
 * const counts = defineSqliteProjection({
 *   name: "event_counts",
 *   version: 2,
 *   setup: (db) =>
 *     db.exec("CREATE TABLE IF NOT EXISTS event_counts (type TEXT PRIMARY KEY, n INTEGER)"),
 *   reset: (db) => db.exec("DELETE FROM event_counts"),
 *   apply: (db, event) =>
 *     void db.prepare(
 *       "INSERT INTO event_counts VALUES (?, 1) ON CONFLICT (type) DO UPDATE SET n = n + 1",
 *     ).run(event.type),
 * });
 * ```
 *
 * @throws {RangeError} when the name is not a plain identifier, the version
 * not a positive integer, or `setup`, `reset` or `apply` not a function.
 */
export function defineSqliteProjection(p: SqliteProjection): SqliteProjection {
  check(p, "define the projection");
  return p;
}

function check(p: SqliteProjection, action: string): CheckedProjection {
  if (typeof p !== "object" || p === null) {
    throw invalid(action, "projection", "an object with name, setup, reset and apply", p);
  }
  if (typeof p.name !== "string" || !NAME.test(p.name)) {
    throw invalid(action, "name", "a plain identifier of at most 64 characters", p.name);
  }
  const version = p.version ?? 1;
  if (!(Number.isSafeInteger(version) && version > 0)) {
    throw invalid(action, "version", "a positive integer", p.version);
  }
  for (const method of ["setup", "reset", "apply"] as const) {
    if (typeof p[method] !== "function") {
      throw invalid(action, method, "a function", typeof p[method]);
    }
  }
  return {
    name: p.name,
    version,
    setup: (db) => p.setup(db),
    reset: (db) => p.reset(db),
    apply: (db, event) => p.apply(db, event),
  };
}

function checkDb(db: DatabaseSync, action: string): void {
  if (typeof db?.prepare !== "function" || !db.isOpen) {
    throw invalid(action, "db", "an open DatabaseSync", typeof db);
  }
}

function checkStore(store: EventStore, action: string): void {
  if (typeof store?.readAll !== "function" || typeof store.subscribeToAll !== "function") {
    throw invalid(action, "store", "an EventStore", typeof store);
  }
}

/** Options of {@link SqliteProjector.start}. */
export interface SqliteProjectorOptions {
  /** Where the events come from. */
  store: EventStore;
  /**
   * The read model's database; it may be the database of a
   * `SqliteEventStore` (events and read model in one file). Never closed
   * by the projector.
   */
  db: DatabaseSync;
  /** What to build. */
  projection: SqliteProjection;
  /** Most events applied in one transaction. @default {500} */
  batchSize?: number;
  /** Stops the projector (as disposing it does). */
  signal?: AbortSignal;
  /**
   * Called with each error: a batch that failed (rolled back, retried
   * after a backoff), and the error that stops the projector for good
   * (then `closed` rejects with it too). Without it, failures are retried
   * silently.
   */
  onError?: (error: unknown) => void;
  /**
   * Pause before the first retry after a failure, in ms; it doubles with
   * each failure in a row, up to 30 s. @default {100}
   */
  retryDelayMs?: number;
}

interface Waiter {
  readonly target: bigint;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** Thrown by the handler to end a subscription whose checkpoint someone else moved. */
class Moved {}

const MAX_RETRY_DELAY_MS = 30_000;

/**
 * Keeps a {@link SqliteProjection}'s read model up to date: catches up from
 * its checkpoint, then applies events as they are appended, each batch in
 * one `BEGIN IMMEDIATE` transaction together with its checkpoint — so a
 * crash never applies a batch twice nor loses one.
 *
 * - **Start**: creates the tables and the table `projection_checkpoints`;
 *   if the stored version differs from the definition's (or nothing is
 *   stored), resets the read model and its checkpoint in one transaction —
 *   a rebuild from zero. Then subscribes with
 *   `store.subscribeToAll(handler, { after: checkpoint })` (no checkpoint
 *   in the store: the read model's database holds it).
 * - **Someone else moved the checkpoint**: each batch's transaction first
 *   compares the stored checkpoint with the position the projector holds
 *   in memory. If they differ — {@link rebuildProjection} reset it, or
 *   another projector of the same projection on the same read model went
 *   ahead — it writes nothing, rolls back, and restarts its subscription
 *   from the stored checkpoint. If the stored version differs, a newer
 *   start of another version took the read model over (the one started
 *   last wins): the projector stops with `PROJECTION_SUPERSEDED`.
 * - **A failing batch** (an `apply` throws, the database is locked, the
 *   store is unavailable): the batch rolls back and the checkpoint stays;
 *   `onError` is called and the batch is retried after a backoff, again
 *   and again — a poison event is never skipped. It stops for good only
 *   when the store or the database is closed, or it is superseded.
 * - **Same database as a `SqliteEventStore`**: the projector's
 *   transactions are synchronous, and if the connection already has a
 *   transaction open it waits for it to end rather than nest in it.
 *
 * @example
 * ```ts
 * import { openDatabase } from "@flotilla/sqlite";
 * import { SqliteEventStore, SqliteProjector } from "@flotilla/eventstore";
 * import { orderTotals } from "./order_totals.ts";
 *
 * const db = openDatabase(".flotilla/order/order.db");
 * await using store = new SqliteEventStore({ db });
 * await using projector = await SqliteProjector.start({ store, db, projection: orderTotals });
 * const { position } = await store.append("order-1", [
 *   { id: crypto.randomUUID(), type: "OrderPlaced", data: { total: 12 } },
 * ], { expectedVersion: "no_stream" });
 * await projector.waitFor(position); // the read model shows the order
 * ```
 */
export class SqliteProjector implements AsyncDisposable {
  readonly #store: EventStore;
  readonly #db: DatabaseSync;
  readonly #projection: CheckedProjection;
  readonly #batchSize: number;
  readonly #signal: AbortSignal | undefined;
  readonly #onError: ((error: unknown) => void) | undefined;
  readonly #retryDelayMs: number;
  readonly #caughtUp = Promise.withResolvers<void>();
  readonly #closed = Promise.withResolvers<void>();
  #waiters: Waiter[] = [];
  #position: string | undefined;
  #isCaughtUp = false;
  #stopping = false;
  #done = false;
  #fatalError: { error: unknown } | undefined;
  #subscription: AllSubscription | undefined;
  #wake: (() => void) | undefined;
  #failures = 0;
  readonly #onAbort = () => this.#stop();

  /** Use {@link SqliteProjector.start}. */
  private constructor(
    options: SqliteProjectorOptions,
    projection: CheckedProjection,
    batchSize: number,
    retryDelayMs: number,
    position: string | undefined,
  ) {
    this.#store = options.store;
    this.#db = options.db;
    this.#projection = projection;
    this.#batchSize = batchSize;
    this.#signal = options.signal;
    this.#onError = options.onError;
    this.#retryDelayMs = retryDelayMs;
    this.#position = position;
    // Nobody has to listen: the rejections are for those who do.
    this.#caughtUp.promise.catch(() => {});
    this.#closed.promise.catch(() => {});
    this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
    this.#run();
  }

  /**
   * Prepares the read model (tables, version check, automatic rebuild),
   * then starts projecting in the background.
   *
   * @throws {RangeError} when an option is invalid.
   * @throws when `setup` or `reset` throws, or the signal is aborted.
   */
  static async start(options: SqliteProjectorOptions): Promise<SqliteProjector> {
    const action = "start the projector";
    if (typeof options !== "object" || options === null) {
      throw invalid(action, "options", "an object with store, db and projection", options);
    }
    checkStore(options.store, action);
    checkDb(options.db, action);
    const projection = check(options.projection, action);
    const batchSize = checkPositive(options.batchSize, 500, action, "batchSize");
    const retryDelayMs = options.retryDelayMs ?? 100;
    if (!(Number.isFinite(retryDelayMs) && retryDelayMs >= 0)) {
      throw invalid(action, "retryDelayMs", "a non-negative finite number", retryDelayMs);
    }
    if (options.onError !== undefined && typeof options.onError !== "function") {
      throw invalid(action, "onError", "a function", typeof options.onError);
    }
    options.signal?.throwIfAborted();
    const position = await joinReadModel(options.db, projection, "start");
    options.signal?.throwIfAborted();
    return new SqliteProjector(options, projection, batchSize, retryDelayMs, position);
  }

  /** The position of the last event applied to the read model (undefined when none is). */
  get position(): string | undefined {
    return this.#position;
  }

  /** Resolves once the projector has caught up with the store (then it is live); rejects if it stops first. */
  get caughtUp(): Promise<void> {
    return this.#caughtUp.promise;
  }

  /**
   * Resolves once stopped by dispose or the signal; rejects with the error
   * that stopped it otherwise (the store or database closed, superseded).
   */
  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  /**
   * Resolves once the read model has applied every event up to `position`
   * (read-your-writes: pass an append's `position`). It waits as long as
   * needed — for a position the store has not reached, until the signal
   * aborts or the projector stops, which reject it. Positions are compared
   * as integers.
   *
   * @throws {RangeError} (as a rejection) when `position` is not a position.
   */
  waitFor(position: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    try {
      if (position === undefined) {
        throw invalid("wait for the position", "position", "a position", position);
      }
      checkPosition(position, "wait for the position", "position");
    } catch (error) {
      return Promise.reject(error);
    }
    const target = BigInt(position);
    if (this.#position !== undefined && BigInt(this.#position) >= target) return Promise.resolve();
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#done) return Promise.reject(this.#fatalError?.error ?? this.#stopped(position));
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const onAbort = () => {
      this.#waiters = this.#waiters.filter((w) => w !== waiter);
      reject(signal!.reason);
    };
    const waiter: Waiter = {
      target,
      resolve: () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      },
      reject: (error) => {
        signal?.removeEventListener("abort", onAbort);
        reject(error);
      },
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    this.#waiters.push(waiter);
    return promise;
  }

  /** Stops after the batch in progress and waits for it; pending `waitFor`s reject. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#stop();
    await this.#closed.promise.catch(() => {});
  }

  #stop(): void {
    this.#stopping = true;
    this.#subscription?.[Symbol.asyncDispose]();
    this.#wake?.();
  }

  #stopped(position: string): EventStoreError {
    return new EventStoreError(
      "EVENTSTORE_CLOSED",
      `Cannot wait for position ${position} as the projector of "${this.#projection.name}" ` +
        `stopped at ${this.#position ?? "the start"}`,
    );
  }

  /** Moves the in-memory position and resolves the waiters it satisfies. */
  #advance(position: string | undefined): void {
    this.#position = position;
    if (position === undefined || this.#waiters.length === 0) return;
    const reached = BigInt(position);
    const waiting: Waiter[] = [];
    for (const waiter of this.#waiters) {
      if (waiter.target <= reached) waiter.resolve();
      else waiting.push(waiter);
    }
    this.#waiters = waiting;
  }

  async #run(): Promise<void> {
    await null;
    let failure: { error: unknown } | undefined;
    try {
      failure = await this.#loop();
    } catch (error) {
      failure = { error };
    }
    this.#done = true;
    this.#fatalError = failure;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    if (failure !== undefined) this.#report(failure.error);
    const error = failure?.error;
    for (const waiter of this.#waiters.splice(0)) {
      waiter.reject(error ?? this.#stopped(String(waiter.target)));
    }
    if (!this.#isCaughtUp) {
      this.#caughtUp.reject(
        error ?? new EventStoreError(
          "EVENTSTORE_CLOSED",
          `Cannot catch up as the projector of "${this.#projection.name}" stopped before it did`,
        ),
      );
    }
    if (failure === undefined) this.#closed.resolve();
    else this.#closed.reject(failure.error);
  }

  /** Subscribes from the stored checkpoint, again after each failure or move. */
  async #loop(): Promise<{ error: unknown } | undefined> {
    let first = true;
    while (!this.#stopping) {
      let subscription: AllSubscription;
      try {
        if (!first) this.#advance(await joinReadModel(this.#db, this.#projection, "resume"));
        first = false;
        if (this.#stopping) break;
        const after = this.#position;
        subscription = await this.#store.subscribeToAll(
          (events) => this.#handle(events),
          { batchSize: this.#batchSize, ...(after === undefined ? {} : { after }) },
        );
      } catch (error) {
        if (this.#fatal(error)) return { error };
        await this.#failed(error);
        continue;
      }
      this.#subscription = subscription;
      if (this.#stopping) subscription[Symbol.asyncDispose]();
      subscription.caughtUp.then(() => {
        if (this.#isCaughtUp) return;
        this.#isCaughtUp = true;
        this.#caughtUp.resolve();
      }, () => {});
      try {
        await subscription.closed;
        if (this.#stopping) break;
        // The store ended it (it was closed): subscribing again tells.
      } catch (error) {
        if (error instanceof Moved) continue;
        if (this.#fatal(error)) return { error };
        await this.#failed(error);
      } finally {
        this.#subscription = undefined;
      }
    }
    return undefined;
  }

  async #handle(events: readonly RecordedEvent[]): Promise<void> {
    const outcome = await applyBatch(this.#db, this.#projection, this.#position, events);
    if (outcome.type === "moved") {
      const stored = outcome.stored;
      if (stored !== undefined && stored.version !== this.#projection.version) {
        throw superseded(this.#projection, stored.version);
      }
      throw new Moved();
    }
    this.#failures = 0;
    this.#advance(outcome.position);
  }

  #fatal(error: unknown): boolean {
    return !this.#db.isOpen ||
      (error instanceof EventStoreError &&
        (error.code === "EVENTSTORE_CLOSED" || error.code === "PROJECTION_SUPERSEDED"));
  }

  #report(error: unknown): void {
    try {
      this.#onError?.(error);
    } catch {
      // A failing reporter must not stop the projector.
    }
  }

  /** Reports a failure and waits the backoff (cut short by a stop). */
  #failed(error: unknown): Promise<void> {
    this.#failures++;
    this.#report(error);
    const delay = Math.min(
      MAX_RETRY_DELAY_MS,
      this.#retryDelayMs * 2 ** Math.min(this.#failures - 1, 20),
    );
    if (this.#stopping) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.#wake?.(), delay);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }
}

/** Options of {@link rebuildProjection}. */
export interface RebuildProjectionOptions {
  /** Where the events come from. */
  store: EventStore;
  /** The read model's database. */
  db: DatabaseSync;
  /** What to rebuild. */
  projection: SqliteProjection;
  /** Stops the rebuild between two batches (it rejects with the signal's reason). */
  signal?: AbortSignal;
  /** Most events applied in one transaction. @default {500} */
  batchSize?: number;
}

/** What {@link rebuildProjection} did. */
export interface RebuildProjectionResult {
  /** How many events this call applied (a projector running meanwhile may have applied others). */
  readonly events: number;
  /** The read model's checkpoint at the end: the last event applied. */
  readonly position: string | undefined;
}

/**
 * Rebuilds a read model from zero, e.g. from a CLI while services run: in
 * one transaction, empties it (`reset`) and its checkpoint, then applies
 * every event up to the store's current end, each batch in one
 * transaction with its checkpoint. A projector running meanwhile on the
 * same read model notices at its next batch and goes on from the stored
 * checkpoint; each batch of either is applied once, as both compare the
 * stored checkpoint before applying (when the other moved it, the rebuild
 * goes on from there too).
 *
 * @example
 * ```ts
 * import { openDatabase } from "@flotilla/sqlite";
 * import { rebuildProjection, SqliteEventStore } from "@flotilla/eventstore";
 * import { orderTotals } from "./order_totals.ts";
 *
 * await using store = new SqliteEventStore({ path: ".flotilla/order/events.db" });
 * const db = openDatabase(".flotilla/order/read.db");
 * const { events, position } = await rebuildProjection({ store, db, projection: orderTotals });
 * ```
 *
 * @throws {RangeError} when an option is invalid.
 * @throws {EventStoreError} `PROJECTION_SUPERSEDED` when another version
 * takes the read model over meanwhile.
 * @throws the signal's reason when aborted, or what an `apply` throws
 * (that batch rolls back; the read model stays consistent with its
 * checkpoint, and a projector or another rebuild carries on).
 */
export async function rebuildProjection(
  options: RebuildProjectionOptions,
): Promise<RebuildProjectionResult> {
  const action = "rebuild the projection";
  if (typeof options !== "object" || options === null) {
    throw invalid(action, "options", "an object with store, db and projection", options);
  }
  const { store, db, signal } = options;
  checkStore(store, action);
  checkDb(db, action);
  const projection = check(options.projection, action);
  const batchSize = checkPositive(options.batchSize, 500, action, "batchSize");
  signal?.throwIfAborted();
  let position = await joinReadModel(db, projection, "rebuild");
  let events = 0;
  for (;;) {
    signal?.throwIfAborted();
    const batch = await store.readAll({
      limit: batchSize,
      ...(position === undefined ? {} : { after: position }),
      ...(signal === undefined ? {} : { signal }),
    });
    if (batch.length === 0) break;
    signal?.throwIfAborted();
    const outcome = await applyBatch(db, projection, position, batch);
    if (outcome.type === "moved") {
      // Someone else moved it: carry on from there (a missing checkpoint resets again).
      position = await joinReadModel(db, projection, "resume");
      continue;
    }
    events += batch.length;
    position = outcome.position;
    if (batch.length < batchSize) break;
  }
  return { events, position };
}

/**
 * The projections a service keeps in one SQLite database of its data
 * folder, as `flotilla projections rebuild` finds them: a service's plan
 * names a module that exports `readModels: ServiceReadModel[]`.
 */
export interface ServiceReadModel {
  /**
   * The database file, relative to the service's data folder, e.g.
   * `order.db`. With `FLOTILLA_EVENTSTORE=sqlite` the events are in it too.
   */
  readonly database: string;
  /** The projections it holds. */
  readonly projections: readonly SqliteProjection[];
}
