/**
 * The consumer loop of one NATS bus subscription (private to the NATS
 * adapter).
 *
 * A **pump** sends pull requests (`$JS.API.CONSUMER.MSG.NEXT`) to the
 * group's durable consumer and puts what arrives in a local queue, stamped
 * with its arrival time; `concurrency` **workers** take messages from the
 * queue and run the handler.
 *
 * How the pump pulls, so that a consumer never sits on events it cannot
 * start soon (they belong to the other members of the group):
 *
 * - while events are waiting in the stream, it **drains**: `no_wait` pulls of
 *   up to the free room of the queue, the next one sent when the queue is
 *   half empty, so a batch is on its way while the last one is handled;
 * - once the stream is caught up and the queue empty, it **long-polls** for
 *   as many events as it has idle workers (a request that waits up to
 *   `pullExpiresMs`); an event that arrives starts at once, and the pump
 *   drains again in case it was the head of a burst;
 * - it holds no open request while every worker is busy, so an event the
 *   server hands out (a redelivery after another member's ack wait, say)
 *   goes to a member that can start it.
 *
 * The room shrinks when handlers are slow, so that the queue holds no more
 * than about half an ack wait of work; a message that waited in the queue
 * longer than its ack wait anyway is dropped (the server has redelivered it
 * or is about to).
 *
 * Outcomes: success → `+ACK`; failure → `-NAK` with the backoff of the
 * attempt; last attempt or `PoisonMessageError` → dead letter published
 * (awaiting its PubAck), then `+TERM`. The server's own `max_deliver` is
 * unlimited: this loop enforces `maxDeliver`, so the server never drops an
 * event without its dead letter — a delivery past `maxDeliver` (the last one
 * ran out of ack wait, or its dead letter could not be published) is
 * dead-lettered without running the handler.
 *
 * A pull that fails (broker restarted, consumer gone) is retried with a
 * capped backoff, re-creating the stream and consumer if needed; a
 * reconnection ends the pull under way at once, so the loop resumes as soon
 * as the broker is back.
 *
 * @module
 */

import type { Msg, MsgHdrs, NatsConnection } from "@nats-io/transport-node";
import type { CloudEvent } from "./cloud_event.ts";
import type { DeadLetter, Delivery, DeliveryHandler, Subscription } from "./bus.ts";
import { BusError } from "./errors.ts";
import { cloudEventIssue } from "./is_cloud_event.ts";
import { ackWaitReason, runHandler } from "./_core_outcome.ts";
import { backoffDelay, type ResolvedSubscribeOptions } from "./_core_options.ts";

/** What the loop needs from the bus. */
export interface NatsSubscriptionContext {
  /** The connection. */
  readonly connection: NatsConnection;
  /** The bus stream. */
  readonly stream: string;
  /** The JetStream stream. */
  readonly streamName: string;
  /** The durable consumer of the group. */
  readonly durable: string;
  /** The checked subscribe options. */
  readonly options: ResolvedSubscribeOptions;
  /** The handler. */
  readonly handler: DeliveryHandler;
  /** Most messages pulled ahead of the handlers. */
  readonly maxBatch: number;
  /** How long a long-poll waits for messages, ms. */
  readonly pullExpiresMs: number;
  /** How long past its expiry a pull may stay unanswered before it counts as lost, ms. */
  readonly timeoutMs: number;
  /** The current time, for dead letters. */
  now(): number;
  /** (Re)creates the stream and the group's consumer. */
  ensure(): Promise<void>;
  /** Publishes a dead letter and resolves once it is stored (PubAck). */
  publishDeadLetter(letter: DeadLetter, dedupeId: string): Promise<void>;
  /** Called once the subscription has stopped. */
  onClosed(subscription: NatsSubscription): void;
}

/** One message pulled from the consumer. */
interface Pulled {
  readonly msg: Msg;
  readonly seq: number;
  readonly attempt: number;
  readonly at: number;
}

interface OpenPull {
  readonly expiresAt: number;
  end(error?: Error): void;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const ACK = encoder.encode("+ACK");
const NAK = encoder.encode("-NAK");
const TERM = encoder.encode("+TERM");
// Reasons of dead letters that could not be published, kept for the next delivery.
const MAX_KEPT_REASONS = 10_000;
// How long after an abandoned long-poll expires its messages are given back.
const GIVE_BACK_MARGIN_MS = 200;

/** A running subscription of the NATS bus. */
export class NatsSubscription implements Subscription {
  /** The stream. */
  readonly stream: string;
  /** The consumer group. */
  readonly group: string;
  /** Resolves once the subscription has stopped. */
  readonly closed: Promise<void>;

  readonly #ctx: NatsSubscriptionContext;
  readonly #nextSubject: string;
  readonly #inboxPrefix: string;
  readonly #closing = new AbortController();
  readonly #queue: Pulled[] = [];
  readonly #reasons = new Map<number, string>();
  #pullSerial = 0;
  #pull: OpenPull | undefined;
  #inFlight = 0;
  #waiters: Array<() => void> = [];
  #handlerMs = 0; // moving average of a handler's time
  #resolveClosed!: () => void;
  #closeStarted = false;
  #loops: Promise<void> | undefined;
  #cleanups: Array<() => void> = [];

  constructor(ctx: NatsSubscriptionContext) {
    this.#ctx = ctx;
    this.stream = ctx.stream;
    this.group = ctx.options.group;
    this.#nextSubject = `$JS.API.CONSUMER.MSG.NEXT.${ctx.streamName}.${ctx.durable}`;
    this.#inboxPrefix = `_INBOX.flotilla.${crypto.randomUUID().replaceAll("-", "")}`;
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  /** Starts the pump and the workers. */
  start(): void {
    const workers = Array.from({ length: this.#ctx.options.concurrency }, () => this.#work());
    this.#loops = Promise.all([this.#pump(), ...workers]).then(() => {});
    const signal = this.#ctx.options.signal;
    if (signal !== undefined) {
      const onAbort = () => void this.close();
      signal.addEventListener("abort", onAbort, { once: true });
      this.#cleanups.push(() => signal.removeEventListener("abort", onAbort));
    }
  }

  /** The connection came back: the pull under way may have died with the old server. */
  reconnected(): void {
    this.#pull?.end(new Error("Reconnected"));
  }

  /** Stops pulling, lets in-flight handlers finish, gives back what was pulled but not handled. */
  async close(): Promise<void> {
    if (this.#closeStarted) return this.closed;
    this.#closeStarted = true;
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
    this.#closing.abort(
      new BusError(
        "SUBSCRIPTION_CLOSED",
        `Subscription of group '${this.group}' on '${this.stream}' closed`,
      ),
    );
    // A pull request still open on the server outlives our unsubscribing until it expires; on
    // nats-server 2.9 a redelivery that meets such a request (and no live one) is misrouted:
    // it waits out the ack wait and the stream's last message comes twice. So what we give
    // back comes again only once that request has expired.
    const giveBackAt = this.#pull === undefined ? 0 : this.#pull.expiresAt + GIVE_BACK_MARGIN_MS;
    this.#pull?.end();
    this.#wake();
    await this.#loops;
    const delayMs = Math.max(0, giveBackAt - Date.now());
    for (const pulled of this.#queue.splice(0)) nak(pulled.msg, delayMs);
    await flush(this.#ctx.connection, this.#ctx.timeoutMs);
    this.#ctx.onClosed(this);
    this.#resolveClosed();
    return this.closed;
  }

  /** Same as {@linkcode NatsSubscription.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  #changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** How many messages to keep pulled or in hand: fewer when handlers are slow. */
  #target(): number {
    const { ackWaitMs, concurrency } = this.#ctx.options;
    const maxBatch = Math.max(this.#ctx.maxBatch, concurrency);
    if (this.#handlerMs <= 0) return maxBatch;
    const fits = Math.floor((ackWaitMs / 2) / this.#handlerMs) * concurrency;
    return Math.max(concurrency, Math.min(maxBatch, fits));
  }

  async #pump(): Promise<void> {
    const closing = this.#closing.signal;
    const { concurrency } = this.#ctx.options;
    let caughtUp = false;
    let failures = 0;
    while (!closing.aborted) {
      const target = this.#target();
      const room = target - this.#queue.length - this.#inFlight;
      const idle = concurrency - this.#inFlight - this.#queue.length;
      try {
        if (!caughtUp && room > 0 && room >= Math.ceil(target / 2)) {
          // Drain while there is something: one empty answer and we long-poll instead.
          caughtUp = await this.#pullOnce(room, true) === 0;
        } else if (idle > 0) {
          caughtUp = await this.#pullOnce(idle, false) === 0;
        } else {
          await this.#changed();
          continue;
        }
        failures = 0;
      } catch {
        if (closing.aborted) break;
        if (this.#ctx.connection.isClosed()) {
          void this.close(); // closed under us: nothing more will come
          break;
        }
        caughtUp = false;
        failures++;
        await delay(Math.min(2_000, 25 * 2 ** failures), closing);
        if (closing.aborted) break;
        await this.#ctx.ensure().catch(() => {
          // the broker is still away: the next pull fails and we come back here
        });
      }
    }
  }

  /**
   * One pull request: `noWait` takes what is there now; otherwise it waits
   * up to `pullExpiresMs` for the first messages. Resolves with the count
   * received.
   */
  #pullOnce(batch: number, noWait: boolean): Promise<number> {
    const { connection, pullExpiresMs, timeoutMs } = this.#ctx;
    return new Promise((resolve, reject) => {
      const inbox = `${this.#inboxPrefix}.${++this.#pullSerial}`;
      let received = 0;
      let ended = false;
      const end = (error?: Error) => {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        try {
          sub.unsubscribe();
        } catch {
          // the connection is closed: so is the subscription
        }
        if (this.#pull === open) this.#pull = undefined;
        if (error === undefined) resolve(received);
        else reject(error);
      };
      const sub = connection.subscribe(inbox, {
        callback: (error, msg) => {
          if (error) return end(error);
          const reply = msg.reply;
          if (reply !== undefined && reply.startsWith("$JS.ACK.")) {
            const pulled = parseDelivery(msg, reply);
            if (pulled === undefined) return; // not a JetStream delivery we can read
            received++;
            this.#queue.push(pulled);
            this.#wake();
            if (received >= batch) end();
            return;
          }
          const code = msg.headers?.code ?? 0;
          if (code === 100) return; // heartbeat
          if (code === 404 || code === 408) return end(); // nothing (more) now / expired
          end(new Error(`Pull ended: ${code} ${msg.headers?.description ?? ""}`.trim()));
        },
      });
      const expiresMs = noWait ? 0 : pullExpiresMs;
      const open: OpenPull = { expiresAt: Date.now() + expiresMs, end };
      this.#pull = open;
      const timer = setTimeout(
        () => end(new Error("Pull request unanswered")),
        expiresMs + timeoutMs,
      );
      const request = noWait ? { batch, no_wait: true } : { batch, expires: expiresMs * 1_000_000 };
      try {
        connection.publish(this.#nextSubject, JSON.stringify(request), { reply: inbox });
      } catch (error) {
        end(error as Error);
      }
      if (this.#closing.signal.aborted) end();
    });
  }

  async #work(): Promise<void> {
    const closing = this.#closing.signal;
    const { ackWaitMs } = this.#ctx.options;
    while (!closing.aborted) {
      const pulled = this.#queue.shift();
      if (pulled === undefined) {
        await this.#changed();
        continue;
      }
      // Waited longer than its ack wait: the server redelivers it (or has), drop this copy.
      if (Date.now() - pulled.at >= ackWaitMs) continue;
      this.#inFlight++;
      this.#wake();
      const started = Date.now();
      try {
        await this.#handle(pulled);
      } catch {
        // #handle settles every message itself; nothing should reach here
      } finally {
        this.#inFlight--;
        const took = Date.now() - started;
        this.#handlerMs = this.#handlerMs === 0 ? took : this.#handlerMs * 0.8 + took * 0.2;
        this.#wake();
      }
    }
  }

  async #handle(pulled: Pulled): Promise<void> {
    const { options } = this.#ctx;
    const { msg, attempt } = pulled;
    const position = String(pulled.seq);
    const text = decoder.decode(msg.data);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      await this.#deadLetter(
        pulled,
        { id: msgIdOf(msg.headers) ?? position, raw: text },
        attempt,
        `Cannot decode the event: ${(error as Error).message}`,
      );
      return;
    }
    const issue = cloudEventIssue(parsed);
    if (issue !== undefined) {
      const id = (parsed as { id?: unknown })?.id;
      await this.#deadLetter(
        pulled,
        { id: typeof id === "string" ? id : msgIdOf(msg.headers) ?? position, raw: parsed },
        attempt,
        `Not a CloudEvent: ${issue}`,
      );
      return;
    }
    const event = parsed as CloudEvent;
    if (options.types !== undefined && !options.types.has(event.type)) {
      respond(msg, ACK);
      return;
    }
    if (attempt > options.maxDeliver) {
      const reason = this.#reasons.get(pulled.seq) ??
        ackWaitReason(options.ackWaitMs, options.maxDeliver);
      await this.#deadLetter(pulled, event, options.maxDeliver, reason);
      return;
    }
    const delivery = new NatsDelivery(
      event,
      this.stream,
      position,
      attempt,
      pulled.at + options.ackWaitMs,
      this.#closing.signal,
    );
    try {
      const outcome = await runHandler(this.#ctx.handler, delivery);
      if (outcome.type === "ack") {
        respond(msg, ACK);
      } else if (outcome.poison || attempt >= options.maxDeliver) {
        await this.#deadLetter(pulled, event, attempt, outcome.reason);
      } else {
        nak(msg, backoffDelay(options.backoffMs, attempt));
      }
    } finally {
      delivery.dispose();
    }
  }

  async #deadLetter(
    pulled: Pulled,
    event: DeadLetter["event"],
    attempts: number,
    reason: string,
  ): Promise<void> {
    const letter: DeadLetter = {
      event,
      stream: this.stream,
      group: this.group,
      attempts,
      reason,
      at: new Date(this.#ctx.now()).toISOString(),
    };
    try {
      await this.#ctx.publishDeadLetter(letter, String(pulled.seq));
      respond(pulled.msg, TERM);
      this.#reasons.delete(pulled.seq);
    } catch {
      // Not stored: deliver it again later; that delivery dead-letters it without the handler.
      if (this.#reasons.size >= MAX_KEPT_REASONS) {
        const oldest = this.#reasons.keys().next();
        if (!oldest.done) this.#reasons.delete(oldest.value);
      }
      this.#reasons.set(pulled.seq, reason);
      nak(pulled.msg, backoffDelay(this.#ctx.options.backoffMs, pulled.attempt));
    }
  }
}

/** One delivery; its signal (and timer) is made only if the handler reads it. */
class NatsDelivery implements Delivery {
  readonly event: CloudEvent;
  readonly stream: string;
  readonly position: string;
  readonly attempt: number;
  readonly #deadline: number;
  readonly #closing: AbortSignal;
  #controller: AbortController | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #onClose: (() => void) | undefined;

  constructor(
    event: CloudEvent,
    stream: string,
    position: string,
    attempt: number,
    deadline: number,
    closing: AbortSignal,
  ) {
    this.event = event;
    this.stream = stream;
    this.position = position;
    this.attempt = attempt;
    this.#deadline = deadline;
    this.#closing = closing;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = new AbortController();
      this.#controller = controller;
      const timeout = () =>
        controller.abort(
          new DOMException("The ack wait of the delivery ran out", "TimeoutError"),
        );
      if (this.#closing.aborted) {
        controller.abort(this.#closing.reason);
      } else {
        const left = this.#deadline - Date.now();
        if (left <= 0) {
          timeout();
        } else {
          this.#timer = setTimeout(timeout, left);
          this.#onClose = () => controller.abort(this.#closing.reason);
          this.#closing.addEventListener("abort", this.#onClose, { once: true });
        }
      }
    }
    return this.#controller.signal;
  }

  dispose(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#onClose !== undefined) this.#closing.removeEventListener("abort", this.#onClose);
  }
}

/**
 * Reads the delivery info of a JetStream message from its ack subject:
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>`, or
 * the newer form with `<domain>.<account hash>` after `ACK` and a random
 * token at the end.
 */
function parseDelivery(msg: Msg, reply: string): Pulled | undefined {
  const tokens = reply.split(".");
  const base = tokens.length === 9 ? 2 : tokens.length >= 11 ? 4 : -1;
  if (base < 0) return undefined;
  const attempt = Number(tokens[base + 2]);
  const seq = Number(tokens[base + 3]);
  if (!Number.isSafeInteger(attempt) || !Number.isSafeInteger(seq)) return undefined;
  return { msg, seq, attempt, at: Date.now() };
}

function msgIdOf(headers: MsgHdrs | undefined): string | undefined {
  const id = headers?.get("Nats-Msg-Id");
  return id === undefined || id === "" ? undefined : id;
}

/** Answers a delivery (`+ACK`, `-NAK`, `+TERM`); on a closed connection the broker redelivers anyway. */
function respond(msg: Msg, payload: Uint8Array): void {
  try {
    msg.respond(payload);
  } catch {
    // connection closed: the delivery runs out of ack wait and comes again
  }
}

function nak(msg: Msg, delayMs: number): void {
  respond(
    msg,
    delayMs > 0
      ? encoder.encode(`-NAK ${JSON.stringify({ delay: Math.round(delayMs * 1_000_000) })}`)
      : NAK,
  );
}

/** Pushes out what the connection buffered (acks), waiting `ms` at most. */
export async function flush(connection: NatsConnection, ms: number): Promise<void> {
  if (connection.isClosed()) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    connection.flush().catch(() => {}),
    new Promise<void>((resolve) => timer = setTimeout(resolve, ms)),
  ]);
  clearTimeout(timer);
}

/** Waits `ms`, or less if `signal` aborts. */
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
