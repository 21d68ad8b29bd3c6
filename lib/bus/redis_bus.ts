/**
 * A {@link Bus} on Redis Streams (Redis ≥ 7), through node-redis.
 *
 * ## Layout in Redis
 *
 * - A stream is the Redis stream `flotilla:stream:<stream>`; each event is
 *   one entry with the fields `id`, `type` and `event` (the CloudEvent as
 *   JSON). Positions are Redis entry ids (`1732612345678-0`).
 * - Publishing runs one Lua script per batch (up to 256 events a call) that,
 *   per event, looks up `flotilla:dedupe:<stream>:<id>` and only when it is
 *   absent `XADD`s the entry and sets that key to the new position with a
 *   TTL (`dedupeWindowMs`, 24 h by default). Redis Streams have no dedupe of
 *   their own; in a script the check and the append are atomic, so an id
 *   published again within the window reports `duplicate: true` with the
 *   original's position and appends nothing.
 * - A consumer group is a Redis consumer group (`XGROUP CREATE … MKSTREAM`;
 *   `from` gives `$`, `0` or the position). Each subscription reads with
 *   `XREADGROUP … COUNT batchSize BLOCK` on a connection of its own (a
 *   blocked command ties up its connection), hands the entries to the
 *   handler (`concurrency` at a time), and acknowledges the handled ones with
 *   one `XACK` per batch. Entries read ahead that wait behind a slow handler
 *   for `prefetchWaitMs` are handed back to the group (`XCLAIM … IDLE
 *   RETRYCOUNT`, their delivery uncounted), so an idle consumer takes them.
 * - A failed delivery stays unacknowledged in the group's pending entries
 *   list (PEL), so it survives its consumer; its "not before" time goes into
 *   the sorted set `flotilla:retry:<stream>:<group>` and its error into the
 *   hash `flotilla:failures:<stream>:<group>`.
 * - Every `claimIntervalMs` each subscription runs a claim script that hands
 *   it, with `XCLAIM`, the failures whose backoff has run out and the
 *   deliveries nobody acknowledged within `ackWaitMs` (`XPENDING … IDLE`:
 *   the scan `XAUTOCLAIM` makes, but skipping entries that still wait out a
 *   backoff, which `XAUTOCLAIM` cannot). Redis counts each claim as a
 *   delivery: `attempt` is Redis's delivery count.
 * - After `maxDeliver` failed deliveries, at once for a
 *   {@link PoisonMessageError}, and for an entry that is not a CloudEvent
 *   (kept raw), a script appends the event with its reason and attempts to
 *   `flotilla:dead:<stream>:<group>` and acknowledges it, atomically.
 *   Deliveries that keep running out of ack wait (consumers that die or
 *   hang) are dead-lettered by the claim that would exceed `maxDeliver`.
 *
 * Order: one consumer with `concurrency` 1 handles the stream in order,
 * except that a redelivery comes when its backoff ends, after later events.
 * Competing consumers keep no per-`subject` order.
 *
 * ## Durability of the publish acknowledgement
 *
 * `publish()` resolves when Redis has answered. That answer is durable —
 * the events survive a crash of the Redis process or of its host — only
 * with `appendonly yes` and `appendfsync always`: Redis then writes and
 * fsyncs the append-only file before it sends the reply (one fsync per event
 * loop turn, shared by every command of that turn). With `appendfsync
 * everysec`, Redis's default once AOF is on, it replies first and fsyncs
 * once a second: a crash of the host loses up to about a second of
 * acknowledged events (two when the disk is slow, as Redis then postpones
 * even the write). Without AOF, a crash loses everything since the last RDB
 * snapshot. The outbox relay marks rows sent once `publish()` resolves, so
 * it needs `always`. On connecting, the bus reads `CONFIG GET appendonly
 * appendfsync`: with `requireDurable` it refuses a Redis without both,
 * otherwise it logs a warning. Replication does not help: it is asynchronous
 * and a failover can lose acknowledged writes (this adapter uses no `WAIT`).
 *
 * Consumers get each event at least once: a handler that finished but whose
 * `XACK` was lost (the connection or Redis died) gets the event again after
 * the ack wait. Make handlers idempotent (the inbox).
 *
 * Keys are not hash-tagged: the bus needs one Redis, not a Redis Cluster.
 * Avoid `:` in stream names, or a stream `a:b` and a stream `a` share
 * dedupe keys (`flotilla:dedupe:a:b:<id>`).
 *
 * @example
 * ```ts
 * import { createEvent } from "@flotilla/bus";
 * import { RedisBus } from "@flotilla/bus/redis";
 *
 * await using bus = new RedisBus({ url: "redis://127.0.0.1:6379", requireDurable: true });
 * await bus.publish("shop.order", [
 *   createEvent("order.created", { orderId: "o-1" }, { source: "/shop/order", subject: "o-1" }),
 * ]);
 * await using _sub = await bus.subscribe("shop.order", ({ event }) => {
 *   console.log(event.type, event.data);
 * }, { group: "billing" });
 * ```
 *
 * @module
 */

import { createClient } from "redis";
import { type Clock, DeadlineExceededError, Logger, systemClock } from "@flotilla/core";
import type {
  Bus,
  DeadLetter,
  Delivery,
  DeliveryHandler,
  PublishOptions,
  PublishReceipt,
  StartPosition,
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
  type ResolvedSubscribeOptions,
  resolveSubscribeOptions,
} from "./_core_options.ts";
import { ackWaitReason, deadLetterReason, isPoison } from "./_core_outcome.ts";
import { cloudEventIssue } from "./is_cloud_event.ts";
import {
  ACK_RETRIED,
  CLAIM,
  DEAD_LETTER,
  FAIL,
  type LuaScript,
  PUBLISH,
  RELEASE,
  RETIRE,
} from "./_redis_scripts.ts";
import {
  field,
  type GroupKeys,
  groupKeys,
  isReplyError,
  parseDeadLetter,
  type RawEntry,
  type RawReadReply,
  streamKeys,
} from "./_redis_codec.ts";

/** Options of {@link RedisBus}. */
export interface RedisBusOptions {
  /** Redis's URL, `redis[s]://[[user][:password]@]host[:port][/db]`. */
  url: string;
  /** The clock of backoff "not before" times and dead letters' `at`. @default {systemClock} */
  clock?: Clock;
  /**
   * How long one `XREADGROUP` blocks waiting for new entries, in
   * milliseconds (never longer than until the next claim). @default {1_000}
   */
  blockMs?: number;
  /**
   * How often each subscription looks for deliveries to take over: failures
   * whose backoff has run out, and deliveries unacknowledged past the ack
   * wait. Redelivery after a failure comes up to this much later than its
   * backoff. @default {1_000}
   */
  claimIntervalMs?: number;
  /**
   * How long Redis may take to answer one command (or the bus to connect),
   * in milliseconds, before the call fails with `BUS_UNAVAILABLE`; while
   * Redis is unreachable, calls wait this long for it to come back.
   * @default {5_000}
   */
  commandTimeoutMs?: number;
  /**
   * Entries read (and claimed) per call (`COUNT`): a subscription reads up
   * to this many ahead of its handlers, which is what makes it fast.
   * @default {128}
   */
  batchSize?: number;
  /**
   * How long entries read ahead may wait behind a slow handler before they
   * are handed back to the group, for an idle consumer (or this one, later)
   * to claim — without counting a delivery. @default {1_000}
   */
  prefetchWaitMs?: number;
  /**
   * How long a published id is remembered for dedupe, in milliseconds; 0
   * turns dedupe off (plain `XADD`s, `duplicate` always false). Each
   * remembered id is a Redis key of ~100 bytes. @default {86_400_000}
   */
  dedupeWindowMs?: number;
  /**
   * Trims each stream to about this many entries on publish
   * (`XADD MAXLEN ~`). Entries trimmed before a group read them are never
   * delivered. @default {no trimming}
   */
  maxLen?: number;
  /**
   * Refuse to work (`INVALID_BUS_URL` on connect) unless Redis has
   * `appendonly yes` and `appendfsync always`; otherwise a Redis without them
   * only gets a warning logged. @default {false}
   */
  requireDurable?: boolean;
  /** Where the durability warning goes. @default {a JSON-lines logger} */
  logger?: Logger;
  /**
   * Told about failures the bus recovers from by itself (a lost connection
   * while consuming, an acknowledgement that failed and will be redelivered).
   */
  onError?: (error: BusError) => void;
}

/** What the bus found out about Redis's persistence when it connected. */
export interface RedisDurability {
  /** `appendonly`, or `undefined` when `CONFIG GET` is not allowed. */
  readonly appendonly: string | undefined;
  /** `appendfsync`, or `undefined` when `CONFIG GET` is not allowed. */
  readonly appendfsync: string | undefined;
  /** Whether an acknowledged publish survives a crash of the Redis host. */
  readonly durable: boolean;
}

const PUBLISH_CHUNK = 256;
const READ_PAGE = 1_000;

function newClient(url: string, commandTimeoutMs: number) {
  return createClient({ url, RESP: 2, commandOptions: { timeout: commandTimeoutMs } });
}

type RedisClient = ReturnType<typeof newClient>;

/**
 * A {@link Bus} on Redis Streams, with consumer groups, dedupe on publish,
 * backoff, claiming of stuck deliveries and dead letters. See the module
 * documentation for the layout in Redis and for durability: use it with
 * `appendonly yes` and `appendfsync always`.
 *
 * The bus connects on first use (or on {@linkcode RedisBus.connect}) and
 * reconnects by itself; a subscription survives a restart of Redis, its
 * unacknowledged deliveries staying pending until they are claimed again.
 *
 * @example
 * ```ts
 * import { createEvent } from "@flotilla/bus";
 * import { RedisBus } from "@flotilla/bus/redis";
 *
 * await using bus = new RedisBus({ url: "redis://127.0.0.1:6379" });
 * const durability = await bus.connect(); // { appendonly: "yes", appendfsync: "always", durable: true }
 * const [receipt] = await bus.publish("shop.order", [
 *   createEvent("order.created", { orderId: "o-1" }, { source: "/shop/order" }),
 * ]);
 * receipt?.position; // "1732612345678-0"
 * ```
 */
export class RedisBus implements Bus {
  /** `redis`. */
  readonly kind = "redis";
  readonly #url: string;
  readonly #clock: Clock;
  readonly #blockMs: number;
  readonly #claimIntervalMs: number;
  readonly #batchSize: number;
  readonly #commandTimeoutMs: number;
  readonly #prefetchWaitMs: number;
  readonly #dedupeWindowMs: number;
  readonly #maxLen: number | undefined;
  readonly #requireDurable: boolean;
  readonly #logger: Logger | undefined;
  readonly #onError: ((error: BusError) => void) | undefined;
  readonly #client: RedisClient;
  readonly #subscriptions = new Set<RedisSubscription>();
  #connecting: Promise<RedisDurability> | undefined;
  #closed = false;

  /** Creates the bus; it connects on first use. Throws `RangeError` for a bad option. */
  constructor(options: RedisBusOptions) {
    if (typeof options?.url !== "string" || !/^rediss?:\/\//.test(options.url)) {
      throw new BusError(
        "INVALID_BUS_URL",
        `Cannot create the Redis bus as 'url' must be a redis:// or rediss:// URL: current value is ${
          JSON.stringify(redactUrl(options?.url))
        }`,
      );
    }
    this.#url = options.url;
    this.#clock = options.clock ?? systemClock;
    this.#blockMs = positiveInteger("blockMs", options.blockMs ?? 1_000);
    this.#claimIntervalMs = positiveInteger("claimIntervalMs", options.claimIntervalMs ?? 1_000);
    this.#batchSize = positiveInteger("batchSize", options.batchSize ?? 128);
    this.#prefetchWaitMs = positiveInteger("prefetchWaitMs", options.prefetchWaitMs ?? 1_000);
    this.#commandTimeoutMs = positiveInteger("commandTimeoutMs", options.commandTimeoutMs ?? 5_000);
    const window = options.dedupeWindowMs ?? 86_400_000;
    if (!Number.isSafeInteger(window) || window < 0) {
      throw new RangeError(
        `Cannot create the Redis bus as 'dedupeWindowMs' must be an integer >= 0: current value is ${window}`,
      );
    }
    this.#dedupeWindowMs = window;
    this.#maxLen = options.maxLen === undefined
      ? undefined
      : positiveInteger("maxLen", options.maxLen);
    this.#requireDurable = options.requireDurable ?? false;
    this.#logger = options.logger;
    this.#onError = options.onError;
    try {
      this.#client = newClient(this.#url, this.#commandTimeoutMs);
    } catch (error) {
      throw new BusError(
        "INVALID_BUS_URL",
        `Cannot create the Redis bus as 'url' is not a valid Redis URL: current value is ${
          JSON.stringify(redactUrl(options.url))
        }`,
        { cause: error },
      );
    }
    this.#client.on("error", (error: unknown) => this.#report("connection lost", error));
  }

  /**
   * Connects (once; later calls return the same result), checks Redis's
   * persistence and reports it. Every other method connects by itself.
   *
   * @throws {BusError} `INVALID_BUS_URL` with `requireDurable` when Redis
   * does not have `appendonly yes` and `appendfsync always`.
   */
  connect(options: { signal?: AbortSignal } = {}): Promise<RedisDurability> {
    if (this.#closed) return Promise.reject(busClosed("connect", "Redis"));
    this.#connecting ??= this.#connect();
    const connecting = this.#connecting;
    connecting.catch(() => {
      if (this.#connecting === connecting) this.#connecting = undefined;
    });
    return options.signal === undefined ? connecting : raceAbort(connecting, options.signal);
  }

  async #connect(): Promise<RedisDurability> {
    // node-redis retries connecting in the background until it succeeds.
    if (!this.#client.isOpen) this.#client.connect().catch(() => {});
    await whenReady(this.#client, this.#commandTimeoutMs, this.#url);
    let config: Record<string, string> = {};
    try {
      const reply = await this.#client.sendCommand<string[]>([
        "CONFIG",
        "GET",
        "appendonly",
        "appendfsync",
      ]);
      for (let i = 0; i + 1 < reply.length; i += 2) config[reply[i]!] = reply[i + 1]!;
    } catch {
      config = {}; // CONFIG may be disabled (managed Redis): durability unknown
    }
    const durability: RedisDurability = {
      appendonly: config.appendonly,
      appendfsync: config.appendfsync,
      durable: config.appendonly === "yes" && config.appendfsync === "always",
    };
    if (!durability.durable) {
      const message = durability.appendonly === undefined
        ? "Cannot verify that Redis acknowledges writes durably: CONFIG GET is not allowed"
        : `Redis acknowledges writes before they are durable: appendonly is ${durability.appendonly} and appendfsync is ${durability.appendfsync}; a crash of the Redis host may lose acknowledged events (set appendonly yes and appendfsync always)`;
      if (this.#requireDurable) {
        await this.#client.close().catch(() => this.#client.destroy());
        throw new BusError("INVALID_BUS_URL", message, { data: { ...durability } });
      }
      (this.#logger ?? defaultLogger()).warn(message, {
        component: "redis-bus",
        url: redactUrl(this.#url),
      });
    }
    return durability;
  }

  async #ready(signal: AbortSignal | undefined): Promise<RedisClient> {
    if (this.#closed) throw busClosed("use it", "Redis");
    signal?.throwIfAborted();
    if (this.#connecting === undefined || !this.#client.isOpen) {
      try {
        await this.connect(signal === undefined ? {} : { signal });
      } catch (error) {
        throw asBusError(error, "connect to Redis");
      }
    } else {
      try {
        await (signal === undefined ? this.#connecting : raceAbort(this.#connecting, signal));
      } catch (error) {
        throw asBusError(error, "connect to Redis");
      }
    }
    return this.#client;
  }

  /**
   * Appends `events` to `stream` in order, deduplicating ids published
   * within `dedupeWindowMs`; resolves when Redis has answered (durable with
   * `appendfsync always`).
   *
   * @throws {BusError} `INVALID_EVENT` for an event without id, type, source
   * or `specversion: "1.0"`; `BUS_UNAVAILABLE` when Redis cannot be reached
   * or the connection broke before it answered (the events may or may not
   * have been appended: publish them again, dedupe absorbs the repeat).
   */
  async publish(
    stream: string,
    events: readonly CloudEvent[],
    options: PublishOptions = {},
  ): Promise<PublishReceipt[]> {
    options.signal?.throwIfAborted();
    checkEvents(stream, events);
    if (this.#closed) throw busClosed("publish", this.kind);
    if (events.length === 0) return [];
    const client = await this.#ready(options.signal);
    const keys = streamKeys(stream);
    const commandOptions = options.signal === undefined ? undefined : {
      abortSignal: options.signal,
    };
    try {
      if (this.#dedupeWindowMs === 0) {
        const trim = this.#maxLen === undefined ? [] : ["MAXLEN", "~", String(this.#maxLen)];
        const positions = await Promise.all(events.map((event) =>
          client.sendCommand<string>([
            "XADD",
            keys.stream,
            ...trim,
            "*",
            "id",
            event.id,
            "type",
            event.type,
            "event",
            JSON.stringify(event),
          ], commandOptions)
        ));
        return positions.map((position, i) => ({
          id: events[i]!.id,
          position,
          duplicate: false,
        }));
      }
      const calls: Array<Promise<string[]>> = [];
      for (let start = 0; start < events.length; start += PUBLISH_CHUNK) {
        const chunk = events.slice(start, start + PUBLISH_CHUNK);
        const scriptKeys = [keys.stream];
        const args = [String(this.#dedupeWindowMs), String(this.#maxLen ?? "")];
        for (const event of chunk) {
          scriptKeys.push(keys.dedupe(event.id));
          args.push(event.id, event.type, JSON.stringify(event));
        }
        calls.push(runScript<string[]>(client, PUBLISH, scriptKeys, args, commandOptions));
      }
      const replies = (await Promise.all(calls)).flat();
      return replies.map((reply, i) => {
        const duplicate = reply.startsWith("=");
        return {
          id: events[i]!.id,
          position: duplicate ? reply.slice(1) : reply,
          duplicate,
        };
      });
    } catch (error) {
      throw asBusError(error, `publish to ${stream}`);
    }
  }

  /**
   * Joins (creating it if needed) the consumer group `options.group` of
   * `stream` and consumes it until the subscription is disposed or
   * `options.signal` aborts.
   *
   * @throws {RangeError} for a bad option.
   * @throws {BusError} `BUS_UNAVAILABLE` when Redis cannot be reached.
   */
  async subscribe(
    stream: string,
    handler: DeliveryHandler,
    options: SubscribeOptions,
  ): Promise<Subscription> {
    const settings = resolveSubscribeOptions(stream, options);
    if (typeof handler !== "function") {
      throw new RangeError(
        `Cannot subscribe as 'handler' must be a function: current value is ${typeof handler}`,
      );
    }
    if (settings.from.type === "after") {
      checkPosition(settings.from.position, "subscribe", "from.position");
    }
    const client = await this.#ready(options.signal);
    const keys = groupKeys(stream, settings.group);
    try {
      await createGroup(client, keys.stream, settings.group, settings.from);
    } catch (error) {
      throw asBusError(error, `create the group ${settings.group} of ${stream}`);
    }
    const blocking = client.duplicate();
    blocking.on("error", () => {}); // the main connection reports connection trouble
    try {
      blocking.connect().catch(() => {});
      await raceAbort(whenReady(blocking, this.#commandTimeoutMs, this.#url), options.signal);
    } catch (error) {
      blocking.destroy();
      throw asBusError(error, "open a consumer connection to Redis");
    }
    if (this.#closed) {
      blocking.destroy();
      throw busClosed("subscribe", this.kind);
    }
    const subscription = new RedisSubscription({
      stream,
      group: settings.group,
      keys,
      handler,
      settings,
      client,
      blocking,
      clock: this.#clock,
      blockMs: this.#blockMs,
      commandTimeoutMs: this.#commandTimeoutMs,
      prefetchWaitMs: this.#prefetchWaitMs,
      claimIntervalMs: this.#claimIntervalMs,
      batchSize: this.#batchSize,
      from: settings.from,
      report: (what, error) => this.#report(what, error),
      onClosed: (sub) => this.#subscriptions.delete(sub),
    });
    this.#subscriptions.add(subscription);
    if (options.signal !== undefined) {
      const signal = options.signal;
      if (signal.aborted) void subscription[Symbol.asyncDispose]();
      else {
        const stop = () => void subscription[Symbol.asyncDispose]();
        signal.addEventListener("abort", stop, { once: true });
        subscription.closed.then(() => signal.removeEventListener("abort", stop));
      }
    }
    return subscription;
  }

  /** The dead letters of `group` on `stream`, oldest first (all of them without `limit`). */
  async deadLetters(
    stream: string,
    group: string,
    options: { limit?: number; signal?: AbortSignal } = {},
  ): Promise<DeadLetter[]> {
    checkStream(stream, "read dead letters");
    if (typeof group !== "string" || group.trim() === "") {
      throw new RangeError(
        `Cannot read dead letters as 'group' must be a non-empty string: current value is ${
          JSON.stringify(group)
        }`,
      );
    }
    const limit = checkLimit(options.limit, "read dead letters");
    const client = await this.#ready(options.signal);
    try {
      const entries = await readRange(client, groupKeys(stream, group).dead, "-", limit, options);
      return entries.map(parseDeadLetter);
    } catch (error) {
      throw asBusError(error, `read the dead letters of ${stream}/${group}`);
    }
  }

  /**
   * Reads the events of `stream` in order after `options.after` (a
   * position), all of them without `limit` (`XRANGE`, paged).
   */
  async read(
    stream: string,
    options: { after?: string; limit?: number; signal?: AbortSignal } = {},
  ): Promise<Array<{ position: string; event: CloudEvent }>> {
    options.signal?.throwIfAborted();
    checkStream(stream, "read");
    const limit = checkLimit(options.limit, "read");
    if (options.after !== undefined) checkPosition(options.after, "read", "after");
    const client = await this.#ready(options.signal);
    const start = options.after === undefined ? "-" : `(${options.after}`;
    let entries: RawEntry[];
    try {
      entries = await readRange(client, streamKeys(stream).stream, start, limit, options);
    } catch (error) {
      throw asBusError(error, `read ${stream}`);
    }
    const out: Array<{ position: string; event: CloudEvent }> = [];
    for (const [position, fields] of entries) {
      if (fields === null) continue;
      try {
        out.push({ position, event: JSON.parse(field(fields, "event") ?? "") as CloudEvent });
      } catch {
        // not one of ours: skip
      }
    }
    return out;
  }

  /** Stops every subscription (in-flight handlers finish first) and closes the connection. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#subscriptions].map((sub) => sub[Symbol.asyncDispose]()));
    if (this.#client.isOpen) {
      await withTimeout(this.#client.close(), 2_000).catch(() => {});
      this.#client.destroy();
    }
  }

  #report(what: string, error: unknown): void {
    const busError = error instanceof BusError
      ? error
      : new BusError("BUS_UNAVAILABLE", `Redis bus: ${what}: ${deadLetterReason(error)}`, {
        cause: error,
      });
    try {
      this.#onError?.(busError);
    } catch {
      // a reporter must not break the bus
    }
  }
}

interface SubscriptionInit {
  stream: string;
  group: string;
  keys: GroupKeys;
  handler: DeliveryHandler;
  settings: ResolvedSubscribeOptions;
  client: RedisClient;
  blocking: RedisClient;
  clock: Clock;
  blockMs: number;
  commandTimeoutMs: number;
  claimIntervalMs: number;
  prefetchWaitMs: number;
  batchSize: number;
  from: StartPosition;
  report: (what: string, error: unknown) => void;
  onClosed: (subscription: RedisSubscription) => void;
}

/** What a batch's deliveries settled to, flushed to Redis once per batch. */
interface Settled {
  /** Handled first deliveries (or skipped by `types`): plain XACK. */
  acks: string[];
  /** Handled redeliveries: XACK plus forgetting their retry state. */
  retriedAcks: string[];
  /** Given back to the group (the subscription is closing): position and delivery count to keep. */
  released: Array<[position: string, deliveries: number]>;
  /** Aborted once the batch's ack wait ran out (its deliveries may be with other consumers now). */
  expired: AbortSignal;
}

class RedisSubscription implements Subscription {
  readonly stream: string;
  readonly group: string;
  readonly closed: Promise<void>;
  readonly #init: SubscriptionInit;
  readonly #stop = new AbortController();
  #stopping = false;
  #blockedId: number | undefined;
  /** Set when entries were handed back: claim them before reading new ones. */
  #claimSoon = false;
  #lastAck: Promise<unknown> = Promise.resolve();
  /** Acknowledgements that failed, sent again with the next batch's. */
  #unsent: Pick<Settled, "acks" | "retriedAcks"> = { acks: [], retriedAcks: [] };
  #loop: Promise<void>;
  #resolveClosed!: () => void;
  #closing: Promise<void> | undefined;

  constructor(init: SubscriptionInit) {
    this.#init = init;
    this.stream = init.stream;
    this.group = init.group;
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    this.#loop = this.#run();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const { client, blocking, keys, group, settings, blockMs } = this.#init;
    this.#stopping = true;
    this.#stop.abort(
      new BusError("SUBSCRIPTION_CLOSED", `The subscription to ${this.stream} closed`),
    );
    this.#unblock();
    // The loop ends once the blocked read returns; should the unblock miss it
    // (sent as the read was on its way), the read's own timeout ends it.
    const fallback = setTimeout(() => blocking.destroy(), blockMs + 2_000);
    await this.#loop;
    clearTimeout(fallback);
    await this.#lastAck;
    if (this.#unsent.acks.length + this.#unsent.retriedAcks.length > 0) {
      this.#flush({ acks: [], retriedAcks: [] }); // a last try
      await this.#lastAck;
    }
    await runScript(client, RETIRE, [keys.stream], [group, settings.consumer]).catch(() => {});
    if (blocking.isOpen) {
      await withTimeout(blocking.close(), 1_000).catch(() => {});
      blocking.destroy();
    }
    this.#init.onClosed(this);
    this.#resolveClosed();
  }

  #unblock(): void {
    const id = this.#blockedId;
    if (id === undefined) return;
    this.#init.client.sendCommand(["CLIENT", "UNBLOCK", String(id)]).catch(() => {});
  }

  async #run(): Promise<void> {
    const { claimIntervalMs, blockMs } = this.#init;
    let claimAt = 0;
    let cursor = "0-0";
    let failures = 0;
    while (!this.#stopping) {
      try {
        // Acknowledgements lost with a broken connection go first (before a claim could
        // take their entries back).
        if (this.#unsent.acks.length + this.#unsent.retriedAcks.length > 0) {
          this.#flush({ acks: [], retriedAcks: [] });
        }
        if (performance.now() >= claimAt) {
          const claimed = await this.#claim(cursor);
          cursor = claimed.cursor;
          if (claimed.entries.length > 0) await this.#handle(claimed.entries, claimed.attempts);
          // Keep claiming while there is more to take; otherwise wait for the next round.
          if (cursor === "0-0" && claimed.entries.length < this.#init.batchSize) {
            claimAt = performance.now() + claimIntervalMs;
          }
          if (claimed.entries.length > 0) continue;
        }
        if (this.#claimSoon) {
          this.#claimSoon = false;
          claimAt = 0;
          cursor = "0-0";
          continue;
        }
        const wait = Math.max(1, Math.min(blockMs, Math.ceil(claimAt - performance.now())));
        const entries = await this.#readNew(wait);
        if (entries.length > 0) await this.#handle(entries, undefined);
        failures = 0;
      } catch (error) {
        if (this.#stopping) break;
        failures += 1;
        if (isReplyError(error, "NOGROUP")) {
          // Redis lost the group (restarted without persistence, or a key was deleted).
          this.#init.report(`group ${this.group} of ${this.stream} missing, recreating`, error);
          await createGroup(this.#init.client, this.#init.keys.stream, this.group, this.#init.from)
            .then(() => failures = 0, () => {});
          if (failures === 0) continue;
        } else {
          this.#init.report(`consuming ${this.stream}/${this.group}`, error);
        }
        await sleep(Math.min(2_000, 50 * 2 ** Math.min(failures, 6)), this.#stop.signal);
      }
    }
  }

  async #readNew(blockMs: number): Promise<RawEntry[]> {
    const { blocking, group, settings, batchSize, keys, commandTimeoutMs } = this.#init;
    const timeout = { timeout: blockMs + commandTimeoutMs };
    // CLIENT ID rides in the same round trip, so that close() can unblock the read.
    const id = blocking.sendCommand<number>(["CLIENT", "ID"], timeout);
    const read = blocking.sendCommand<RawReadReply>([
      "XREADGROUP",
      "GROUP",
      group,
      settings.consumer,
      "COUNT",
      String(batchSize),
      "BLOCK",
      String(blockMs),
      "STREAMS",
      keys.stream,
      ">",
    ], timeout);
    read.catch(() => {});
    try {
      this.#blockedId = await id;
      if (this.#stopping) this.#unblock();
      const reply = await read;
      return reply?.[0]?.[1] ?? [];
    } finally {
      this.#blockedId = undefined;
    }
  }

  async #claim(
    cursor: string,
  ): Promise<{ cursor: string; entries: RawEntry[]; attempts: number[] }> {
    const { client, keys, group, settings, clock, batchSize } = this.#init;
    const [next, entries, attempts] = await runScript<[string, RawEntry[], number[]]>(
      client,
      CLAIM,
      [keys.stream, keys.retry],
      [
        group,
        settings.consumer,
        String(clock.now()),
        String(Math.ceil(settings.ackWaitMs)),
        String(batchSize),
        cursor,
      ],
    );
    return { cursor: next, entries, attempts };
  }

  /** Hands a batch to the handler; `attempts` undefined means first deliveries. */
  async #handle(entries: RawEntry[], attempts: number[] | undefined): Promise<void> {
    const { settings, prefetchWaitMs } = this.#init;
    const expired = new AbortController();
    const timer = setTimeout(
      () =>
        expired.abort(
          new DeadlineExceededError(
            `Not acknowledged within the ack wait of ${settings.ackWaitMs} ms`,
          ),
        ),
      settings.ackWaitMs,
    );
    const signal = AbortSignal.any([this.#stop.signal, expired.signal]);
    const settled: Settled = { acks: [], retriedAcks: [], released: [], expired: expired.signal };
    let next = 0;
    let end = entries.length;
    // Entries read ahead of the handlers must not wait behind a slow one while another
    // consumer idles: past prefetchWaitMs, those not started go back to the group.
    const unstarted = (): Settled["released"] => {
      const out: Settled["released"] = [];
      for (let i = next; i < end; i++) out.push([entries[i]![0], (attempts?.[i] ?? 1) - 1]);
      end = next;
      return out;
    };
    let releasing: Promise<void> | undefined;
    const stall = entries.length > settings.concurrency
      ? setTimeout(() => {
        if (next >= end) return;
        this.#claimSoon = true; // take back what nobody else took, in order, before new entries
        releasing = this.#release(unstarted());
      }, prefetchWaitMs)
      : undefined;
    const work = async () => {
      while (next < end && !signal.aborted) {
        const i = next++;
        await this.#deliver(entries[i]!, attempts?.[i] ?? 1, signal, settled);
      }
    };
    try {
      if (settings.concurrency === 1) await work();
      else {
        await Promise.all(
          Array.from({ length: Math.min(settings.concurrency, entries.length) }, work),
        );
      }
    } finally {
      clearTimeout(timer);
      clearTimeout(stall);
      this.#flush(settled);
    }
    // Not started because the subscription is closing: handed back with the delivery Redis
    // counted for this read undone. (Entries left when the ack wait ran out stay pending:
    // the next claim takes them.)
    if (this.#stopping) settled.released.push(...unstarted());
    await releasing;
    if (settled.released.length > 0) await this.#release(settled.released);
  }

  async #deliver(
    entry: RawEntry,
    attempt: number,
    signal: AbortSignal,
    settled: Settled,
  ): Promise<void> {
    const { settings, handler } = this.#init;
    const [position, fields] = entry;
    const acks = attempt > 1 ? settled.retriedAcks : settled.acks;
    if (fields === null) {
      acks.push(position); // deleted (trimmed) while pending: nothing to deliver
      return;
    }
    const type = field(fields, "type");
    if (settings.types !== undefined && (type === undefined || !settings.types.has(type))) {
      acks.push(position);
      return;
    }
    const raw = field(fields, "event");
    let event: CloudEvent;
    try {
      event = JSON.parse(raw ?? "") as CloudEvent;
    } catch (error) {
      await this.#deadLetter(
        position,
        field(fields, "id") ?? position,
        raw ?? JSON.stringify(fields),
        attempt,
        `Cannot parse the event: ${deadLetterReason(error)}`,
        true,
      );
      return;
    }
    const issue = cloudEventIssue(event);
    if (issue !== undefined) {
      await this.#deadLetter(
        position,
        field(fields, "id") ?? position,
        raw!,
        attempt,
        `Not a CloudEvent: ${issue}`,
        true,
      );
      return;
    }
    if (attempt > settings.maxDeliver) {
      // Delivered maxDeliver times without an acknowledgement (consumers died or hung).
      await this.#deadLetter(position, event.id, raw!, attempt - 1, "");
      return;
    }
    const delivery: Delivery = { event, stream: this.stream, position, attempt, signal };
    try {
      await handler(delivery);
      acks.push(position);
    } catch (error) {
      if (settled.expired.aborted) {
        // Past the ack wait the delivery is no longer this consumer's to settle: the
        // claim that takes it over counts the attempt (and dead-letters it at maxDeliver).
      } else if (this.#stopping && signal.aborted && !isPoison(error)) {
        // Stopped by the subscription's end, not failed: back to the group at once.
        settled.released.push([position, attempt]);
      } else if (isPoison(error)) {
        await this.#deadLetter(position, event.id, raw!, attempt, deadLetterReason(error));
      } else if (attempt >= settings.maxDeliver) {
        await this.#deadLetter(position, event.id, raw!, attempt, deadLetterReason(error));
      } else {
        await this.#fail(position, attempt, deadLetterReason(error));
      }
    }
  }

  async #fail(position: string, attempt: number, reason: string): Promise<void> {
    const { client, keys, settings, clock } = this.#init;
    const backoff = backoffDelay(settings.backoffMs, attempt);
    try {
      await runScript(client, FAIL, [keys.retry, keys.failures], [
        position,
        String(clock.now() + backoff),
        reason,
      ]);
    } catch (error) {
      // Still pending: it comes back after the ack wait instead of the backoff.
      this.#init.report(`recording a failed delivery of ${position}`, error);
    }
  }

  async #deadLetter(
    position: string,
    eventId: string,
    raw: string,
    attempts: number,
    reason: string,
    malformed = false,
  ): Promise<void> {
    const { client, keys, group, settings, clock } = this.#init;
    try {
      await runScript(client, DEAD_LETTER, [keys.stream, keys.dead, keys.retry, keys.failures], [
        group,
        settings.consumer,
        position,
        eventId,
        raw,
        String(attempts),
        reason,
        ackWaitReason(settings.ackWaitMs, attempts),
        new Date(clock.now()).toISOString(),
        this.stream,
        malformed ? "1" : "",
      ]);
    } catch (error) {
      // Still pending: the next claim tries again.
      this.#init.report(`dead-lettering ${position}`, error);
    }
  }

  /**
   * Sends a batch's acknowledgements without waiting for them. Those that
   * fail (the connection broke) ride along with the next batch's: XACK is
   * idempotent, and every one that lands spares a redelivery.
   */
  #flush(settled: Pick<Settled, "acks" | "retriedAcks">): void {
    const { client, keys, group } = this.#init;
    const acks = this.#unsent.acks.concat(settled.acks);
    const retriedAcks = this.#unsent.retriedAcks.concat(settled.retriedAcks);
    this.#unsent = { acks: [], retriedAcks: [] };
    const calls: Array<Promise<unknown>> = [];
    if (acks.length > 0) {
      calls.push(
        client.sendCommand(["XACK", keys.stream, group, ...acks]).catch((error) => {
          this.#unsent.acks.push(...acks);
          throw error;
        }),
      );
    }
    if (retriedAcks.length > 0) {
      calls.push(
        runScript(client, ACK_RETRIED, [keys.stream, keys.retry, keys.failures], [
          group,
          ...retriedAcks,
        ]).catch((error) => {
          this.#unsent.retriedAcks.push(...retriedAcks);
          throw error;
        }),
      );
    }
    if (calls.length === 0) return;
    const previous = this.#lastAck;
    this.#lastAck = Promise.all([previous, ...calls]).catch((error) =>
      // Sent again with the next batch; if that never comes, redelivered after the ack wait.
      this.#init.report(`acknowledging deliveries of ${this.stream}/${group}`, error)
    );
  }

  async #release(released: Settled["released"]): Promise<void> {
    const { client, keys, group, settings } = this.#init;
    const args = [group, settings.consumer, String(Math.ceil(settings.ackWaitMs))];
    for (const [position, deliveries] of released) {
      args.push(position, String(Math.max(0, deliveries)));
    }
    await runScript(client, RELEASE, [keys.stream], args).catch((error) =>
      this.#init.report(`releasing deliveries of ${this.stream}/${group}`, error)
    );
  }
}

async function createGroup(
  client: RedisClient,
  stream: string,
  group: string,
  from: StartPosition,
): Promise<void> {
  const start = from.type === "new" ? "$" : from.type === "all" ? "0" : from.position;
  try {
    await client.sendCommand(["XGROUP", "CREATE", stream, group, start, "MKSTREAM"]);
  } catch (error) {
    if (!isReplyError(error, "BUSYGROUP")) throw error;
  }
}

async function readRange(
  client: RedisClient,
  key: string,
  start: string,
  limit: number,
  options: { signal?: AbortSignal },
): Promise<RawEntry[]> {
  const out: RawEntry[] = [];
  let from = start;
  while (out.length < limit) {
    options.signal?.throwIfAborted();
    const count = Math.min(READ_PAGE, limit - out.length);
    const page = await client.sendCommand<RawEntry[]>(
      ["XRANGE", key, from, "+", "COUNT", String(count)],
      options.signal === undefined ? undefined : { abortSignal: options.signal },
    );
    out.push(...page);
    if (page.length < count) break;
    from = `(${page[page.length - 1]![0]}`;
  }
  return out;
}

/** Runs `script` by its SHA, loading it with EVAL when Redis does not have it (yet, or any more). */
async function runScript<T>(
  client: RedisClient,
  script: LuaScript,
  keys: readonly string[],
  args: readonly string[],
  options?: { abortSignal: AbortSignal },
): Promise<T> {
  const tail = [String(keys.length), ...keys, ...args];
  try {
    return await client.sendCommand<T>(["EVALSHA", script.sha, ...tail], options);
  } catch (error) {
    if (!isReplyError(error, "NOSCRIPT")) throw error;
    return await client.sendCommand<T>(["EVAL", script.source, ...tail], options);
  }
}

function asBusError(error: unknown, what: string): unknown {
  if (error instanceof BusError) return error;
  if (error instanceof DOMException && error.name === "AbortError") return error;
  if (error instanceof Error && error.name === "AbortError") return error;
  return new BusError("BUS_UNAVAILABLE", `Cannot ${what}: ${deadLetterReason(error)}`, {
    cause: error,
  });
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(
      `Cannot create the Redis bus as '${name}' must be a positive integer: current value is ${value}`,
    );
  }
  return value;
}

/** @throws {RangeError} unless `position` is a Redis stream entry id (`<ms>-<seq>` or `<ms>`). */
function checkPosition(position: unknown, action: string, name: string): void {
  if (typeof position !== "string" || !/^\d{1,20}(-\d{1,20})?$/.test(position)) {
    throw new RangeError(
      `Cannot ${action} as '${name}' must be a position of this bus (a Redis stream entry id): current value is ${
        JSON.stringify(position)
      }`,
    );
  }
}

function redactUrl(url: unknown): unknown {
  return typeof url === "string" ? url.replace(/\/\/[^@/]*@/, "//***@") : url;
}

let sharedLogger: Logger | undefined;
function defaultLogger(): Logger {
  sharedLogger ??= new Logger();
  return sharedLogger;
}

/** Resolves once `client` is connected; rejects with `BUS_UNAVAILABLE` after `ms`. */
function whenReady(client: RedisClient, ms: number, url: string): Promise<void> {
  if (client.isReady) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const ready = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      client.off("ready", ready);
      reject(
        new BusError(
          "BUS_UNAVAILABLE",
          `Cannot connect to Redis at ${redactUrl(url)} within ${ms} ms`,
          { data: { url: redactUrl(url) } },
        ),
      );
    }, ms);
    client.once("ready", ready);
  });
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
