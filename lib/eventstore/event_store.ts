/**
 * The port every event store adapter implements (SQLite, PostgreSQL).
 *
 * Model: streams of events, one per aggregate (`order-<id>`). Each event has
 * a **version** in its stream (0, 1, 2… with no gap) and a **position** in the
 * store's global order (increasing, adapter-specific, compared as decimal
 * integers). Appends are atomic and guarded by an expected version
 * (optimistic concurrency), and idempotent by event id.
 *
 * @module
 */

/**
 * What an append expects of the stream:
 * - `"any"`: no check;
 * - `"no_stream"`: the stream must not exist (it has no event);
 * - `"stream_exists"`: the stream must have at least one event;
 * - a number: the version of the stream's last event (−1 is the same as `"no_stream"`).
 */
export type ExpectedVersion = "any" | "no_stream" | "stream_exists" | number;

/** An event to append. */
export interface NewEvent<T = unknown> {
  /** Unique id (a UUID); appending the same id again is a no-op, not a duplicate. */
  readonly id: string;
  /** Event type, e.g. `OrderPlaced`. */
  readonly type: string;
  /** Payload, JSON-serialisable. */
  readonly data: T;
  /** Free-form metadata (correlation and causation ids, `traceparent`…). */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** An event as stored. */
export interface RecordedEvent<T = unknown> {
  /** Its stream. */
  readonly stream: string;
  /** Its id. */
  readonly id: string;
  /** Its type. */
  readonly type: string;
  /** Its payload. */
  readonly data: T;
  /** Its metadata (`{}` when none). */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** Its version in the stream, from 0. */
  readonly version: number;
  /** Its position in the store's global order, a decimal integer string. */
  readonly position: string;
  /** When it was appended, RFC 3339. */
  readonly time: string;
}

/** Options of {@link EventStore.append}. */
export interface AppendOptions {
  /** What the stream must look like for the append to happen. */
  expectedVersion: ExpectedVersion;
  /** Aborts the append (before it commits). */
  signal?: AbortSignal;
}

/** What an append did. */
export interface AppendResult {
  /** The version of the stream's last event after the append: the next append's `expectedVersion`. */
  readonly nextExpectedVersion: number;
  /** The global position of the last event appended (or already present). */
  readonly position: string;
  /** False when every event was already there (an idempotent retry): nothing was written. */
  readonly written: boolean;
}

/** Options of {@link EventStore.readStream}. */
export interface ReadStreamOptions {
  /** `forward` (oldest first) or `backward` (newest first). @default {"forward"} */
  direction?: "forward" | "backward";
  /** Start at this version (inclusive): forward from it, or backward from it. @default {the first (forward) or last (backward)} */
  fromVersion?: number;
  /** At most this many events. @default {no limit} */
  limit?: number;
  /** Aborts the read. */
  signal?: AbortSignal;
}

/** Options of {@link EventStore.readAll}. */
export interface ReadAllOptions {
  /** Events strictly after this global position. @default {from the start} */
  after?: string;
  /** At most this many events. @default {1000} */
  limit?: number;
  /** Aborts the read. */
  signal?: AbortSignal;
}

/** Handles a batch of events of a subscription to all, in global order. */
export type AllHandler = (events: readonly RecordedEvent[]) => void | Promise<void>;

/** Options of {@link EventStore.subscribeToAll}. */
export interface SubscribeToAllOptions {
  /**
   * Name of the durable checkpoint: the subscription resumes after the last
   * position its handler completed (saved after each batch). Without a name,
   * it starts from `after` and keeps no checkpoint.
   */
  checkpoint?: string;
  /** Where to start when there is no checkpoint yet. @default {from the start} */
  after?: string;
  /** Most events handed to the handler at once. @default {500} */
  batchSize?: number;
  /** Ends the subscription. */
  signal?: AbortSignal;
}

/** A running subscription. Dispose it to stop (the batch in progress finishes first). */
export interface AllSubscription extends AsyncDisposable {
  /** The position of the last event handled. */
  readonly position: string | undefined;
  /** Resolves when it has caught up with the store once (then it is live). */
  readonly caughtUp: Promise<void>;
  /** Resolves once it has stopped; rejects if the handler threw (the checkpoint stays before that batch). */
  readonly closed: Promise<void>;
}

/** A snapshot of a stream's folded state at a version. */
export interface Snapshot<S = unknown> {
  /** The version of the last event folded into `state`. */
  readonly version: number;
  /** The state. */
  readonly state: S;
}

/** An event store. */
export interface EventStore extends AsyncDisposable {
  /** The adapter: `memory`, `sqlite`, `postgres`. */
  readonly kind: string;
  /**
   * Appends `events` to `stream` atomically if the stream matches
   * `expectedVersion`. Events whose ids are already in the stream are
   * skipped: a retry of the same batch is a no-op (`written: false`).
   *
   * @throws {WrongExpectedVersionError} (with the actual version) when
   * another writer got there first.
   * @throws {EventStoreError} `IDEMPOTENCY_CONFLICT` when an id is already
   * stored with a different type or payload.
   */
  append(
    stream: string,
    events: readonly NewEvent[],
    options: AppendOptions,
  ): Promise<AppendResult>;
  /** Events of one stream, in version order (or reverse). An unknown stream reads as empty. */
  readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** The version of the stream's last event, or −1 when it has none. */
  streamVersion(stream: string, options?: { signal?: AbortSignal }): Promise<number>;
  /**
   * Events of every stream in global order. Never skips an event that
   * commits later with a lower position: it stops before any such gap.
   */
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  /** Catches up from the checkpoint, then delivers new events as they are appended. */
  subscribeToAll(handler: AllHandler, options?: SubscribeToAllOptions): Promise<AllSubscription>;
  /** Saves a snapshot of `stream` (replacing an older one). */
  saveSnapshot(
    stream: string,
    snapshot: Snapshot,
    options?: { signal?: AbortSignal },
  ): Promise<void>;
  /** The latest snapshot of `stream`, if any. */
  loadSnapshot<S = unknown>(
    stream: string,
    options?: { signal?: AbortSignal },
  ): Promise<Snapshot<S> | undefined>;
  /** Reads a named checkpoint (e.g. a projection's). */
  loadCheckpoint(name: string, options?: { signal?: AbortSignal }): Promise<string | undefined>;
  /** Saves a named checkpoint; `undefined` deletes it (a rebuild from zero). */
  saveCheckpoint(
    name: string,
    position: string | undefined,
    options?: { signal?: AbortSignal },
  ): Promise<void>;
}
