/**
 * Loading aggregates from an event store and running commands on them with
 * optimistic concurrency, retries and snapshots.
 *
 * @module
 */

import { type Clock, systemClock } from "@flotilla/core";
import type { EventStore, NewEvent } from "./event_store.ts";
import { WrongExpectedVersionError } from "./errors.ts";
import type { Aggregate, DomainEvent } from "./aggregate.ts";
import { checkStream, invalid } from "./_append.ts";
import { newEventId } from "./new_event_id.ts";

/** Options of {@link AggregateRepository}. */
export interface AggregateRepositoryOptions<S, E extends DomainEvent, C = never> {
  /** Where the events are. */
  store: EventStore;
  /** The aggregate. */
  aggregate: Aggregate<S, E, C>;
  /** The stream of the aggregate with `id`, e.g. `(id) => \`account-${id}\``. */
  streamOf: (id: string) => string;
  /**
   * Take a snapshot each time a command makes the stream cross a multiple of
   * this many events, and load from the latest snapshot. @default {no snapshots}
   */
  snapshotEvery?: number;
  /** Times a command is decided again after losing a race. @default {3} */
  maxRetries?: number;
  /** The clock of the ids made for events without one. @default {systemClock} */
  clock?: Clock;
  /**
   * Told when a snapshot could not be saved (the command succeeded all the
   * same: a snapshot only saves reading). @default {ignore}
   */
  onSnapshotError?: (error: unknown) => void;
}

/** An aggregate as loaded. */
export interface LoadedAggregate<S> {
  /** Its state. */
  readonly state: S;
  /** The version of its last event (−1 when it has none): the expected version of the next append. */
  readonly version: number;
}

/** Options of {@link AggregateRepository.execute}. */
export interface ExecuteOptions {
  /**
   * When another writer appended first: load again, decide again and
   * append again (up to `maxRetries` times). Turn it off for a command that
   * must fail when the state it was based on has changed. @default {true}
   */
  retryOnConflict?: boolean;
  /** Metadata of every event appended (correlation, causation, `traceparent`…). */
  metadata?: Readonly<Record<string, unknown>>;
  /** Aborts loading and appending. */
  signal?: AbortSignal;
}

/** What a command did. */
export interface ExecuteResult<S, E extends DomainEvent> extends LoadedAggregate<S> {
  /**
   * The events appended, with their ids: empty when the command changed
   * nothing, or when its events were already stored (an idempotent retry).
   */
  readonly events: readonly NewEvent<E["data"]>[];
  /** The position of the last event appended, if any. */
  readonly position: string | undefined;
  /** How many times the command was decided again after losing a race. */
  readonly retries: number;
}

/** A command: a value for the aggregate's `decide`, or a function of the state. */
export type Command<S, E extends DomainEvent, C> = C | ((state: S) => readonly E[]);

const PAGE = 1_000;

/**
 * Loads aggregates from an {@link EventStore} and runs commands on them:
 * load (the latest snapshot, then the events after it), decide, append with
 * the loaded version as the expected version, and on a
 * {@link WrongExpectedVersionError} load and decide again (up to
 * `maxRetries` times, unless the command says not to).
 *
 * @example
 * ```ts
 * import { AggregateRepository, MemoryEventStore } from "@flotilla/eventstore";
 * import { account } from "./account.ts";
 *
 * const accounts = new AggregateRepository({
 *   store: new MemoryEventStore(),
 *   aggregate: account,
 *   streamOf: (id) => `account-${id}`,
 *   snapshotEvery: 100,
 * });
 * await accounts.execute("a-1", { type: "deposit", amount: 10 });
 * const { state, version } = await accounts.load("a-1"); // { balance: 10 }, 0
 * ```
 */
export class AggregateRepository<S, E extends DomainEvent, C = never> {
  readonly #store: EventStore;
  readonly #aggregate: Aggregate<S, E, C>;
  readonly #streamOf: (id: string) => string;
  readonly #snapshotEvery: number | undefined;
  readonly #maxRetries: number;
  readonly #clock: Clock;
  readonly #onSnapshotError: (error: unknown) => void;
  readonly #revision: number;
  readonly #encode: (state: S) => unknown;
  readonly #decode: (json: unknown) => S;

  /**
   * Creates a repository.
   *
   * @throws {RangeError} when an option is invalid.
   */
  constructor(options: AggregateRepositoryOptions<S, E, C>) {
    const action = "create the aggregate repository";
    if (typeof options?.store?.append !== "function") {
      throw invalid(action, "store", "an EventStore", typeof options?.store);
    }
    if (typeof options.aggregate?.fold !== "function") {
      throw invalid(
        action,
        "aggregate",
        "an aggregate from defineAggregate()",
        typeof options.aggregate,
      );
    }
    if (typeof options.streamOf !== "function") {
      throw invalid(action, "streamOf", "a function", typeof options.streamOf);
    }
    const every = options.snapshotEvery;
    if (every !== undefined && !(Number.isSafeInteger(every) && every > 0)) {
      throw invalid(action, "snapshotEvery", "a positive integer", every);
    }
    const maxRetries = options.maxRetries ?? 3;
    if (!(Number.isSafeInteger(maxRetries) && maxRetries >= 0)) {
      throw invalid(action, "maxRetries", "a non-negative integer", maxRetries);
    }
    this.#store = options.store;
    this.#aggregate = options.aggregate;
    this.#streamOf = options.streamOf;
    this.#snapshotEvery = every;
    this.#maxRetries = maxRetries;
    this.#clock = options.clock ?? systemClock;
    this.#onSnapshotError = options.onSnapshotError ?? (() => {});
    const snapshot = options.aggregate.snapshot;
    this.#revision = snapshot?.revision ?? 1;
    this.#encode = snapshot?.encode ?? ((state) => state);
    this.#decode = snapshot?.decode ?? ((json) => json as S);
  }

  /**
   * The aggregate `id`: its state and version, from its latest snapshot
   * (when `snapshotEvery` is set and the snapshot is of the current
   * revision) and the events after it. An aggregate without events is at
   * the initial state and version −1.
   */
  async load(id: string, options: { signal?: AbortSignal } = {}): Promise<LoadedAggregate<S>> {
    const stream = this.#stream(id);
    let state = this.#aggregate.initial;
    let version = -1;
    if (this.#snapshotEvery !== undefined) {
      const snapshot = await this.#store.loadSnapshot<{ revision: number; state: unknown }>(
        stream,
        options,
      );
      if (snapshot !== undefined && snapshot.state?.revision === this.#revision) {
        state = this.#decode(snapshot.state.state);
        version = snapshot.version;
      }
    }
    for (;;) {
      const page = await this.#store.readStream(stream, {
        fromVersion: version + 1,
        limit: PAGE,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      for (const event of page) {
        if (event.version !== version + 1) {
          throw new RangeError(
            `Cannot load the aggregate as its stream "${stream}" jumps from version ${version} to ${event.version}`,
          );
        }
        state = this.#aggregate.evolve(state, event as unknown as E);
        version = event.version;
      }
      if (page.length < PAGE) break;
    }
    return { state, version };
  }

  /**
   * Runs `command` on the aggregate `id`: loads it, decides (with the
   * aggregate's `decide`, or `command` itself when it is a function of the
   * state), appends the events with the loaded version as the expected
   * version, and takes a snapshot when one is due. A command that decides no
   * event appends nothing. A domain error thrown by the decision propagates
   * and nothing is appended.
   *
   * Idempotency: events the decision gives an `id` are appended once — a
   * command decided again with the same ids after it succeeded is a no-op
   * (the store's idempotent append), and the result is the reloaded state.
   *
   * @throws {WrongExpectedVersionError} when another writer appended first
   * and retrying is off or `maxRetries` retries lost their races too.
   */
  async execute(
    id: string,
    command: Command<S, E, C>,
    options: ExecuteOptions = {},
  ): Promise<ExecuteResult<S, E>> {
    const stream = this.#stream(id);
    const decide = typeof command === "function"
      ? command as (state: S) => readonly E[]
      : (state: S) => {
        const decider = this.#aggregate.decide;
        if (decider === undefined) {
          throw invalid(
            "execute the command",
            "command",
            "a function of the state (the aggregate has no 'decide')",
            command,
          );
        }
        return decider(command as C, state);
      };
    const retryOnConflict = options.retryOnConflict ?? true;
    const signal = options.signal === undefined ? {} : { signal: options.signal };
    for (let retries = 0;; retries++) {
      const loaded = await this.load(id, signal);
      const decided = decide(loaded.state);
      if (!Array.isArray(decided)) {
        throw invalid("execute the command", "decision", "an array of events", decided);
      }
      if (decided.length === 0) return { ...loaded, events: [], position: undefined, retries };
      const events: NewEvent<E["data"]>[] = decided.map((event) => ({
        id: event.id ?? newEventId(this.#clock),
        type: event.type,
        data: event.data,
        ...(options.metadata === undefined && event.metadata === undefined
          ? {}
          : { metadata: { ...options.metadata, ...event.metadata } }),
      }));
      let result;
      try {
        result = await this.#store.append(stream, events, {
          expectedVersion: loaded.version,
          ...signal,
        });
      } catch (error) {
        if (
          error instanceof WrongExpectedVersionError && retryOnConflict &&
          retries < this.#maxRetries
        ) {
          continue;
        }
        throw error;
      }
      if (!result.written) {
        // Decided before, with the same ids: what is stored is the truth.
        return { ...(await this.load(id, signal)), events: [], position: result.position, retries };
      }
      const state = this.#aggregate.fold(decided, loaded.state);
      const version = result.nextExpectedVersion;
      await this.#snapshotIfDue(stream, loaded.version, version, state);
      return { state, version, events, position: result.position, retries };
    }
  }

  async #snapshotIfDue(stream: string, from: number, to: number, state: S): Promise<void> {
    const every = this.#snapshotEvery;
    if (every === undefined || Math.floor((to + 1) / every) <= Math.floor((from + 1) / every)) {
      return;
    }
    try {
      await this.#store.saveSnapshot(stream, {
        version: to,
        state: { revision: this.#revision, state: this.#encode(state) },
      });
    } catch (error) {
      this.#onSnapshotError(error);
    }
  }

  #stream(id: string): string {
    const stream = this.#streamOf(id);
    checkStream(stream, "find the aggregate's stream");
    return stream;
  }
}
