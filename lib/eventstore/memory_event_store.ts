/**
 * The event store in memory, for tests and single-process tools.
 *
 * @module
 */

import { type Clock, systemClock } from "@flotilla/core";
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
  storeClosed,
} from "./_append.ts";
import { type AllSubscriptionLoop, startAllSubscription } from "./_all_subscription.ts";

/** Options of {@link MemoryEventStore}. */
export interface MemoryEventStoreOptions {
  /** The source of the events' `time`. @default {systemClock} */
  clock?: Clock;
}

interface Stored {
  readonly stream: string;
  readonly id: string;
  readonly type: string;
  readonly dataJson: string;
  readonly metadataJson: string | null;
  readonly version: number;
  readonly position: string;
  readonly index: number;
  readonly time: string;
}

/**
 * An {@link EventStore} in the memory of one process: the whole port, with
 * the same rules as the durable adapters (it passes the same conformance
 * suite), and nothing kept once the process ends. Events are stored as JSON
 * text, so what is read back is a fresh copy, as from a database.
 *
 * Positions are `"1"`, `"2"`… in append order. Subscriptions are woken by
 * each append (no polling).
 *
 * @example
 * ```ts
 * import { MemoryEventStore } from "@flotilla/eventstore";
 *
 * await using store = new MemoryEventStore();
 * await store.append("order-1", [
 *   { id: crypto.randomUUID(), type: "OrderPlaced", data: { total: 12 } },
 * ], { expectedVersion: "no_stream" });
 * const events = await store.readStream("order-1");
 * ```
 */
export class MemoryEventStore implements EventStore {
  /** Always `memory`. */
  readonly kind = "memory";
  readonly #clock: Clock;
  readonly #all: Stored[] = [];
  readonly #streams = new Map<string, Stored[]>();
  readonly #byId = new Map<string, Stored>();
  readonly #snapshots = new Map<string, { version: number; stateJson: string }>();
  readonly #checkpoints = new Map<string, string>();
  readonly #subscriptions = new Set<AllSubscriptionLoop>();
  #closed = false;

  /** Creates an empty store. */
  constructor(options: MemoryEventStoreOptions = {}) {
    this.#clock = options.clock ?? systemClock;
  }

  /** Appends `events` to `stream` (see {@link EventStore.append}). */
  append(
    stream: string,
    events: readonly NewEvent[],
    options: AppendOptions,
  ): Promise<AppendResult> {
    return this.#sync("append to the stream", options?.signal, () => {
      const batch = prepareAppend(stream, events, options);
      const verdict = checkStored(batch, batch.events.map((e) => this.#byId.get(e.id)));
      if (verdict.type === "retry") {
        return { nextExpectedVersion: verdict.version, position: verdict.position, written: false };
      }
      const list = this.#streams.get(stream) ?? [];
      assertExpectedVersion(stream, batch.expectedVersion, list.length - 1);
      const time = new Date(this.#clock.now()).toISOString();
      for (const event of batch.events) {
        const stored: Stored = {
          stream,
          id: event.id,
          type: event.type,
          dataJson: event.dataJson,
          metadataJson: event.metadataJson,
          version: list.length,
          position: String(this.#all.length + 1),
          index: this.#all.length,
          time,
        };
        list.push(stored);
        this.#all.push(stored);
        this.#byId.set(stored.id, stored);
      }
      this.#streams.set(stream, list);
      for (const subscription of this.#subscriptions) subscription.notify();
      const last = list[list.length - 1]!;
      return { nextExpectedVersion: last.version, position: last.position, written: true };
    });
  }

  /** Events of one stream (see {@link EventStore.readStream}). */
  readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    return this.#sync("read the stream", options.signal, () => {
      const action = "read the stream";
      checkStream(stream, action);
      const direction = options.direction ?? "forward";
      if (direction !== "forward" && direction !== "backward") {
        throw invalid(action, "direction", `"forward" or "backward"`, direction);
      }
      const from = checkVersion(options.fromVersion, action, "fromVersion");
      const limit = checkPositive(options.limit, Number.MAX_SAFE_INTEGER, action, "limit");
      const list = this.#streams.get(stream) ?? [];
      const picked = direction === "forward"
        ? list.slice(from ?? 0, (from ?? 0) + limit)
        : list.slice(0, from === undefined ? list.length : from + 1).reverse().slice(0, limit);
      return picked.map(toRecorded);
    });
  }

  /** The version of the stream's last event, or −1. */
  streamVersion(stream: string, options: { signal?: AbortSignal } = {}): Promise<number> {
    return this.#sync("read the stream version", options.signal, () => {
      checkStream(stream, "read the stream version");
      return (this.#streams.get(stream)?.length ?? 0) - 1;
    });
  }

  /** Events of every stream in global order (see {@link EventStore.readAll}). */
  readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    return this.#sync("read all events", options.signal, () => {
      const { after, limit } = checkReadAll(options);
      const start = after === undefined ? 0 : Math.min(Number(after), this.#all.length);
      return this.#all.slice(start, start + limit).map(toRecorded);
    });
  }

  /** Catches up, then delivers each append as it happens (see {@link EventStore.subscribeToAll}). */
  async subscribeToAll(
    handler: AllHandler,
    options: SubscribeToAllOptions = {},
  ): Promise<AllSubscription> {
    this.#open("subscribe to all");
    const subscription = await startAllSubscription(this, handler, options, {
      pollIntervalMs: Infinity,
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
    return this.#sync("save the snapshot", options.signal, () => {
      const { version, stateJson } = checkSnapshot(stream, snapshot);
      const current = this.#snapshots.get(stream);
      if (current === undefined || current.version <= version) {
        this.#snapshots.set(stream, { version, stateJson });
      }
    });
  }

  /** The latest snapshot of `stream`. */
  loadSnapshot<S = unknown>(
    stream: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<Snapshot<S> | undefined> {
    return this.#sync("load the snapshot", options.signal, () => {
      checkStream(stream, "load the snapshot");
      const found = this.#snapshots.get(stream);
      return found === undefined
        ? undefined
        : { version: found.version, state: JSON.parse(found.stateJson) as S };
    });
  }

  /** Reads a named checkpoint. */
  loadCheckpoint(
    name: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<string | undefined> {
    return this.#sync("load the checkpoint", options.signal, () => {
      checkName(name, "load the checkpoint");
      return this.#checkpoints.get(name);
    });
  }

  /** Saves a named checkpoint; `undefined` deletes it. */
  saveCheckpoint(
    name: string,
    position: string | undefined,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    return this.#sync("save the checkpoint", options.signal, () => {
      checkName(name, "save the checkpoint");
      checkPosition(position, "save the checkpoint", "position");
      if (position === undefined) this.#checkpoints.delete(name);
      else this.#checkpoints.set(name, position);
    });
  }

  /** Ends the subscriptions (each after its batch in progress); further calls fail. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#closed = true;
    const subscriptions = [...this.#subscriptions];
    for (const subscription of subscriptions) subscription.stop();
    await Promise.all(subscriptions.map((s) => s[Symbol.asyncDispose]()));
  }

  #open(action: string): void {
    if (this.#closed) throw storeClosed(action, this.kind);
  }

  /** Runs `work` at once (atomically, as nothing else runs meanwhile) as a promise. */
  #sync<T>(action: string, signal: AbortSignal | undefined, work: () => T): Promise<T> {
    try {
      this.#open(action);
      signal?.throwIfAborted();
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

function toRecorded(stored: Stored): RecordedEvent {
  return {
    stream: stored.stream,
    id: stored.id,
    type: stored.type,
    data: JSON.parse(stored.dataJson),
    metadata: stored.metadataJson === null ? {} : JSON.parse(stored.metadataJson),
    version: stored.version,
    position: stored.position,
    time: stored.time,
  };
}
