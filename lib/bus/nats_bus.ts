/**
 * The NATS JetStream adapter of the {@link Bus} port.
 *
 * Connect with {@linkcode NatsBus.connect}; dispose the bus to stop its
 * subscriptions and close its connection.
 *
 * - **Streams.** Bus stream `s` is the JetStream stream `FLOTILLA_<token(s)>`
 *   (file storage, limits retention, a duplicate window of
 *   {@linkcode NatsBusOptions.duplicateWindowMs}), created on first use; an
 *   event of type `t` is stored on subject `flotilla.<token(s)>.<token(t)>`.
 *   A token keeps `A-Z a-z 0-9 -` and writes every other byte `_XX`
 *   (`shop.order` → `shop_2Eorder`), so any bus name is a safe, distinct
 *   JetStream name.
 * - **Publish** sends the events of a call pipelined (all sent, then the
 *   PubAcks awaited, at most {@linkcode NatsBusOptions.publishWindow} in
 *   flight; one connection keeps their order) with `Nats-Msg-Id` = the event
 *   id, and resolves once every PubAck is in: the events are stored. An id
 *   seen within the duplicate window is not stored again (`duplicate: true`,
 *   `position` of the first copy). Positions are stream sequence numbers.
 * - **Consumer groups** are durable pull consumers named `token(group)`:
 *   explicit acks, `ack_wait` = `ackWaitMs`, start from `from`
 *   (`deliver_policy` all / new / by_start_sequence), and a server-side
 *   `filter_subject` when `types` has one type (with more, the server
 *   filters on nats-server ≥ 2.10; before, the adapter acknowledges the
 *   other types unseen). A subscription pulls in batches (`no_wait` pulls of
 *   up to {@linkcode NatsBusOptions.maxBatch} while a backlog lasts, a
 *   long-poll for as many events as it has idle handlers once caught up), so
 *   it never holds events it cannot start while other members of the group
 *   are idle. A failed delivery is `nak`ed with the backoff of its attempt
 *   (JetStream's consumer `backoff` is not used: it would replace the ack
 *   wait). The server's `max_deliver` is unlimited on purpose: the adapter
 *   counts attempts (the delivery count) and dead-letters itself, so an event
 *   is never dropped without its dead letter, and no max-deliveries advisory
 *   needs watching.
 * - **Dead letters** go to the stream `FLOTILLA_DLQ`, subject
 *   `flotilla.dlq.<token(stream)>.<token(group)>`, as a JSON
 *   {@link DeadLetter} (deduplicated per source message); the message is
 *   `term`inated only once the dead letter's PubAck is in, else `nak`ed, and
 *   its next delivery is dead-lettered without running the handler. A
 *   `PoisonMessageError`, or a message that is not a CloudEvent, is
 *   dead-lettered at once.
 * - **Read** uses a short-lived ordered consumer from a sequence.
 * - **Broker restarts.** The connection reconnects forever; a pull under
 *   way ends on reconnection, failed pulls are retried and the stream and
 *   consumer re-created if they vanished, so subscriptions survive a
 *   `nats-server` restart (file store) without losing events. Deliveries
 *   whose acks the broker had not yet persisted come again (handlers must be
 *   idempotent — the inbox).
 * - The JetStream API is reached on its default `$JS.API` prefix (no
 *   JetStream domains).
 *
 * @example
 * ```ts
 * import { NatsBus } from "@flotilla/bus/nats";
 *
 * await using bus = await NatsBus.connect({ servers: "nats://127.0.0.1:4222" });
 * await using _sub = await bus.subscribe("shop.order", async ({ event }) => {
 *   console.log(event.type);
 * }, { group: "billing" });
 * ```
 *
 * @module
 */

import { connect, type NatsConnection, type NodeConnectionOptions } from "@nats-io/transport-node";
import {
  AckPolicy,
  type Consumer,
  type ConsumerConfig,
  type ConsumerInfo,
  DeliverPolicy,
  DiscardPolicy,
  jetstream,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  type JsMsg,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import { type Clock, systemClock } from "@flotilla/core";
import type {
  Bus,
  DeadLetter,
  DeliveryHandler,
  PublishOptions,
  PublishReceipt,
  SubscribeOptions,
  Subscription,
} from "./bus.ts";
import type { CloudEvent } from "./cloud_event.ts";
import { BusError } from "./errors.ts";
import { isCloudEvent } from "./is_cloud_event.ts";
import {
  busClosed,
  checkEvents,
  checkLimit,
  checkStream,
  parseSequence,
  resolveSubscribeOptions,
} from "./_core_options.ts";
import {
  deadLetterSubject,
  DLQ_STREAM,
  DLQ_SUBJECT_PREFIX,
  durableName,
  eventSubject,
  streamName,
  streamSubjects,
} from "./_nats_names.ts";
import { flush, NatsSubscription } from "./_nats_subscription.ts";

/** Options of {@linkcode NatsBus.connect}. */
export interface NatsBusOptions {
  /**
   * The NATS server(s), e.g. `"nats://127.0.0.1:4222"`. Required unless
   * {@linkcode NatsBusOptions.connection} is given.
   */
  servers?: string | readonly string[];
  /**
   * An open connection to use instead of opening one; the bus does not close
   * it on dispose.
   */
  connection?: NatsConnection;
  /**
   * More options of the connection the bus opens (credentials, TLS…).
   * @default {{ maxReconnectAttempts: -1, reconnectTimeWait: 250, noAsyncTraces: true }}
   */
  connectionOptions?: Partial<NodeConnectionOptions>;
  /** The source of time of dead letters' `at`. @default {systemClock} */
  clock?: Clock;
  /** How long JetStream remembers a published id to drop its duplicates, ms. @default {120_000} */
  duplicateWindowMs?: number;
  /** Where JetStream keeps the streams this bus creates. @default {"file"} */
  storage?: "file" | "memory";
  /** Replicas of the streams this bus creates (clustered JetStream). @default {1} */
  replicas?: number;
  /** Most PubAcks awaited at once by one `publish()`. @default {256} */
  publishWindow?: number;
  /** How long one PubAck (or JetStream API call) may take, ms. @default {5_000} */
  timeoutMs?: number;
  /** Most messages a subscription pulls ahead of its handler. @default {256} */
  maxBatch?: number;
  /** Most unacknowledged deliveries of a group at once (`max_ack_pending`). @default {10_000} */
  maxAckPending?: number;
  /** Aborts connecting. */
  signal?: AbortSignal;
}

/**
 * A {@link Bus} on NATS JetStream. Open it with {@linkcode NatsBus.connect};
 * see the module documentation for how streams, groups and dead letters map
 * onto JetStream.
 *
 * @example
 * ```ts
 * import { createEvent } from "@flotilla/bus";
 * import { NatsBus } from "@flotilla/bus/nats";
 *
 * await using bus = await NatsBus.connect({ servers: "nats://127.0.0.1:4222" });
 * const event = createEvent("order.created", { orderId: "o-1" }, { source: "/shop/order" });
 * const [receipt] = await bus.publish("shop.order", [event]);
 * receipt.duplicate; // true when event.id was published within the duplicate window
 * ```
 */
export class NatsBus implements Bus {
  /** The adapter: `nats`. */
  readonly kind = "nats";
  /** The connection (for health checks and metrics). */
  readonly connection: NatsConnection;

  readonly #owned: boolean;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #clock: Clock;
  readonly #duplicateWindowMs: number;
  readonly #storage: StorageType;
  readonly #replicas: number;
  readonly #publishWindow: number;
  readonly #timeoutMs: number;
  readonly #maxBatch: number;
  readonly #maxAckPending: number;
  readonly #streams = new Map<string, Promise<void>>();
  readonly #subscriptions = new Set<NatsSubscription>();
  readonly #subjects = new Map<string, string>();
  #closed = false;
  readonly #stopStatus: () => void;

  private constructor(
    connection: NatsConnection,
    owned: boolean,
    jsm: JetStreamManager,
    settings: Settings,
  ) {
    this.connection = connection;
    this.#owned = owned;
    this.#jsm = jsm;
    this.#js = jetstream(connection, { timeout: settings.timeoutMs });
    this.#clock = settings.clock;
    this.#duplicateWindowMs = settings.duplicateWindowMs;
    this.#storage = settings.storage === "memory" ? StorageType.Memory : StorageType.File;
    this.#replicas = settings.replicas;
    this.#publishWindow = settings.publishWindow;
    this.#timeoutMs = settings.timeoutMs;
    this.#maxBatch = settings.maxBatch;
    this.#maxAckPending = settings.maxAckPending;
    const status = connection.status();
    this.#stopStatus = () => (status as { stop?: () => void }).stop?.();
    (async () => {
      for await (const event of status) {
        if (event.type === "reconnect") {
          for (const subscription of this.#subscriptions) subscription.reconnected();
        }
      }
    })().catch(() => {});
  }

  /**
   * Connects to NATS (or takes `options.connection`) and checks that
   * JetStream is enabled. Streams and consumers are created on first use.
   * The connection the bus opens reconnects forever (a broker restart is a
   * pause, not an error) unless `connectionOptions` say otherwise.
   *
   * @example
   * ```ts
   * await using bus = await NatsBus.connect({ servers: "nats://127.0.0.1:4222" });
   * ```
   *
   * @throws {RangeError} when an option is invalid.
   * @throws {BusError} `BUS_UNAVAILABLE` when the server cannot be reached or has no JetStream.
   */
  static async connect(options: NatsBusOptions): Promise<NatsBus> {
    const settings = resolveOptions(options);
    options.signal?.throwIfAborted();
    let connection = options.connection;
    const owned = connection === undefined;
    try {
      if (connection === undefined) {
        const servers = typeof options.servers === "string"
          ? options.servers
          : [...(options.servers ?? [])];
        connection = await abortable(
          connect({
            servers,
            name: "flotilla-bus",
            maxReconnectAttempts: -1,
            reconnectTimeWait: 250,
            noAsyncTraces: true,
            ...options.connectionOptions,
          }),
          options.signal,
          (late) => void late.close(),
        );
      }
      const jsm = await abortable(
        jetstreamManager(connection, { timeout: settings.timeoutMs }),
        options.signal,
      );
      return new NatsBus(connection, owned, jsm, settings);
    } catch (error) {
      if (owned) await connection?.close().catch(() => {});
      if (options.signal?.aborted && error === options.signal.reason) throw error;
      throw new BusError(
        "BUS_UNAVAILABLE",
        `Cannot connect the NATS bus to ${
          JSON.stringify(options.servers ?? connection?.getServer())
        }: ${(error as Error)?.message ?? error}`,
        { cause: error },
      );
    }
  }

  /**
   * Appends `events` to `stream` in order and resolves once JetStream has
   * stored them (every PubAck in). Ids published within the duplicate
   * window come back `duplicate: true` with the first copy's position.
   *
   * If it rejects (`BUS_UNAVAILABLE`, retryable), some of the events may be
   * stored already; publishing the batch again is safe within the duplicate
   * window, though an event stored late can then follow a later one.
   *
   * @throws {BusError} `INVALID_EVENT` for a malformed event (nothing is sent);
   *   `BUS_UNAVAILABLE` when the broker did not acknowledge in time.
   */
  async publish(
    stream: string,
    events: readonly CloudEvent[],
    options: PublishOptions = {},
  ): Promise<PublishReceipt[]> {
    this.#checkOpen("publish");
    checkEvents(stream, events);
    const { signal } = options;
    signal?.throwIfAborted();
    if (events.length === 0) return [];
    try {
      await abortable(this.#ensureStream(stream), signal);
    } catch (error) {
      if (signal?.aborted && error === signal.reason) throw error;
      throw unavailable(`Cannot publish to '${stream}' on NATS`, error, { stream });
    }
    const name = streamName(stream);
    const receipts = new Array<PublishReceipt>(events.length);
    const encoder = new TextEncoder();
    let next = 0;
    let failed = false;
    const send = async (): Promise<void> => {
      while (!failed && next < events.length) {
        signal?.throwIfAborted();
        const index = next++;
        const event = events[index]!;
        try {
          const ack = await this.#js.publish(
            this.#subject(stream, event.type),
            encoder.encode(JSON.stringify(event)),
            { msgID: msgId(event.id), expect: { streamName: name }, timeout: this.#timeoutMs },
          );
          receipts[index] = { id: event.id, position: String(ack.seq), duplicate: ack.duplicate };
        } catch (error) {
          failed = true;
          throw error;
        }
      }
    };
    const lanes = Math.min(this.#publishWindow, events.length);
    const results = await Promise.allSettled(Array.from({ length: lanes }, send));
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (rejected !== undefined) {
      const error = rejected.reason;
      if (signal?.aborted && error === signal.reason) throw error;
      if (isNoStream(error)) this.#streams.delete(stream);
      if ((error as Error)?.message?.includes("max_payload")) {
        throw new BusError(
          "INVALID_EVENT",
          `Cannot publish to '${stream}' as an event is larger than the server's max_payload`,
          { cause: error, data: { stream } },
        );
      }
      throw unavailable(`Cannot publish to '${stream}' on NATS`, error, { stream });
    }
    return receipts;
  }

  /**
   * Starts consuming `stream` as a member of `options.group` (a durable
   * pull consumer, created with the options given the first time).
   *
   * @throws {RangeError} when an option is invalid.
   * @throws {BusError} `BUS_UNAVAILABLE` when the consumer cannot be set up.
   */
  async subscribe(
    stream: string,
    handler: DeliveryHandler,
    options: SubscribeOptions,
  ): Promise<Subscription> {
    this.#checkOpen("subscribe");
    const resolved = resolveSubscribeOptions(stream, options);
    if (typeof handler !== "function") {
      throw new RangeError(
        `Cannot subscribe as 'handler' must be a function: current value is ${typeof handler}`,
      );
    }
    const startSeq = resolved.from.type === "after"
      ? parseSequence(resolved.from.position, "subscribe", "from.position") + 1
      : undefined;
    resolved.signal?.throwIfAborted();
    const config = this.#consumerConfig(stream, resolved, startSeq);
    const ensure = async (): Promise<void> => {
      await this.#ensureStream(stream);
      await this.#ensureStream(undefined);
      try {
        await this.#ensureConsumer(stream, config);
      } catch (error) {
        if (!(error instanceof JetStreamApiError && error.code === STREAM_NOT_FOUND)) throw error;
        // Deleted since we made it: make it again.
        this.#streams.delete(stream);
        await this.#ensureStream(stream);
        await this.#ensureConsumer(stream, config);
      }
    };
    try {
      await abortable(ensure(), resolved.signal);
    } catch (error) {
      if (resolved.signal?.aborted && error === resolved.signal.reason) throw error;
      throw unavailable(
        `Cannot subscribe group '${resolved.group}' to '${stream}' on NATS`,
        error,
        {
          stream,
          group: resolved.group,
        },
      );
    }
    const subscription = new NatsSubscription({
      connection: this.connection,
      stream,
      streamName: streamName(stream),
      durable: config.durable_name!,
      options: resolved,
      handler,
      maxBatch: this.#maxBatch,
      pullExpiresMs: Math.max(1_000, Math.min(5_000, resolved.ackWaitMs)),
      timeoutMs: this.#timeoutMs,
      now: () => this.#clock.now(),
      ensure,
      publishDeadLetter: (letter, dedupeId) => this.#publishDeadLetter(letter, dedupeId),
      onClosed: (closed) => this.#subscriptions.delete(closed),
    });
    this.#subscriptions.add(subscription);
    subscription.start();
    return subscription;
  }

  /**
   * The dead letters of `group` on `stream`, oldest first (at most
   * `options.limit`).
   *
   * @throws {BusError} `BUS_UNAVAILABLE` when the broker cannot be read.
   */
  async deadLetters(
    stream: string,
    group: string,
    options: { limit?: number; signal?: AbortSignal } = {},
  ): Promise<DeadLetter[]> {
    this.#checkOpen("read dead letters");
    checkStream(stream, "read dead letters");
    if (typeof group !== "string" || group.trim() === "") {
      throw new RangeError(
        `Cannot read dead letters as 'group' must be a non-empty string: current value is ${
          JSON.stringify(group)
        }`,
      );
    }
    const limit = checkLimit(options.limit, "read dead letters");
    const messages = await this.#range(
      DLQ_STREAM,
      deadLetterSubject(stream, group),
      1,
      limit,
      options.signal,
      `read the dead letters of '${group}' on '${stream}'`,
    );
    const letters: DeadLetter[] = [];
    for (const msg of messages) {
      try {
        letters.push(msg.json<DeadLetter>());
      } catch {
        // not written by this adapter: skip
      }
    }
    return letters;
  }

  /**
   * Reads the events of `stream` in order after `options.after` (a position
   * of this bus), at most `options.limit`.
   *
   * @throws {RangeError} when `after` is not a position of this bus or `limit` is invalid.
   * @throws {BusError} `BUS_UNAVAILABLE` when the broker cannot be read.
   */
  async read(
    stream: string,
    options: { after?: string; limit?: number; signal?: AbortSignal } = {},
  ): Promise<Array<{ position: string; event: CloudEvent }>> {
    this.#checkOpen("read");
    checkStream(stream, "read");
    const limit = checkLimit(options.limit, "read");
    const start = options.after === undefined ? 1 : parseSequence(options.after, "read", "after") +
      1;
    const messages = await this.#range(
      streamName(stream),
      undefined,
      start,
      limit,
      options.signal,
      `read '${stream}'`,
    );
    const out: Array<{ position: string; event: CloudEvent }> = [];
    for (const msg of messages) {
      let event: unknown;
      try {
        event = msg.json();
      } catch {
        continue;
      }
      if (isCloudEvent(event)) out.push({ position: String(msg.seq), event });
    }
    return out;
  }

  /** Stops every subscription (in-flight handlers finish first), then closes the connection if the bus opened it. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.close()));
    this.#stopStatus();
    if (this.#owned) {
      await flush(this.connection, this.#timeoutMs);
      await this.connection.close().catch(() => {});
    }
  }

  /** `eventSubject()`, remembered: encoding names on every event costs. */
  #subject(stream: string, type: string): string {
    const key = `${stream}\u0000${type}`;
    let subject = this.#subjects.get(key);
    if (subject === undefined) {
      if (this.#subjects.size >= 10_000) this.#subjects.clear();
      subject = eventSubject(stream, type);
      this.#subjects.set(key, subject);
    }
    return subject;
  }

  #checkOpen(action: string): void {
    if (this.#closed) throw busClosed(action, "NATS");
  }

  #consumerConfig(
    stream: string,
    options: ReturnType<typeof resolveSubscribeOptions>,
    startSeq: number | undefined,
  ): Partial<ConsumerConfig> {
    const config: Partial<ConsumerConfig> = {
      durable_name: durableName(options.group),
      description: `flotilla group ${options.group}`,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(options.ackWaitMs),
      max_deliver: -1,
      max_ack_pending: this.#maxAckPending,
      deliver_policy: options.from.type === "new"
        ? DeliverPolicy.New
        : startSeq !== undefined
        ? DeliverPolicy.StartSequence
        : DeliverPolicy.All,
    };
    if (startSeq !== undefined) config.opt_start_seq = startSeq;
    const types = options.types === undefined ? [] : [...options.types];
    if (types.length === 1) {
      config.filter_subject = eventSubject(stream, types[0]!);
    } else if (types.length > 1 && this.#serverAtLeast(2, 10)) {
      config.filter_subjects = types.map((type) => eventSubject(stream, type));
    }
    return config;
  }

  #serverAtLeast(major: number, minor: number): boolean {
    const version = this.connection.info?.version ?? "0.0.0";
    const [a = 0, b = 0] = version.split(".").map((part) => parseInt(part, 10));
    return a > major || (a === major && b >= minor);
  }

  /** Creates the JetStream stream of `stream` (the dead-letter stream for `undefined`) once. */
  #ensureStream(stream: string | undefined): Promise<void> {
    const key = stream ?? "\u0000dlq";
    let pending = this.#streams.get(key);
    if (pending === undefined) {
      pending = this.#createStream(stream);
      this.#streams.set(key, pending);
      pending.catch(() => this.#streams.delete(key));
    }
    return pending;
  }

  async #createStream(stream: string | undefined): Promise<void> {
    const name = stream === undefined ? DLQ_STREAM : streamName(stream);
    const config: Partial<StreamConfig> & { name: string } = {
      name,
      description: stream === undefined ? "flotilla dead letters" : `flotilla bus stream ${stream}`,
      subjects: [stream === undefined ? `${DLQ_SUBJECT_PREFIX}.>` : streamSubjects(stream)],
      storage: this.#storage,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      num_replicas: this.#replicas,
      duplicate_window: nanos(this.#duplicateWindowMs),
    };
    try {
      await this.#jsm.streams.info(name);
      return;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    try {
      await this.#jsm.streams.add(config);
    } catch (error) {
      // Created meanwhile by another bus (maybe with other settings): use it.
      await this.#jsm.streams.info(name).catch(() => {
        throw error;
      });
    }
  }

  async #ensureConsumer(stream: string, config: Partial<ConsumerConfig>): Promise<void> {
    const name = streamName(stream);
    const durable = config.durable_name!;
    let info: ConsumerInfo | undefined;
    try {
      info = await this.#jsm.consumers.info(name, durable);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    if (info === undefined) {
      try {
        info = await this.#jsm.consumers.add(name, config);
      } catch (error) {
        // Created meanwhile by another member of the group: use it.
        info = await this.#jsm.consumers.info(name, durable).catch(() => {
          throw error;
        });
      }
    } else if (
      info.config.ack_wait !== config.ack_wait || info.config.max_deliver !== config.max_deliver ||
      (config.filter_subject !== undefined &&
        info.config.filter_subject !== config.filter_subject)
    ) {
      // A later member with other settings: the group follows the latest (where allowed).
      info = await this.#jsm.consumers.update(name, durable, {
        ack_wait: config.ack_wait!,
        max_deliver: config.max_deliver!,
        ...(config.filter_subject === undefined ? {} : { filter_subject: config.filter_subject }),
      }).catch(() => info!);
    }
  }

  async #publishDeadLetter(letter: DeadLetter, dedupeId: string): Promise<void> {
    await this.#ensureStream(undefined);
    const subject = deadLetterSubject(letter.stream, letter.group);
    await this.#js.publish(subject, JSON.stringify(letter), {
      msgID: `${subject}.${dedupeId}`,
      expect: { streamName: DLQ_STREAM },
      timeout: this.#timeoutMs,
    });
  }

  /** Up to `limit` messages of a stream from sequence `start`, through an ordered consumer. */
  async #range(
    name: string,
    filter: string | undefined,
    start: number,
    limit: number,
    signal: AbortSignal | undefined,
    what: string,
  ): Promise<JsMsg[]> {
    signal?.throwIfAborted();
    let consumer: Consumer;
    try {
      consumer = await abortable(
        this.#js.consumers.get(name, {
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: start,
          ...(filter === undefined ? {} : { filter_subjects: filter }),
          inactive_threshold: 60_000,
        }),
        signal,
      );
    } catch (error) {
      if (signal?.aborted && error === signal.reason) throw error;
      if (isNotFound(error)) return [];
      throw new BusError("BUS_UNAVAILABLE", `Cannot ${what} on NATS: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const out: JsMsg[] = [];
    try {
      const pending = (await consumer.info(true)).num_pending;
      const want = Math.min(limit, pending);
      if (want === 0) return out;
      const messages = await consumer.fetch({ max_messages: want, expires: this.#timeoutMs });
      const onAbort = () => messages.stop();
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        for await (const msg of messages) {
          out.push(msg);
          if (out.length >= want || msg.info.pending === 0) {
            messages.stop();
            break;
          }
        }
      } finally {
        signal?.removeEventListener("abort", onAbort);
      }
      signal?.throwIfAborted();
      return out;
    } catch (error) {
      if (signal?.aborted && error === signal.reason) throw error;
      throw new BusError("BUS_UNAVAILABLE", `Cannot ${what} on NATS: ${(error as Error).message}`, {
        cause: error,
      });
    } finally {
      consumer.delete().catch(() => {});
    }
  }
}

interface Settings {
  clock: Clock;
  duplicateWindowMs: number;
  storage: "file" | "memory";
  replicas: number;
  publishWindow: number;
  timeoutMs: number;
  maxBatch: number;
  maxAckPending: number;
}

function resolveOptions(options: NatsBusOptions): Settings {
  if (typeof options !== "object" || options === null) {
    throw new RangeError(
      `Cannot connect the NATS bus as 'options' must be an object: current value is ${options}`,
    );
  }
  const { servers, connection } = options;
  if (connection === undefined) {
    const list = typeof servers === "string" ? [servers] : servers;
    if (
      !Array.isArray(list) || list.length === 0 ||
      !list.every((s) => typeof s === "string" && s !== "")
    ) {
      throw new RangeError(
        `Cannot connect the NATS bus as 'servers' must be a server URL or a non-empty list of them: current value is ${
          JSON.stringify(servers)
        }`,
      );
    }
  }
  const positive = (name: string, value: number, integer = true): number => {
    if (!(Number.isFinite(value) && value > 0 && (!integer || Number.isSafeInteger(value)))) {
      throw new RangeError(
        `Cannot connect the NATS bus as '${name}' must be a positive ${
          integer ? "integer" : "number"
        }: current value is ${value}`,
      );
    }
    return value;
  };
  const storage = options.storage ?? "file";
  if (storage !== "file" && storage !== "memory") {
    throw new RangeError(
      `Cannot connect the NATS bus as 'storage' must be "file" or "memory": current value is ${
        JSON.stringify(storage)
      }`,
    );
  }
  return {
    clock: options.clock ?? systemClock,
    duplicateWindowMs: positive("duplicateWindowMs", options.duplicateWindowMs ?? 120_000, false),
    storage,
    replicas: positive("replicas", options.replicas ?? 1),
    publishWindow: positive("publishWindow", options.publishWindow ?? 256),
    timeoutMs: positive("timeoutMs", options.timeoutMs ?? 5_000),
    maxBatch: positive("maxBatch", options.maxBatch ?? 256),
    maxAckPending: positive("maxAckPending", options.maxAckPending ?? 10_000),
  };
}

function unavailable(what: string, cause: unknown, data: Record<string, unknown>): BusError {
  return new BusError("BUS_UNAVAILABLE", `${what}: ${(cause as Error)?.message ?? cause}`, {
    cause,
    data,
  });
}

/** `Nats-Msg-Id` of an event id: the id itself when it is printable ASCII. */
function msgId(id: string): string {
  return /^[\x20-\x7e]+$/.test(id) && !id.startsWith("%u:") ? id : `%u:${encodeURIComponent(id)}`;
}

function nanos(ms: number): number {
  return Math.round(ms * 1_000_000);
}

const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;

function isNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError &&
    (error.code === STREAM_NOT_FOUND || error.code === CONSUMER_NOT_FOUND);
}

function isNoStream(error: unknown): boolean {
  return (error as Error)?.name === "JetStreamNotEnabled" || isNotFound(error);
}

/** `promise`, or the signal's reason once it aborts (a late result goes to `discard`). */
function abortable<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  discard?: (late: T) => void,
): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    promise.then((late) => discard?.(late), () => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.then((late) => discard?.(late), () => {});
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        if (!signal.aborted) resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
