/**
 * The embedded default bus: processes on one machine share one SQLite file,
 * with no server.
 *
 * @module
 */

import { dirname } from "node:path";
import { mkdirSync } from "node:fs";
import { type Clock, DeadlineExceededError, systemClock } from "@flotilla/core";
import type {
  Bus,
  DeadLetter,
  Delivery,
  DeliveryHandler,
  PublishOptions,
  PublishReceipt,
  SubscribeOptions,
  Subscription,
} from "./bus.ts";
import type { CloudEvent } from "./cloud_event.ts";
import { BusError } from "./errors.ts";
import {
  backoffDelay,
  busClosed,
  checkEvents,
  checkLimit,
  checkStream,
  parseSequence,
  type ResolvedSubscribeOptions,
  resolveSubscribeOptions,
} from "./_core_options.ts";
import { runHandler } from "./_core_outcome.ts";
import { type Claimed, type DeliveryResult, SqliteStore } from "./_sqlite_store.ts";

/** Options of {@link SqliteBus}. */
export interface SqliteBusOptions {
  /**
   * The database file (its folder is created if missing). Every process that
   * shares the bus opens the same file and must be able to read and write it
   * and its `-wal` and `-shm` companions.
   */
  path: string;
  /** The source of time of ack waits, backoff and dead letters' `at`. @default {systemClock} */
  clock?: Clock;
  /**
   * How often an idle consumer looks for work, in milliseconds. A consumer
   * with work claims again as soon as a handler finishes. @default {50}
   */
  pollIntervalMs?: number;
  /**
   * The most unfinished events (in flight, backing off, or parked behind an
   * earlier event of their subject) a group may have: past it, its
   * consumers take no new events until some are done. Bounds the work of
   * each claim; raise it above the group's total concurrency. @default {1_000}
   */
  maxPending?: number;
  /** How long a transaction waits for another process's write lock, in milliseconds. @default {5_000} */
  busyTimeoutMs?: number;
  /**
   * Told when a consumer's claim fails (`BUS_UNAVAILABLE`, e.g. the file
   * stayed locked past the busy timeout); it tries again at its next poll.
   * @default {ignore}
   */
  onError?: (error: BusError) => void;
}

/**
 * A {@link Bus} in one SQLite file (WAL mode) shared by the processes of one
 * machine: durable streams, consumer groups, redelivery and dead letters,
 * with no server.
 *
 * How it works: `publish()` appends a batch in one transaction (the event's
 * id is unique per stream: publishing it again stores nothing and reports
 * `duplicate: true`). Each subscription polls (every `pollIntervalMs` when
 * idle, at once when a handler finishes) and claims work in one
 * `BEGIN IMMEDIATE` transaction that also records its finished deliveries:
 * up to `concurrency − in flight` events of its group that are due (backoff
 * over, ack wait expired) or new (past the group's cursor), each assigned to
 * it with `deliver_after = now + ackWaitMs` and one more attempt. An ack
 * deletes the pending row; a failure sets `deliver_after = now + backoff`,
 * or dead-letters the event once `maxDeliver` deliveries failed (at once for
 * a {@link PoisonMessageError}). A process killed mid-delivery leaves its
 * rows behind; other consumers of the group take them once the ack wait is
 * over. A late ack from a delivery whose ack wait ran out is ignored (the
 * row names the consumer and attempt it belongs to).
 *
 * Guarantees: at-least-once delivery per group. Ordering: a group never
 * hands out an event while an earlier event with the same `subject` is
 * pending in it (in flight, backing off or waiting), so each subject's
 * events are handled one at a time and in stream order, across competing
 * consumers and processes, retries included. Events without a subject go
 * out in stream order as consumers have room; with one consumer and
 * `concurrency: 1` the whole stream is handled in order, except that a
 * failed event without a subject is retried after later ones. These hold
 * while handlers finish within their ack wait: a delivery whose ack wait
 * ran out is handed out again even though its first handler may still run.
 *
 * Processes take turns at the file's write lock; the bus waits for it
 * itself (from 20 µs, doubling to 2 ms, up to `busyTimeoutMs`) rather than
 * through SQLite's busy handler, whose first wait is a whole millisecond.
 *
 * A group holds at most `maxPending` unfinished events (1,000 by default);
 * past that its consumers take no new events until some are done.
 *
 * Streams are kept whole (no retention yet); positions are each stream's
 * sequence numbers, `"1"`, `"2"`…
 *
 * @example
 * ```ts
 * import { createEvent, SqliteBus } from "@flotilla/bus";
 *
 * await using bus = new SqliteBus({ path: ".flotilla/bus/bus.db" });
 * await using _sub = await bus.subscribe("shop.order", async ({ event, attempt }) => {
 *   console.log(event.type, event.subject, attempt);
 * }, { group: "billing", ackWaitMs: 10_000, maxDeliver: 5 });
 * await bus.publish("shop.order", [
 *   createEvent("order.created", { orderId: "o-1" }, { source: "/shop/order", subject: "o-1" }),
 * ]);
 * ```
 */
export class SqliteBus implements Bus {
  /** Always `sqlite`. */
  readonly kind = "sqlite";
  /** The database file. */
  readonly path: string;
  #store: SqliteStore;
  #clock: Clock;
  #pollIntervalMs: number;
  #onError: ((error: BusError) => void) | undefined;
  #subscriptions = new Set<SqliteSubscription>();
  #closed = false;

  /**
   * Opens (creating if needed) the bus at `options.path`.
   *
   * @throws {RangeError} when an option is invalid.
   * @throws {BusError} `BUS_UNAVAILABLE` when the database cannot be opened.
   */
  constructor(options: SqliteBusOptions) {
    const { path } = options;
    if (typeof path !== "string" || path === "") {
      throw new RangeError(
        `Cannot open the sqlite bus as 'path' must be a non-empty path: current value is ${
          JSON.stringify(path)
        }`,
      );
    }
    const pollIntervalMs = options.pollIntervalMs ?? 50;
    if (!(Number.isFinite(pollIntervalMs) && pollIntervalMs > 0)) {
      throw new RangeError(
        `Cannot open the sqlite bus as 'pollIntervalMs' must be a positive number: current value is ${pollIntervalMs}`,
      );
    }
    const busyTimeoutMs = options.busyTimeoutMs ?? 5_000;
    if (!(Number.isSafeInteger(busyTimeoutMs) && busyTimeoutMs >= 0)) {
      throw new RangeError(
        `Cannot open the sqlite bus as 'busyTimeoutMs' must be a non-negative integer: current value is ${busyTimeoutMs}`,
      );
    }
    const maxPending = options.maxPending ?? 1_000;
    if (!(Number.isSafeInteger(maxPending) && maxPending > 0)) {
      throw new RangeError(
        `Cannot open the sqlite bus as 'maxPending' must be a positive integer: current value is ${maxPending}`,
      );
    }
    this.path = path;
    try {
      if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
      this.#store = new SqliteStore(path, busyTimeoutMs, maxPending);
    } catch (error) {
      throw new BusError("BUS_UNAVAILABLE", `Cannot open the sqlite bus at ${path}`, {
        cause: error,
        data: { path },
      });
    }
    this.#clock = options.clock ?? systemClock;
    this.#pollIntervalMs = pollIntervalMs;
    this.#onError = options.onError;
  }

  /**
   * Appends `events` to `stream` in one transaction, durable once it
   * resolves (WAL, `synchronous = NORMAL`: it survives a crash of the
   * process; the last transactions may roll back on power loss).
   *
   * @throws {BusError} `INVALID_EVENT` when an event is not a CloudEvent (nothing is stored).
   * @throws {BusError} `BUS_UNAVAILABLE` when the database stayed locked or failed.
   */
  // deno-lint-ignore require-await
  async publish(
    stream: string,
    events: readonly CloudEvent[],
    options: PublishOptions = {},
  ): Promise<PublishReceipt[]> {
    options.signal?.throwIfAborted();
    checkEvents(stream, events);
    if (this.#closed) throw busClosed("publish", this.kind);
    if (events.length === 0) return [];
    const jsons = events.map((event, index) => {
      try {
        return JSON.stringify(event);
      } catch (error) {
        throw new BusError(
          "INVALID_EVENT",
          `Cannot publish to '${stream}' as event ${index} is not JSON: ${String(error)}`,
          { cause: error, data: { stream, index } },
        );
      }
    });
    try {
      return this.#store.publish(stream, events, jsons);
    } catch (error) {
      throw unavailable(`Cannot publish to '${stream}'`, error);
    }
  }

  /**
   * Joins `options.group` (creating it at `options.from` if it does not
   * exist yet) and starts polling for its events.
   *
   * @throws {RangeError} when an option is invalid.
   * @throws {BusError} `BUS_UNAVAILABLE` when the database stayed locked or failed.
   */
  // deno-lint-ignore require-await
  async subscribe(
    stream: string,
    handler: DeliveryHandler,
    options: SubscribeOptions,
  ): Promise<Subscription> {
    const resolved = resolveSubscribeOptions(stream, options);
    if (typeof handler !== "function") {
      throw new RangeError(
        `Cannot subscribe as 'handler' must be a function: current value is ${typeof handler}`,
      );
    }
    const after = resolved.from.type === "after"
      ? parseSequence(resolved.from.position, "subscribe", "from.position")
      : 0;
    resolved.signal?.throwIfAborted();
    if (this.#closed) throw busClosed("subscribe", this.kind);
    try {
      this.#store.createGroup(stream, resolved.group, resolved.from, after);
    } catch (error) {
      throw unavailable(`Cannot create the group '${resolved.group}' of '${stream}'`, error);
    }
    const subscription = new SqliteSubscription(stream, handler, resolved, {
      store: this.#store,
      clock: this.#clock,
      pollIntervalMs: this.#pollIntervalMs,
      onError: (error) => this.#onError?.(error),
      closed: (sub) => this.#subscriptions.delete(sub),
    });
    this.#subscriptions.add(subscription);
    return subscription;
  }

  /** The dead letters of `group` on `stream`, oldest first. */
  // deno-lint-ignore require-await
  async deadLetters(
    stream: string,
    group: string,
    options: { limit?: number; signal?: AbortSignal } = {},
  ): Promise<DeadLetter[]> {
    options.signal?.throwIfAborted();
    checkStream(stream, "list dead letters");
    const limit = checkLimit(options.limit, "list dead letters");
    if (this.#closed) throw busClosed("list dead letters", this.kind);
    try {
      return this.#store.deadLetters(stream, group, limit);
    } catch (error) {
      throw unavailable(`Cannot list the dead letters of '${group}' on '${stream}'`, error);
    }
  }

  /** Reads `stream` in order after `options.after` (a position), at most `options.limit` events. */
  // deno-lint-ignore require-await
  async read(
    stream: string,
    options: { after?: string; limit?: number; signal?: AbortSignal } = {},
  ): Promise<Array<{ position: string; event: CloudEvent }>> {
    options.signal?.throwIfAborted();
    checkStream(stream, "read");
    const limit = checkLimit(options.limit, "read");
    const after = options.after === undefined ? 0 : parseSequence(options.after, "read", "after");
    if (this.#closed) throw busClosed("read", this.kind);
    try {
      return this.#store.read(stream, after, limit);
    } catch (error) {
      throw unavailable(`Cannot read '${stream}'`, error);
    }
  }

  /**
   * Ends every subscription (in-flight handlers finish first and their
   * outcomes are recorded), then closes the file.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#subscriptions].map((s) => s[Symbol.asyncDispose]()));
    this.#store.close();
  }
}

interface SubscriptionContext {
  readonly store: SqliteStore;
  readonly clock: Clock;
  readonly pollIntervalMs: number;
  onError(error: BusError): void;
  closed(subscription: SqliteSubscription): void;
}

interface Active {
  readonly seq: number;
  readonly attempt: number;
  readonly controller: AbortController;
  /** When the ack wait runs out, on the bus's clock. */
  readonly deadline: number;
}

/** Yield to the event loop at least this often when there is always work (ms of wall time). */
const YIELD_EVERY_MS = 20;

class SqliteSubscription implements Subscription {
  readonly stream: string;
  readonly group: string;
  readonly closed: Promise<void>;
  /** Who claims, as the store knows it. */
  readonly consumer: string;
  readonly types: ReadonlySet<string> | undefined;
  readonly ackWaitMs: number;
  readonly maxDeliver: number;
  readonly backoffMs: readonly number[];
  #handler: DeliveryHandler;
  #concurrency: number;
  #context: SubscriptionContext;
  #inFlight = new Map<number, Active>();
  #results: DeliveryResult[] = [];
  #closing = false;
  #wake: (() => void) | undefined;
  #signal: AbortSignal | undefined;
  #onAbort = () => void this[Symbol.asyncDispose]();

  constructor(
    stream: string,
    handler: DeliveryHandler,
    options: ResolvedSubscribeOptions,
    context: SubscriptionContext,
  ) {
    this.stream = stream;
    this.group = options.group;
    this.consumer = options.consumer;
    this.types = options.types;
    this.ackWaitMs = options.ackWaitMs;
    this.maxDeliver = options.maxDeliver;
    this.backoffMs = options.backoffMs;
    this.#handler = handler;
    this.#concurrency = options.concurrency;
    this.#context = context;
    this.#signal = options.signal;
    this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
    // Starts on the next turn of the event loop: no handler runs before subscribe() resolves.
    this.closed = new Promise<void>((resolve) => setTimeout(resolve, 0)).then(() => this.#run());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      this.#signal?.removeEventListener("abort", this.#onAbort);
      const reason = new BusError("SUBSCRIPTION_CLOSED", "The subscription closed");
      for (const active of this.#inFlight.values()) active.controller.abort(reason);
      this.#wake?.();
    }
    await this.closed;
  }

  async #run(): Promise<void> {
    const { store, clock } = this.#context;
    let lastYield = performance.now();
    try {
      while (true) {
        const closing = this.#closing;
        const room = closing ? 0 : this.#concurrency - this.#inFlight.size;
        let claimed: Claimed[] = [];
        let again = false;
        const results = this.#results;
        if (results.length > 0 || (room > 0 && this.#hasWork(clock.now()))) {
          this.#results = [];
          try {
            const result = store.claim(this, results, room, clock.now());
            claimed = result.claimed;
            again = result.dropped && claimed.length < room;
          } catch (error) {
            this.#context.onError(unavailable(`Cannot claim events of '${this.stream}'`, error));
            // Keep the outcomes for the next try, unless we are leaving: then the ack wait
            // hands the deliveries to someone else.
            if (!closing) this.#results = [...results, ...this.#results];
          }
        }
        for (const item of claimed) this.#start(item);
        this.#abortExpired(clock.now());
        if (closing && this.#inFlight.size === 0 && this.#results.length === 0) return;
        if (this.#results.length > 0 || again) {
          if (performance.now() - lastYield > YIELD_EVERY_MS) {
            await new Promise((resolve) => setTimeout(resolve, 0));
            lastYield = performance.now();
          }
          continue;
        }
        await this.#sleep();
        lastYield = performance.now();
      }
    } finally {
      this.#context.closed(this);
    }
  }

  #hasWork(now: number): boolean {
    try {
      return this.#context.store.hasWork(this.stream, this.group, now);
    } catch (error) {
      this.#context.onError(unavailable(`Cannot poll '${this.stream}'`, error));
      return false;
    }
  }

  /** Waits for a handler to finish, the subscription to close, or the poll interval. */
  #sleep(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.#context.pollIntervalMs);
      const wake = () => done();
      this.#wake = wake;
      function done() {
        clearTimeout(timer);
        resolve();
      }
    }).finally(() => (this.#wake = undefined));
  }

  #start(item: Claimed): void {
    const active: Active = {
      seq: item.seq,
      attempt: item.attempt,
      controller: new AbortController(),
      deadline: this.#context.clock.now() + this.ackWaitMs,
    };
    this.#inFlight.set(item.seq, active);
    const delivery: Delivery = {
      event: item.event,
      stream: this.stream,
      position: String(item.seq),
      attempt: item.attempt,
      signal: active.controller.signal,
    };
    void runHandler(this.#handler, delivery).then((outcome) => {
      this.#inFlight.delete(item.seq);
      const { seq, attempt } = active;
      if (outcome.type === "ack") {
        this.#results.push({ type: "ack", seq, attempt });
      } else if (this.#closing && active.controller.signal.aborted && !outcome.poison) {
        // Stopped by the subscription's end, not failed: back to the group at once.
        this.#results.push({ type: "release", seq, attempt, reason: outcome.reason });
      } else {
        this.#results.push({
          type: "fail",
          seq,
          attempt,
          reason: outcome.reason,
          poison: outcome.poison,
          backoffMs: backoffDelay(this.backoffMs, attempt),
        });
      }
      this.#wake?.();
    });
  }

  #abortExpired(now: number): void {
    for (const active of this.#inFlight.values()) {
      if (now >= active.deadline && !active.controller.signal.aborted) {
        active.controller.abort(
          new DeadlineExceededError(`The ack wait of ${this.ackWaitMs} ms ran out`),
        );
      }
    }
  }
}

function unavailable(message: string, error: unknown): BusError {
  if (error instanceof BusError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new BusError("BUS_UNAVAILABLE", `${message}: ${detail}`, { cause: error });
}
