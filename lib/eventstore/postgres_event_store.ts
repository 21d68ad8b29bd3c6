/**
 * The PostgreSQL adapter of the event store: {@link PostgresEventStore}.
 * It imports the `postgres` driver (porsager's postgres.js): import it by
 * its own subpath (`@flotilla/eventstore/postgres`), never from `mod.ts`.
 *
 * ## Schema
 *
 * The tables live in one PostgreSQL schema (`flotilla` by default):
 * `events`, `snapshots`, `checkpoints` and `migrations`, plus `outbox` and
 * `outbox_lease` with the `outbox` option (those belong to `PostgresOutbox`
 * of `@flotilla/bus/postgres`). {@link PostgresEventStore.connect} applies
 * the missing numbered migrations in one transaction under an advisory
 * lock, so several processes may connect at once.
 *
 * ## Appends
 *
 * An append is **one statement**, hence one transaction: a multi-row
 * `INSERT … SELECT` over the batch (sent as one JSON parameter) that reads
 * the stream's version, checks the expected version, numbers the events,
 * writes their outbox rows and queues a `NOTIFY` (sent by PostgreSQL when
 * the transaction commits) — one round trip, which is what lets a batch
 * run as fast as a raw multi-row `INSERT`.
 *
 * The expected-version check is race-free through `UNIQUE (stream, version)`
 * (no lock table): two writers that read the same version both insert the
 * next one; the second waits for the first to commit, then fails on the
 * constraint. When the statement writes nothing — the version did not
 * match, or it hit a unique violation (on a version or an event id) or a
 * deadlock — a second statement re-reads the stream's version and looks the
 * batch's ids up, and the shared rules decide: every id already stored in
 * this stream with the same type and payload is a retry (`written: false`,
 * the first append's result); an id stored differently, or a batch mixing
 * stored and new ids, is `IDEMPOTENCY_CONFLICT`; a version that does not
 * match is a `WrongExpectedVersionError` with the version just re-read; and
 * anything else (a race lost under `"any"`) runs the append again.
 *
 * ## Gap safety
 *
 * The hazard: when positions come from a sequence, a transaction that took
 * position 10 may commit after one that took 11, and a reader that handed
 * out 11 and moved its checkpoint past it never sees 10 (the bug class of
 * Marten's high-water mark). The known cure records each row's transaction
 * id (`transaction_id xid8`) and reads only rows with
 * `transaction_id < pg_snapshot_xmin(pg_current_snapshot())`: every
 * transaction below the oldest one still running has finished, so no row
 * can appear below that line later. But ordering those rows by the
 * sequence still leaves a hole — a transaction can take its id before
 * another and its sequence value after it, so a finished row may sit above
 * an unfinished one — hence the order must be the transaction id first,
 * then the sequence.
 *
 * This store packs that pair into the position:
 * `position = transaction_id × 2^16 + index of the event in its append`
 * (`xid8` is PostgreSQL's 64-bit transaction id, which never wraps). So
 * positions are unique, increase within an append and between appends in
 * transaction-id order, and `readAll` returns only positions below
 * `pg_snapshot_xmin(pg_current_snapshot()) × 2^16`: every event of every
 * finished transaction and none of a transaction in flight — a prefix of
 * the final order that never changes afterwards. A reader never moves past
 * an append in flight, and nothing is ever skipped. Positions are large,
 * sparse numbers (compare them as decimal integers, as the port says); an
 * append holds at most 65,536 events.
 *
 * The price is liveness, not safety: a long-running transaction that
 * writes anything (in this database or another of the server) holds
 * readers back until it ends. Subscriptions wake on the `NOTIFY` of each
 * append, and also poll every `pollIntervalMs` to notice such a transaction
 * ending (it sends no notification).
 *
 * ## Environment
 *
 * postgres.js reads `PGAPPNAME`, `PGTARGETSESSIONATTRS`, and
 * `PG<OPTION>` for each of its options (`PGMAX`, `PGSSL`,
 * `PGSSLNEGOTIATION`, `PGIDLE_TIMEOUT`, `PGCONNECT_TIMEOUT`,
 * `PGMAX_LIFETIME`, `PGMAX_PIPELINE`, `PGBACKOFF`, `PGKEEP_ALIVE`,
 * `PGPREPARE`, `PGDEBUG`, `PGFETCH_TYPES`, `PGPUBLICATIONS`,
 * `PGTARGET_SESSION_ATTRS`); and for what the URL leaves out `PGPASSWORD`,
 * `PGHOST`, `PGPORT`, `PGDATABASE`, `PGUSERNAME` and `PGUSER` — without a
 * user in the URL, also the OS user (`--allow-sys=uid,gid,userInfo`, else
 * `USERNAME`, `USER` or `LOGNAME`). With a user in the URL,
 * `--allow-env=PG*` covers everything.
 *
 * @example
 * ```ts
 * import { PostgresEventStore } from "@flotilla/eventstore/postgres";
 *
 * await using store = await PostgresEventStore.connect({
 *   url: "postgres://app@127.0.0.1:5432/shop",
 *   schema: "orders",
 * });
 * await store.append("order-1", [
 *   { id: crypto.randomUUID(), type: "OrderPlaced", data: { total: 12.5 } },
 * ], { expectedVersion: "no_stream" });
 * ```
 *
 * @module
 */

import postgres from "postgres";
import { type Clock, parseTraceparent, systemClock } from "@flotilla/core";
import type { EventCatalog } from "@flotilla/bus";
import { PostgresOutbox } from "@flotilla/bus/postgres";
import type {
  AllHandler,
  AllSubscription,
  AppendOptions,
  AppendResult,
  EventStore,
  ExpectedVersion,
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
import { migrate, POSITION_SHIFT } from "./_postgres_migrations.ts";

// The types of this entry point's signatures, for its documentation.
export type * from "./event_store.ts";
export type {
  Clock,
  FieldIssue,
  SchemaIssue,
  SchemaResult,
  StandardSchema,
  StandardSchemaProps,
} from "@flotilla/core";
export type { EventCatalog, EventCheck } from "@flotilla/bus";

/**
 * Where a {@link PostgresEventStore} also writes each new event: the
 * outbox in its schema ({@link PostgresEventStore.outbox}), in the append's
 * own statement, so that a relay publishes every appended event to the bus.
 */
export interface PostgresEventStoreOutbox {
  /** The bus stream the events are published to, e.g. `shop.order`. */
  stream: string;
  /** The CloudEvents `source` of the events, e.g. `/flotilla/shop/order`. */
  source: string;
  /** When given, each event is checked against it and an invalid one fails the append. */
  catalog?: EventCatalog;
  /** Called after an append that wrote to the outbox has committed, e.g. `() => relay.notify()`. */
  onWrite?: () => void;
}

/** Options of {@link PostgresEventStore.connect}. */
export interface PostgresEventStoreOptions {
  /**
   * The server, `postgres://user[:password]@host[:port]/database`. A
   * `schema` query parameter (`…/shop?schema=orders`) sets `schema`, so a
   * `FLOTILLA_EVENTSTORE` value can carry it.
   */
  url: string;
  /**
   * The PostgreSQL schema of the store's tables, created if missing: a
   * lower-case identifier of at most 48 characters.
   * @default {the URL's `schema` parameter, else "flotilla"}
   */
  schema?: string;
  /** The source of the events' `time` and the outbox's `created_at`. @default {systemClock} */
  clock?: Clock;
  /**
   * How long an idle subscription waits for a `NOTIFY` before reading
   * again anyway, in milliseconds: the fallback for a lost notification,
   * and for a transaction that held readers back ending (it sends none).
   * @default {1_000}
   */
  pollIntervalMs?: number;
  /** Also write every new event to the outbox, in the append's statement. */
  outbox?: PostgresEventStoreOutbox;
  /** Most connections of the pool (plus one for `LISTEN`, once someone subscribes). @default {10} */
  maxConnections?: number;
  /** Gives up connecting when aborted. */
  signal?: AbortSignal;
}

interface Settings {
  readonly schema: string;
  readonly clock: Clock;
  readonly pollIntervalMs: number;
  readonly outbox: PostgresEventStoreOutbox | undefined;
}

interface EventRow {
  stream: string;
  id: string;
  type: string;
  data: unknown;
  metadata: Record<string, unknown>;
  version: number;
  position: string;
  time: Date;
}

interface AppendRow {
  position: string | null;
  version: number | null;
  count: number;
}

interface DiagnosisRow {
  current: number;
  stored: {
    id: string;
    stream: string;
    type: string;
    data: string;
    version: number;
    position: string;
  }[];
}

interface Statements {
  readonly append: string;
  readonly diagnose: string;
  readonly streamVersion: string;
  readonly readForward: string;
  readonly readBackward: string;
  readonly readAll: string;
  readonly saveSnapshot: string;
  readonly loadSnapshot: string;
  readonly loadCheckpoint: string;
  readonly saveCheckpoint: string;
  readonly deleteCheckpoint: string;
}

const KIND = "postgres";
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,47}$/;
const MAX_POSITION = 2n ** 63n - 1n;
const MAX_VERSION = 2 ** 31 - 1;
const MAX_BATCH = 2 ** POSITION_SHIFT;
/** Appends that lose this many races in a row give up (each lost race is another writer's success). */
const MAX_ATTEMPTS = 100;
/** How long dispose waits for a `LISTEN` in progress to finish before cutting it off. */
const LISTENER_END_MS = 5_000;

/**
 * An {@link EventStore} in PostgreSQL (see the module doc for the schema,
 * the one-statement append, and why reads are gap-safe).
 *
 * @example Events published through the outbox
 * ```ts
 * import { type Bus, OutboxRelay } from "@flotilla/bus";
 * import { PostgresEventStore } from "@flotilla/eventstore/postgres";
 *
 * declare const bus: Bus;
 * let relay: OutboxRelay | undefined;
 * await using store = await PostgresEventStore.connect({
 *   url: "postgres://app@127.0.0.1:5432/shop",
 *   outbox: {
 *     stream: "shop.order",
 *     source: "/flotilla/shop/order",
 *     onWrite: () => relay?.notify(),
 *   },
 * });
 * relay = new OutboxRelay({ outbox: store.outbox!, bus });
 * await using _relay = relay;
 * await using _projection = await store.subscribeToAll((events) => {
 *   // fold `events`, in global order, into a read model
 * }, { checkpoint: "order-history" });
 * ```
 */
export class PostgresEventStore implements EventStore {
  /** Always `postgres`. */
  readonly kind: "postgres" = KIND;
  /** The PostgreSQL schema of its tables. */
  readonly schema: string;
  /**
   * The outbox the appends write to (with the `outbox` option), for an
   * `OutboxRelay`; it runs on the store's connections.
   */
  readonly outbox: PostgresOutbox | undefined;
  readonly #sql: postgres.Sql;
  readonly #url: string;
  readonly #settings: Settings;
  readonly #text: Statements;
  readonly #channel: string;
  readonly #subscriptions = new Set<AllSubscriptionLoop>();
  readonly #closing = new AbortController();
  #listener: { sql: postgres.Sql; ready: Promise<boolean> } | undefined;
  #disposed: Promise<void> | undefined;

  private constructor(
    sql: postgres.Sql,
    url: string,
    settings: Settings,
    outbox: PostgresOutbox | undefined,
  ) {
    this.#sql = sql;
    this.#url = url;
    this.#settings = settings;
    this.schema = settings.schema;
    this.outbox = outbox;
    this.#channel = `${settings.schema}_events`;
    this.#text = statements(settings.schema, this.#channel, settings.outbox !== undefined);
  }

  /**
   * Connects, creates or migrates the schema, and returns the store.
   *
   * @throws {EventStoreError} `INVALID_EVENTSTORE_URL` for a URL that is
   * not `postgres://…`; `EVENTSTORE_UNAVAILABLE` when the server cannot be
   * reached.
   * @throws {RangeError} for an invalid option.
   */
  static async connect(options: PostgresEventStoreOptions): Promise<PostgresEventStore> {
    const action = "connect the postgres event store";
    if (typeof options !== "object" || options === null) {
      throw invalid(action, "options", "an object with 'url'", options);
    }
    const { url, schemaParam } = splitUrl(options.url);
    const schema = options.schema ?? schemaParam ?? "flotilla";
    if (typeof schema !== "string" || !SCHEMA_NAME.test(schema)) {
      throw invalid(
        action,
        "schema",
        "a lower-case identifier of at most 48 characters (a-z, 0-9, _)",
        schema,
      );
    }
    const pollIntervalMs = options.pollIntervalMs ?? 1_000;
    if (!(Number.isFinite(pollIntervalMs) && pollIntervalMs > 0)) {
      throw invalid(action, "pollIntervalMs", "a positive finite number", pollIntervalMs);
    }
    const maxConnections = checkPositive(options.maxConnections, 10, action, "maxConnections");
    const outbox = options.outbox;
    if (outbox !== undefined) checkOutbox(outbox, action);
    options.signal?.throwIfAborted();
    const clock = options.clock ?? systemClock;
    const sql = openPool(url, maxConnections);
    let relayOutbox: PostgresOutbox | undefined;
    try {
      await migrate(sql, schema);
      if (outbox !== undefined) relayOutbox = await PostgresOutbox.open(sql, { schema, clock });
      options.signal?.throwIfAborted();
    } catch (error) {
      await sql.end({ timeout: 0 });
      throw storeError(error, action);
    }
    return new PostgresEventStore(sql, url, {
      schema,
      clock,
      pollIntervalMs,
      outbox: outbox === undefined ? undefined : { ...outbox },
    }, relayOutbox);
  }

  /**
   * Appends `events` to `stream` in one statement (see the module doc and
   * {@link EventStore.append}).
   *
   * @throws {WrongExpectedVersionError} when the stream is not at the expected version.
   * @throws {EventStoreError} `IDEMPOTENCY_CONFLICT`; `INVALID_EVENT`;
   * `EVENTSTORE_UNAVAILABLE` (retryable: the append may or may not have
   * committed — retry the same batch, it is idempotent); `EVENTSTORE_CLOSED`.
   * @throws {RangeError} for an invalid stream or expected version.
   */
  async append(
    stream: string,
    events: readonly NewEvent[],
    options: AppendOptions,
  ): Promise<AppendResult> {
    const action = "append to the stream";
    this.#open(action);
    const batch = prepareAppend(stream, events, options);
    if (batch.events.length > MAX_BATCH) {
      throw new EventStoreError(
        "INVALID_EVENT",
        `Cannot append to "${stream}" as a batch holds at most ${MAX_BATCH} events: current value is ${batch.events.length}`,
        { data: { stream } },
      );
    }
    const signal = options.signal;
    signal?.throwIfAborted();
    const [low, high] = versionBounds(batch.expectedVersion);
    const ids = JSON.stringify(batch.events.map((event) => event.id));
    for (let attempt = 1;; attempt++) {
      const now = this.#settings.clock.now();
      const time = new Date(now).toISOString();
      const params: unknown[] = [stream, this.#encode(batch, time), low, high, time];
      if (this.#settings.outbox !== undefined) params.push(this.#settings.outbox.stream, now);
      try {
        const [row] = await this.#query<AppendRow[]>(this.#text.append, params, action, signal);
        if (row !== undefined && row.count > 0) {
          this.#settings.outbox?.onWrite?.();
          return { nextExpectedVersion: row.version!, position: row.position!, written: true };
        }
      } catch (error) {
        if (!isRace(error)) throw error;
      }
      // Nothing was written: decide why, on the state as it is now.
      const [diagnosis] = await this.#query<DiagnosisRow[]>(
        this.#text.diagnose,
        [stream, ids],
        action,
        signal,
      );
      const byId = new Map(diagnosis!.stored.map((row) => [row.id, row]));
      const stored = batch.events.map((event): StoredIdentity | undefined => {
        const row = byId.get(event.id);
        return row === undefined ? undefined : {
          stream: row.stream,
          type: row.type,
          dataJson: row.data,
          version: row.version,
          position: row.position,
        };
      });
      const verdict = checkStored(batch, stored);
      if (verdict.type === "retry") {
        return { nextExpectedVersion: verdict.version, position: verdict.position, written: false };
      }
      assertExpectedVersion(stream, batch.expectedVersion, diagnosis!.current);
      if (attempt >= MAX_ATTEMPTS) {
        throw new EventStoreError(
          "EVENTSTORE_UNAVAILABLE",
          `Cannot append to "${stream}" as it lost ${MAX_ATTEMPTS} races in a row to other writers`,
          { data: { stream } },
        );
      }
    }
  }

  /** Events of one stream (see {@link EventStore.readStream}). */
  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const action = "read the stream";
    this.#open(action);
    checkStream(stream, action);
    const direction = options.direction ?? "forward";
    if (direction !== "forward" && direction !== "backward") {
      throw invalid(action, "direction", `"forward" or "backward"`, direction);
    }
    const from = checkVersion(options.fromVersion, action, "fromVersion");
    const limit = options.limit === undefined
      ? null
      : checkPositive(options.limit, 1, action, "limit");
    const forward = direction === "forward";
    const rows = await this.#query<EventRow[]>(
      forward ? this.#text.readForward : this.#text.readBackward,
      [stream, Math.min(from ?? (forward ? 0 : MAX_VERSION), MAX_VERSION), limit],
      action,
      options.signal,
    );
    return rows.map(toRecorded);
  }

  /** The version of the stream's last event, or −1 when it has none. */
  async streamVersion(stream: string, options: { signal?: AbortSignal } = {}): Promise<number> {
    const action = "read the stream's version";
    this.#open(action);
    checkStream(stream, action);
    const [row] = await this.#query<{ version: number }[]>(
      this.#text.streamVersion,
      [stream],
      action,
      options.signal,
    );
    return row?.version ?? -1;
  }

  /**
   * Events of every stream in global order, strictly after `after`, up to
   * `limit` — never past an append still in flight (see the module doc).
   */
  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const action = "read all events";
    this.#open(action);
    const { after, limit } = checkReadAll(options);
    if (after !== undefined && BigInt(after) >= MAX_POSITION) {
      options.signal?.throwIfAborted();
      return [];
    }
    const rows = await this.#query<EventRow[]>(
      this.#text.readAll,
      [after ?? "0", limit],
      action,
      options.signal,
    );
    return rows.map(toRecorded);
  }

  /**
   * Catches up from the checkpoint, then delivers new events as they
   * commit (see {@link EventStore.subscribeToAll}): woken by the `NOTIFY` of
   * each append, polling every `pollIntervalMs`, and retrying while the
   * server is unreachable (each read and checkpoint save).
   */
  async subscribeToAll(
    handler: AllHandler,
    options: SubscribeToAllOptions = {},
  ): Promise<AllSubscription> {
    const action = "subscribe to all";
    this.#open(action);
    const source: AllSubscriptionSource = {
      readAll: (read) => {
        this.#listen();
        return this.readAll(read);
      },
      loadCheckpoint: (name) => this.loadCheckpoint(name),
      saveCheckpoint: (name, position) => this.#saveCheckpointRetrying(name, position),
    };
    const subscription = await startAllSubscription(source, handler, options, {
      pollIntervalMs: this.#settings.pollIntervalMs,
      onClose: (s) => this.#subscriptions.delete(s),
    });
    if (this.#closing.signal.aborted) {
      await subscription[Symbol.asyncDispose]();
      throw storeClosed(action, KIND);
    }
    this.#subscriptions.add(subscription);
    return subscription;
  }

  /** Saves a snapshot, unless a newer one is stored (see {@link EventStore.saveSnapshot}). */
  async saveSnapshot(
    stream: string,
    snapshot: Snapshot,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    const action = "save the snapshot";
    this.#open(action);
    const { version, stateJson } = checkSnapshot(stream, snapshot);
    await this.#query(
      this.#text.saveSnapshot,
      [stream, version, stateJson],
      action,
      options.signal,
    );
  }

  /** The latest snapshot of `stream`, if any. */
  async loadSnapshot<S = unknown>(
    stream: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<Snapshot<S> | undefined> {
    const action = "load the snapshot";
    this.#open(action);
    checkStream(stream, action);
    const [row] = await this.#query<{ version: number; state: S }[]>(
      this.#text.loadSnapshot,
      [stream],
      action,
      options.signal,
    );
    return row === undefined ? undefined : { version: row.version, state: row.state };
  }

  /** Reads a named checkpoint. */
  async loadCheckpoint(
    name: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<string | undefined> {
    const action = "load the checkpoint";
    this.#open(action);
    checkName(name, action);
    const [row] = await this.#query<{ position: string }[]>(
      this.#text.loadCheckpoint,
      [name],
      action,
      options.signal,
    );
    return row?.position;
  }

  /** Saves a named checkpoint; `undefined` deletes it. */
  async saveCheckpoint(
    name: string,
    position: string | undefined,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    const action = "save the checkpoint";
    this.#open(action);
    checkName(name, action);
    checkPosition(position, action, "position");
    if (position !== undefined && BigInt(position) > MAX_POSITION) {
      throw invalid(action, "position", `at most ${MAX_POSITION} (a PostgreSQL bigint)`, position);
    }
    await this.#query(
      position === undefined ? this.#text.deleteCheckpoint : this.#text.saveCheckpoint,
      position === undefined ? [name] : [name, position],
      action,
      options.signal,
    );
  }

  /**
   * Ends the subscriptions (each after its batch in progress), then closes
   * the connections; further calls fail with `EVENTSTORE_CLOSED`.
   */
  [Symbol.asyncDispose](): Promise<void> {
    this.#disposed ??= this.#dispose();
    return this.#disposed;
  }

  async #dispose(): Promise<void> {
    this.#closing.abort();
    await Promise.all([...this.#subscriptions].map((s) => s[Symbol.asyncDispose]()));
    const listener = this.#listener;
    this.#listener = undefined;
    await Promise.all([
      listener === undefined ? undefined : endListener(listener),
      this.#sql.end({ timeout: 5 }),
    ]);
  }

  /**
   * The batch as the append statement's JSON parameter, built from the
   * events' JSON text (no second serialisation), with each event's
   * CloudEvent for the outbox when there is one.
   *
   * @throws {EventStoreError} `INVALID_EVENT` for an event the outbox's catalog refuses.
   */
  #encode(batch: PreparedAppend, time: string): string {
    const outbox = this.#settings.outbox;
    const parts = batch.events.map((event) => {
      let json = `{"id":${JSON.stringify(event.id)},"type":${JSON.stringify(event.type)},` +
        `"data":${event.dataJson},"metadata":${event.metadataJson ?? "{}"}`;
      if (outbox !== undefined) {
        const { traceparent, tracestate } = event.metadata;
        const traced = typeof traceparent === "string" &&
          parseTraceparent(traceparent) !== undefined;
        const cloudEvent = `{"specversion":"1.0","id":${JSON.stringify(event.id)},` +
          `"source":${JSON.stringify(outbox.source)},"type":${JSON.stringify(event.type)},` +
          `"subject":${JSON.stringify(batch.stream)},"time":"${time}",` +
          `"datacontenttype":"application/json","data":${event.dataJson}` +
          (traced ? `,"traceparent":${JSON.stringify(traceparent)}` : "") +
          (traced && typeof tracestate === "string"
            ? `,"tracestate":${JSON.stringify(tracestate)}`
            : "") +
          "}";
        if (outbox.catalog !== undefined) {
          const check = outbox.catalog.checkSync(JSON.parse(cloudEvent));
          if (!check.ok) {
            throw new EventStoreError(
              "INVALID_EVENT",
              `Cannot append to "${batch.stream}" as the event ${event.id} cannot be published: ${check.reason}`,
              { data: { stream: batch.stream, id: event.id } },
            );
          }
        }
        json += `,"cloudEvent":${cloudEvent}`;
      }
      return `${json}}`;
    });
    return `[${parts.join(",")}]`;
  }

  /** Saves a subscription's checkpoint, retrying while the server is unreachable (until disposed). */
  async #saveCheckpointRetrying(name: string, position: string | undefined): Promise<void> {
    for (let failures = 1;; failures++) {
      try {
        return await this.saveCheckpoint(name, position);
      } catch (error) {
        if (
          !(error instanceof EventStoreError && error.code === "EVENTSTORE_UNAVAILABLE") ||
          this.#closing.signal.aborted
        ) {
          throw error;
        }
        await delay(Math.min(5_000, 50 * 2 ** Math.min(failures - 1, 10)), this.#closing.signal);
      }
    }
  }

  /**
   * Starts `LISTEN` on the store's channel, on a connection of its own, if
   * it is not on (again after a failure). Not awaited: until it is on,
   * subscriptions poll; once it is on — and each time postgres.js
   * re-establishes it after a reconnection — every subscription reads again.
   */
  #listen(): void {
    if (this.#closing.signal.aborted || this.#listener !== undefined) return;
    const sql = openPool(this.#url, 1);
    const wakeAll = () => {
      for (const subscription of this.#subscriptions) subscription.notify();
    };
    const ready = sql.listen(this.#channel, wakeAll, wakeAll).then(
      () => true,
      async () => {
        // postgres.js keeps a failed LISTEN: start over on a new client next time.
        if (this.#listener?.sql === sql) this.#listener = undefined;
        await sql.end();
        return false;
      },
    );
    this.#listener = { sql, ready };
  }

  #open(action: string): void {
    if (this.#closing.signal.aborted) throw storeClosed(action, KIND);
  }

  /** Runs a prepared statement; `signal` cancels it on the server. */
  async #query<T extends unknown[] = postgres.Row[]>(
    text: string,
    params: unknown[],
    action: string,
    signal?: AbortSignal,
  ): Promise<postgres.RowList<T>> {
    signal?.throwIfAborted();
    const query = this.#sql.unsafe<T>(text, params as postgres.ParameterOrJSON<never>[], {
      prepare: true,
    });
    const cancel = () => query.cancel();
    signal?.addEventListener("abort", cancel, { once: true });
    try {
      return await query;
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (this.#closing.signal.aborted) throw storeClosed(action, KIND);
      throw storeError(error, action);
    } finally {
      signal?.removeEventListener("abort", cancel);
    }
  }
}

/**
 * Ends the `LISTEN` client once its `LISTEN` has succeeded or failed (for at
 * most 5 s), and waits until it has ended. postgres.js ends the connection
 * of `sql.listen()` with `timeout: 0`, which drops one still connecting
 * half-open (its socket left to the server, its 30 s connect timer
 * running); and an outer `timeout` would return before that inner end has
 * (its timer still pending).
 */
async function endListener(listener: { sql: postgres.Sql; ready: Promise<boolean> }) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    listener.ready,
    new Promise((resolve) => timer = setTimeout(resolve, LISTENER_END_MS)),
  ]);
  clearTimeout(timer);
  await listener.sql.end();
}

function openPool(url: string, max: number): postgres.Sql {
  return postgres(url, {
    max,
    onnotice: () => {},
    connection: { application_name: "flotilla-eventstore" },
  });
}

/** The URL without its `schema` parameter (postgres.js would send it to the server as a setting). */
function splitUrl(url: unknown): { url: string; schemaParam: string | undefined } {
  if (typeof url !== "string" || !/^postgres(ql)?:\/\/./.test(url)) {
    throw new EventStoreError(
      "INVALID_EVENTSTORE_URL",
      `Cannot connect the postgres event store as 'url' must start with postgres:// or postgresql://: current value is ${
        JSON.stringify(typeof url === "string" ? url.replace(/:[^:@/]*@/, ":***@") : url) ??
          String(url)
      }`,
    );
  }
  const question = url.indexOf("?");
  if (question < 0) return { url, schemaParam: undefined };
  const params = new URLSearchParams(url.slice(question + 1));
  const schemaParam = params.get("schema") ?? undefined;
  params.delete("schema");
  const rest = params.toString();
  return { url: url.slice(0, question) + (rest === "" ? "" : `?${rest}`), schemaParam };
}

function checkOutbox(outbox: PostgresEventStoreOutbox, action: string): void {
  if (typeof outbox !== "object" || outbox === null) {
    throw invalid(action, "outbox", "{ stream, source }", outbox);
  }
  if (typeof outbox.stream !== "string" || outbox.stream === "") {
    throw invalid(action, "outbox.stream", "a non-empty string", outbox.stream);
  }
  if (typeof outbox.source !== "string" || outbox.source === "") {
    throw invalid(action, "outbox.source", "a non-empty URI reference", outbox.source);
  }
}

function statements(schema: string, channel: string, withOutbox: boolean): Statements {
  const events = `"${schema}".events`;
  const columns = "stream, id, type, data, metadata, version, position::text AS position, time";
  // The outbox rows: one per appended event, in position order (their seq order).
  const outbox = withOutbox
    ? `, published AS (
  INSERT INTO "${schema}".outbox (id, stream, aggregate, event, created_at)
  SELECT a.id, $6, $1, i.value->'cloudEvent', $7
  FROM appended a JOIN input i ON i.value->>'id' = a.id
  ORDER BY a.position
)`
    : "";
  return {
    // $1 stream, $2 batch (JSON), $3..$4 the range the stream's version must be in, $5 time,
    // [$6 bus stream, $7 created_at]. Positions: (transaction id << 16) + index (module doc).
    append: `WITH input AS (
  SELECT e.value, e.n FROM jsonb_array_elements($2::text::jsonb) WITH ORDINALITY AS e(value, n)
), current AS (
  SELECT coalesce(max(version), -1) AS version FROM ${events} WHERE stream = $1
), appended AS (
  INSERT INTO ${events} (position, transaction_id, stream, version, id, type, data, metadata, time)
  SELECT (pg_current_xact_id()::text::bigint << ${POSITION_SHIFT}) + input.n - 1,
    pg_current_xact_id(), $1, current.version + input.n::integer,
    input.value->>'id', input.value->>'type', input.value->'data', input.value->'metadata',
    $5::text::timestamptz
  FROM current, input
  WHERE current.version BETWEEN $3::integer AND $4::integer
  ORDER BY input.n
  RETURNING position, version, id
)${outbox}
SELECT max(position)::text AS position, max(version) AS version, count(*)::integer AS count,
  CASE WHEN count(*) > 0 THEN pg_notify('${channel}', max(position)::text) END IS NULL AS quiet
FROM appended`,
    diagnose: `SELECT
  (SELECT coalesce(max(version), -1) FROM ${events} WHERE stream = $1) AS current,
  coalesce((
    SELECT jsonb_agg(jsonb_build_object('id', id, 'stream', stream, 'type', type,
      'data', data::text, 'version', version, 'position', position::text))
    FROM ${events} WHERE id IN (SELECT jsonb_array_elements_text($2::text::jsonb))
  ), '[]'::jsonb) AS stored`,
    streamVersion: `SELECT coalesce(max(version), -1) AS version FROM ${events} WHERE stream = $1`,
    readForward: `SELECT ${columns} FROM ${events} WHERE stream = $1 AND version >= $2 ` +
      "ORDER BY version LIMIT $3",
    readBackward: `SELECT ${columns} FROM ${events} WHERE stream = $1 AND version <= $2 ` +
      "ORDER BY version DESC LIMIT $3",
    // Only transactions below the oldest one in flight: each of them has finished (module doc).
    readAll: `SELECT ${columns} FROM ${events} WHERE position > $1::bigint ` +
      `AND position < (pg_snapshot_xmin(pg_current_snapshot())::text::bigint << ${POSITION_SHIFT}) ` +
      "ORDER BY position LIMIT $2",
    saveSnapshot: `INSERT INTO "${schema}".snapshots AS s (stream, version, state, time) ` +
      "VALUES ($1, $2, $3::text::jsonb, now()) ON CONFLICT (stream) DO UPDATE SET " +
      "version = excluded.version, state = excluded.state, time = excluded.time " +
      "WHERE excluded.version >= s.version",
    loadSnapshot: `SELECT version, state FROM "${schema}".snapshots WHERE stream = $1`,
    loadCheckpoint: `SELECT position::text AS position FROM "${schema}".checkpoints ` +
      "WHERE name = $1",
    saveCheckpoint: `INSERT INTO "${schema}".checkpoints (name, position, time) ` +
      "VALUES ($1, $2::bigint, now()) ON CONFLICT (name) DO UPDATE SET " +
      "position = excluded.position, time = excluded.time",
    deleteCheckpoint: `DELETE FROM "${schema}".checkpoints WHERE name = $1`,
  };
}

/** The range the stream's current version must be in for the append to happen. */
function versionBounds(expected: ExpectedVersion): [number, number] {
  if (expected === "any") return [-1, MAX_VERSION];
  if (expected === "no_stream") return [-1, -1];
  if (expected === "stream_exists") return [0, MAX_VERSION];
  // Past the largest version: no stream can be there, so the check fails (and says where it is).
  return expected >= MAX_VERSION ? [MAX_VERSION, MAX_VERSION - 1] : [expected, expected];
}

function toRecorded(row: EventRow): RecordedEvent {
  return {
    stream: row.stream,
    id: row.id,
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    version: row.version,
    position: row.position,
    time: row.time.toISOString(),
  };
}

/** A race worth diagnosing: a unique violation (a version or an id), a deadlock between batches. */
function isRace(error: unknown): boolean {
  return error instanceof postgres.PostgresError &&
    (error.code === "23505" || error.code === "40P01" || error.code === "40001");
}

/**
 * Connection trouble becomes a retryable `EVENTSTORE_UNAVAILABLE`, text
 * PostgreSQL cannot store (`\u0000` in JSON) `INVALID_EVENT`; anything else
 * passes through as it is.
 */
function storeError(error: unknown, action: string): unknown {
  if (error instanceof EventStoreError || error instanceof RangeError) return error;
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== "string") return error;
  if (
    /^(08|53|57P0)/.test(code) ||
    /^(ECONN|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|CONNECT_|CONNECTION_)/.test(code)
  ) {
    return new EventStoreError(
      "EVENTSTORE_UNAVAILABLE",
      `Cannot ${action} as PostgreSQL is unavailable (${code}: ${(error as Error).message})`,
      { cause: error },
    );
  }
  if (code === "22P05" || code === "22021") {
    return new EventStoreError("INVALID_EVENT", `Cannot ${action}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return error;
}

/** Waits `ms`, or less when `signal` aborts. */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
