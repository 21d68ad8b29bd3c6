/**
 * The in-process bus, for unit tests and single-process apps.
 *
 * @module
 */

import { type Clock, DeadlineExceededError, systemClock } from "@flotilla/core";
import { systemTimers, type Timers } from "@flotilla/resilience";
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
import { ackWaitReason, type Outcome, runHandler } from "./_core_outcome.ts";

/** Options of {@link MemoryBus}. */
export interface MemoryBusOptions {
  /**
   * Schedules ack waits and backoff; pass a `ManualTimers` to move time by
   * hand in tests. @default {systemTimers}
   */
  timers?: Timers;
  /**
   * The source of time of dead letters' `at`.
   * @default {`timers` when it is also a clock (a `ManualTimers`), else systemClock}
   */
  clock?: Clock;
}

/**
 * The most unfinished events a group holds (in flight, backing off, parked
 * behind an earlier event of their subject); past it the group takes no new
 * events until some are done, so a hot subject cannot park a whole backlog.
 */
const MAX_PENDING = 1_000;

interface StoredEvent {
  readonly seq: number;
  readonly type: string;
  readonly subject: string | undefined;
  /** The event as JSON, so that deliveries never share objects with the publisher. */
  readonly json: string;
}

interface MemoryStream {
  readonly events: StoredEvent[];
  readonly ids: Map<string, number>;
  readonly groups: Map<string, MemoryGroup>;
}

/** An event of a group past its cursor that is not yet acknowledged. */
interface Entry {
  readonly stored: StoredEvent;
  attempts: number;
  /** `due`: may be handed out; `waiting`: backing off; `inflight`: with a consumer. */
  state: "due" | "waiting" | "inflight";
  delivery: ActiveDelivery | undefined;
  backoffTimer: number | undefined;
  lastError: string | undefined;
}

interface ActiveDelivery {
  readonly entry: Entry;
  readonly consumer: MemorySubscription;
  readonly controller: AbortController;
  ackTimer: number | undefined;
  done: Promise<void>;
}

interface MemoryGroup {
  readonly name: string;
  readonly streamName: string;
  readonly stream: MemoryStream;
  /** The sequence number of the last event moved into `pending` (or skipped). */
  cursor: number;
  /** In stream order: entries are added as the cursor moves. */
  readonly pending: Map<number, Entry>;
  readonly consumers: MemorySubscription[];
  readonly deadLetters: DeadLetter[];
  nextConsumer: number;
  pumping: boolean;
  again: boolean;
}

/**
 * A {@link Bus} in one process's memory: streams, durable consumer groups
 * (they outlive their subscriptions, not the bus), competing consumers,
 * ack wait, backoff, dead letters, replay and id dedupe — everything the
 * port promises except surviving the process.
 *
 * Events are stored as JSON, so a handler sees what a real broker would
 * hand it (no shared objects, no `Date`s). Ack waits and backoff run on
 * `timers`; with a `ManualTimers` nothing is redelivered until the test
 * advances time.
 *
 * Ordering: within a group, an event is not handed out while an earlier
 * event with the same `subject` is unacknowledged (in flight, backing off
 * or waiting), so each subject's events are handled one at a time, in
 * stream order, across competing consumers. Events without a subject are
 * handed out in stream order as consumers have room; a retried event may
 * then be overtaken by later ones. This holds while handlers finish within
 * their ack wait. A group holds at most 1,000 unfinished
 * events; past that it takes no new ones until some are done.
 *
 * @example
 * ```ts
 * import { createEvent, MemoryBus } from "@flotilla/bus";
 *
 * await using bus = new MemoryBus();
 * await using _sub = await bus.subscribe("shop.order", ({ event }) => {
 *   console.log(event.type, event.data);
 * }, { group: "billing" });
 * await bus.publish("shop.order", [
 *   createEvent("order.created", { orderId: "o-1" }, { source: "/shop/order", subject: "o-1" }),
 * ]);
 * ```
 */
export class MemoryBus implements Bus {
  /** Always `memory`. */
  readonly kind = "memory";
  #timers: Timers;
  #clock: Clock;
  #streams = new Map<string, MemoryStream>();
  #subscriptions = new Set<MemorySubscription>();
  #closed = false;

  /** Creates an empty bus. */
  constructor(options: MemoryBusOptions = {}) {
    this.#timers = options.timers ?? systemTimers;
    this.#clock = options.clock ??
      (typeof (this.#timers as Partial<Clock>).now === "function"
        ? this.#timers as unknown as Clock
        : systemClock);
  }

  /**
   * Appends `events` to `stream`; an id already in the stream is not stored
   * again (`duplicate: true`, with the first one's position). Positions are
   * the stream's sequence numbers, `"1"`, `"2"`…
   *
   * @throws {BusError} `INVALID_EVENT` when an event is not a CloudEvent (nothing is stored).
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
    const state = this.#stream(stream);
    const receipts = events.map((event, index): PublishReceipt => {
      const known = state.ids.get(event.id);
      if (known !== undefined) return { id: event.id, position: String(known), duplicate: true };
      const seq = state.events.length + 1;
      state.events.push({ seq, type: event.type, subject: event.subject, json: jsons[index]! });
      state.ids.set(event.id, seq);
      return { id: event.id, position: String(seq), duplicate: false };
    });
    for (const group of state.groups.values()) this.#pump(group);
    return receipts;
  }

  /**
   * Joins `options.group` (creating it at `options.from` if it does not
   * exist yet) and starts handing it events.
   *
   * @throws {RangeError} when an option is invalid.
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
    resolved.signal?.throwIfAborted();
    if (this.#closed) throw busClosed("subscribe", this.kind);
    const state = this.#stream(stream);
    let group = state.groups.get(resolved.group);
    if (group === undefined) {
      const from = resolved.from;
      const cursor = from.type === "all"
        ? 0
        : from.type === "new"
        ? state.events.length
        : parseSequence(from.position, "subscribe", "from.position");
      group = {
        name: resolved.group,
        streamName: stream,
        stream: state,
        cursor,
        pending: new Map(),
        consumers: [],
        deadLetters: [],
        nextConsumer: 0,
        pumping: false,
        again: false,
      };
      state.groups.set(resolved.group, group);
    }
    const subscription = new MemorySubscription(group, handler, resolved, {
      start: (entry, consumer) => this.#start(entry, consumer),
      closed: (consumer) => {
        this.#subscriptions.delete(consumer);
        const index = consumer.groupState.consumers.indexOf(consumer);
        if (index >= 0) consumer.groupState.consumers.splice(index, 1);
        this.#pump(consumer.groupState);
      },
    });
    group.consumers.push(subscription);
    this.#subscriptions.add(subscription);
    // A microtask later, so that the caller has its subscription before a handler runs.
    queueMicrotask(() => this.#pump(group!));
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
    return (this.#streams.get(stream)?.groups.get(group)?.deadLetters ?? []).slice(0, limit);
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
    const events = this.#streams.get(stream)?.events ?? [];
    return events.slice(after, after + Math.min(limit, events.length)).map((stored) => ({
      position: String(stored.seq),
      event: JSON.parse(stored.json) as CloudEvent,
    }));
  }

  /** Ends every subscription (in-flight handlers finish first) and cancels pending timers. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#closed) return;
    await Promise.all([...this.#subscriptions].map((s) => s[Symbol.asyncDispose]()));
    this.#closed = true;
    for (const state of this.#streams.values()) {
      for (const group of state.groups.values()) {
        for (const entry of group.pending.values()) this.#clearBackoff(entry);
      }
    }
  }

  #stream(name: string): MemoryStream {
    let state = this.#streams.get(name);
    if (state === undefined) {
      state = { events: [], ids: new Map(), groups: new Map() };
      this.#streams.set(name, state);
    }
    return state;
  }

  /** Hands due events of `group` to its consumers that have room, until either runs out. */
  #pump(group: MemoryGroup): void {
    if (this.#closed) return;
    if (group.pumping) {
      group.again = true;
      return;
    }
    group.pumping = true;
    try {
      do {
        group.again = false;
        this.#pumpOnce(group);
      } while (group.again);
    } finally {
      group.pumping = false;
    }
  }

  #pumpOnce(group: MemoryGroup): void {
    // Subjects of earlier unacknowledged entries: a later entry with one waits its turn.
    const busy = new Set<string>();
    for (const entry of group.pending.values()) {
      const subject = entry.stored.subject;
      const blocked = subject !== undefined && busy.has(subject);
      if (subject !== undefined) busy.add(subject);
      if (blocked || entry.state !== "due") continue;
      const consumer = this.#nextConsumer(group);
      if (consumer === undefined) return;
      // An entry dropped here may have blocked later ones of its subject: look again.
      if (!this.#offer(group, entry, consumer)) group.again = true;
    }
    const events = group.stream.events;
    while (group.cursor < events.length && group.pending.size < MAX_PENDING) {
      const consumer = this.#nextConsumer(group);
      if (consumer === undefined) return;
      const stored = events[group.cursor]!;
      group.cursor += 1;
      if (consumer.types !== undefined && !consumer.types.has(stored.type)) continue;
      const entry: Entry = {
        stored,
        attempts: 0,
        state: "due",
        delivery: undefined,
        backoffTimer: undefined,
        lastError: undefined,
      };
      group.pending.set(stored.seq, entry);
      if (stored.subject !== undefined) {
        if (busy.has(stored.subject)) continue;
        busy.add(stored.subject);
      }
      if (!this.#offer(group, entry, consumer)) group.again = true;
    }
  }

  /** Round robin over the consumers that have room. */
  #nextConsumer(group: MemoryGroup): MemorySubscription | undefined {
    const count = group.consumers.length;
    for (let i = 0; i < count; i++) {
      const index = (group.nextConsumer + i) % count;
      const consumer = group.consumers[index]!;
      if (consumer.hasRoom) {
        group.nextConsumer = index + 1;
        return consumer;
      }
    }
    return undefined;
  }

  /** Delivers `entry` to `consumer`; returns false when it dropped the entry instead. */
  #offer(group: MemoryGroup, entry: Entry, consumer: MemorySubscription): boolean {
    if (consumer.types !== undefined && !consumer.types.has(entry.stored.type)) {
      group.pending.delete(entry.stored.seq);
      return false;
    }
    if (entry.attempts >= consumer.maxDeliver) {
      this.#deadLetter(
        group,
        entry,
        entry.lastError ?? ackWaitReason(consumer.ackWaitMs, entry.attempts),
      );
      return false;
    }
    entry.attempts += 1;
    entry.state = "inflight";
    consumer.deliver(entry);
    return true;
  }

  #start(entry: Entry, consumer: MemorySubscription): ActiveDelivery {
    const active: ActiveDelivery = {
      entry,
      consumer,
      controller: new AbortController(),
      ackTimer: undefined,
      done: Promise.resolve(),
    };
    entry.delivery = active;
    active.ackTimer = this.#timers.setTimeout(() => {
      active.ackTimer = undefined;
      this.#expire(active);
    }, consumer.ackWaitMs);
    const delivery: Delivery = {
      event: JSON.parse(entry.stored.json) as CloudEvent,
      stream: consumer.stream,
      position: String(entry.stored.seq),
      attempt: entry.attempts,
      signal: active.controller.signal,
    };
    // A microtask later, so that no handler runs inside publish() or the pump.
    active.done = Promise.resolve()
      .then(() => runHandler(consumer.handler, delivery))
      .then((outcome) => this.#settle(active, outcome));
    return active;
  }

  /** The ack wait ran out: the entry goes back to the group, the handler is told to stop. */
  #expire(active: ActiveDelivery): void {
    const { entry, consumer } = active;
    if (entry.delivery !== active) return;
    entry.delivery = undefined;
    entry.state = "due";
    entry.lastError = ackWaitReason(consumer.ackWaitMs, entry.attempts);
    active.controller.abort(
      new DeadlineExceededError(`The ack wait of ${consumer.ackWaitMs} ms ran out`),
    );
    this.#pump(consumer.groupState);
  }

  #settle(active: ActiveDelivery, outcome: Outcome): void {
    const { entry, consumer } = active;
    const group = consumer.groupState;
    if (active.ackTimer !== undefined) this.#timers.clearTimeout(active.ackTimer);
    consumer.finished(active);
    // A delivery that ran out of ack wait (or was dead-lettered) no longer decides anything.
    if (entry.delivery === active && group.pending.get(entry.stored.seq) === entry) {
      entry.delivery = undefined;
      if (outcome.type === "ack") {
        group.pending.delete(entry.stored.seq);
      } else if (consumer.closing && active.controller.signal.aborted && !outcome.poison) {
        // Stopped by the subscription's end, not failed: back to the group at once.
        entry.state = "due";
        entry.lastError = outcome.reason;
      } else if (outcome.poison || entry.attempts >= consumer.maxDeliver) {
        this.#deadLetter(group, entry, outcome.reason);
      } else {
        entry.state = "waiting";
        entry.lastError = outcome.reason;
        entry.backoffTimer = this.#timers.setTimeout(() => {
          entry.backoffTimer = undefined;
          entry.state = "due";
          this.#pump(group);
        }, backoffDelay(consumer.backoffMs, entry.attempts));
      }
    }
    this.#pump(group);
  }

  #deadLetter(group: MemoryGroup, entry: Entry, reason: string): void {
    this.#clearBackoff(entry);
    group.pending.delete(entry.stored.seq);
    group.deadLetters.push({
      event: JSON.parse(entry.stored.json) as CloudEvent,
      stream: group.streamName,
      group: group.name,
      attempts: entry.attempts,
      reason,
      at: new Date(this.#clock.now()).toISOString(),
    });
  }

  #clearBackoff(entry: Entry): void {
    if (entry.backoffTimer !== undefined) {
      this.#timers.clearTimeout(entry.backoffTimer);
      entry.backoffTimer = undefined;
    }
  }
}

interface MemoryHooks {
  start(entry: Entry, consumer: MemorySubscription): ActiveDelivery;
  closed(consumer: MemorySubscription): void;
}

/** One consumer of a group of a {@link MemoryBus}. */
class MemorySubscription implements Subscription {
  readonly stream: string;
  readonly group: string;
  readonly groupState: MemoryGroup;
  readonly closed: Promise<void>;
  readonly handler: DeliveryHandler;
  readonly consumer: string;
  readonly types: ReadonlySet<string> | undefined;
  readonly ackWaitMs: number;
  readonly maxDeliver: number;
  readonly backoffMs: readonly number[];
  closing = false;
  #concurrency: number;
  #inFlight = new Set<ActiveDelivery>();
  #hooks: MemoryHooks;
  #resolveClosed!: () => void;
  #signal: AbortSignal | undefined;
  #onAbort = () => void this[Symbol.asyncDispose]();

  constructor(
    group: MemoryGroup,
    handler: DeliveryHandler,
    options: ResolvedSubscribeOptions,
    hooks: MemoryHooks,
  ) {
    this.stream = group.streamName;
    this.group = group.name;
    this.groupState = group;
    this.handler = handler;
    this.consumer = options.consumer;
    this.types = options.types;
    this.ackWaitMs = options.ackWaitMs;
    this.maxDeliver = options.maxDeliver;
    this.backoffMs = options.backoffMs;
    this.#concurrency = options.concurrency;
    this.#hooks = hooks;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#signal = options.signal;
    this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  get hasRoom(): boolean {
    return !this.closing && this.#inFlight.size < this.#concurrency;
  }

  deliver(entry: Entry): void {
    this.#inFlight.add(this.#hooks.start(entry, this));
  }

  finished(active: ActiveDelivery): void {
    this.#inFlight.delete(active);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.closing) return await this.closed;
    this.closing = true;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    const reason = new BusError("SUBSCRIPTION_CLOSED", "The subscription closed");
    for (const active of this.#inFlight) active.controller.abort(reason);
    while (this.#inFlight.size > 0) {
      await Promise.all([...this.#inFlight].map((active) => active.done));
    }
    this.#hooks.closed(this);
    this.#resolveClosed();
  }
}
