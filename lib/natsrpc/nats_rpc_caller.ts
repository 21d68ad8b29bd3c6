/**
 * The NATS transport of outbound calls, for the call pipeline.
 *
 * @module
 */

import { createInbox } from "@nats-io/transport-node";
import {
  DeadlineExceededError,
  FlotillaError,
  type OutboundCall,
  SWEEP_INTERVAL_MS,
  UnavailableError,
} from "@flotilla/core";
import type { PeerEndpoint } from "@flotilla/client";
import type { NatsRpcConnection, NatsRpcMsg, NatsRpcSubscription } from "./connection.ts";
import {
  checkSource,
  checkSubjectPrefix,
  type ConnectionSource,
  openConnection,
} from "./_connection.ts";
import { fromWireError, type NatsRpcReply } from "./envelope.ts";
import { DEFAULT_SUBJECT_PREFIX, natsRpcSubject } from "./subjects.ts";
import { replyToken, Slab, WireHeaders } from "./_wire.ts";

/**
 * Which subject a call to an endpoint goes to:
 *
 * - `"instance"`: the instance's own subject — the one named by the path of
 *   a `nats://host:port/<instanceId>` endpoint URL, else the endpoint's id
 *   (the instance id discovery reports);
 * - `"queue"`: the service's queue-group subject, whatever the endpoint —
 *   NATS picks the instance. The endpoint then only names the breaker and
 *   balancer state of the pipeline.
 */
export type NatsRpcAddressing = "instance" | "queue";

/** Options of {@link natsRpcCaller}. */
export interface NatsRpcCallerOptions {
  /**
   * The NATS server(s) to connect to, e.g. `"nats://127.0.0.1:4222"`; the
   * caller connects on its first call (or {@linkcode NatsRpcCaller.ready})
   * and closes the connection when disposed. Give either this or
   * {@linkcode NatsRpcCallerOptions.nc}.
   */
  servers?: string | readonly string[] | undefined;
  /** An open connection to call over instead; disposing the caller leaves it open. */
  nc?: NatsRpcConnection | undefined;
  /** Which subject a call to an endpoint goes to. @default {"instance"} */
  addressing?: NatsRpcAddressing | undefined;
  /** The subject prefix the services use. @default {"flotilla.rpc"} */
  subjectPrefix?: string | undefined;
  /** The prefix of the caller's reply subject. @default {"_INBOX"} */
  inboxPrefix?: string | undefined;
}

/**
 * An `EndpointTransport` of `@flotilla/client` over NATS, with its
 * connection: call it with an endpoint and a call, dispose it when done.
 */
export interface NatsRpcCaller extends AsyncDisposable {
  /** Sends one attempt of `call` to `endpoint`; resolves to the raw output. */
  (endpoint: PeerEndpoint, call: OutboundCall): Promise<unknown>;
  /** Calls sent and not yet answered. */
  readonly pending: number;
  /** Connects now (instead of on the first call) and subscribes the reply subject. */
  ready(signal?: AbortSignal): Promise<void>;
  /** Fails the calls still waiting, unsubscribes and closes an owned connection. Idempotent. */
  close(): Promise<void>;
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
  readonly call: OutboundCall;
  readonly endpoint: PeerEndpoint;
  readonly subject: string;
}

const ACTION = "create the NATS RPC caller";
const UNSAFE = /[\r\n]/;
const INPUT_OPEN = new TextEncoder().encode('{"input":');
const INPUT_CLOSE = new TextEncoder().encode("}");
const decoder = new TextDecoder();

/**
 * The NATS transport of outbound calls: an `EndpointTransport` for
 * `callPipeline` or `Peers` (option `transport`).
 *
 * It keeps one connection and one reply subscription, `<inbox>.*`; each call
 * is published with the reply subject `<inbox>.<request id>` and waits in a
 * table of pending calls, so there is neither a subscription, a timer nor a
 * listener per call: one sweep every `SWEEP_INTERVAL_MS` (10 ms) of
 * `@flotilla/core` fails the calls whose deadline has passed
 * (`DEADLINE_EXCEEDED`) or whose `call.signal` has aborted (its reason, or
 * `CANCELLED`) — so both take effect within that interval. The request
 * carries the remaining time, the trace, the caller's name and the
 * idempotency key as headers; error replies are rebuilt as
 * {@link FlotillaError}s with their code, kind, retryable flag, issues and
 * data.
 *
 * Failures are told apart as over HTTP, because retries depend on it:
 *
 * - nobody subscribes the subject (the server's "no responders" status 503),
 *   the instance refused the call while starting or draining, or the caller
 *   is not connected: `UnavailableError` `CONNECTION_REFUSED` — the call
 *   certainly did not run, any call may be retried elsewhere;
 * - the connection was lost while the call was out: `UnavailableError`
 *   `CONNECTION_FAILED` — the callee may have acted;
 * - the deadline passed: `DEADLINE_EXCEEDED`.
 *
 * The endpoint picks the subject (see {@link NatsRpcAddressing}); its host
 * and port are not used — every call goes over the caller's one connection.
 * With `registryAnnouncer`, give the service's transport and announcer the
 * same `instanceId`, and the discovered endpoint ids are the instance ids;
 * an instance whose `transports` metadata does not list `nats` is refused at
 * once (`CONNECTION_REFUSED`, nothing sent).
 *
 * @example
 * ```ts
 * import { Peers } from "@flotilla/client";
 * import { natsRpcCaller } from "@flotilla/natsrpc";
 *
 * await using transport = natsRpcCaller({ servers: "nats://127.0.0.1:4222" });
 * await using peers = new Peers({ caller: "order", registry, transport });
 * ```
 */
export function natsRpcCaller(options: NatsRpcCallerOptions): NatsRpcCaller {
  checkSource(options, ACTION);
  const prefix = checkSubjectPrefix(options.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX, ACTION);
  const inboxPrefix = checkSubjectPrefix(options.inboxPrefix ?? "_INBOX", ACTION);
  const addressing = options.addressing ?? "instance";
  if (addressing !== "instance" && addressing !== "queue") {
    throw new RangeError(
      `Cannot ${ACTION} as 'addressing' must be "instance" or "queue": current value is ${
        JSON.stringify(addressing)
      }`,
    );
  }
  const client = new NatsRpcClient(options, prefix, inboxPrefix, addressing);
  const send = (endpoint: PeerEndpoint, call: OutboundCall) => client.send(endpoint, call);
  const close = () => client.close();
  Object.defineProperty(send, "pending", { get: () => client.pending });
  return Object.assign(send, {
    ready: (signal?: AbortSignal) => client.ready(signal),
    close,
    [Symbol.asyncDispose]: close,
  }) as unknown as NatsRpcCaller;
}

class NatsRpcClient {
  readonly #source: ConnectionSource;
  readonly #prefix: string;
  readonly #inboxPrefix: string;
  readonly #addressing: NatsRpcAddressing;
  readonly #pending = new Map<number, Pending>();
  readonly #subjects = new WeakMap<PeerEndpoint, Map<string, string>>();
  readonly #slab = new Slab();
  #nc: NatsRpcConnection | undefined;
  #owned = false;
  #connecting: Promise<NatsRpcConnection> | undefined;
  #inbox = "";
  #inboxLength = 0;
  #subscription: NatsRpcSubscription | undefined;
  #stopWatching: () => void = noop;
  #watching: Promise<void> | undefined;
  #connected = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  #sequence = 0;
  #sweeping: ReturnType<typeof setInterval> | undefined;
  /** The caller name checked last (one service calls with one name). */
  #safeCaller = "";
  /** The subject resolved last: a pipeline calls one action of one endpoint in bursts. */
  #lastSubject: {
    endpoint: PeerEndpoint | undefined;
    service: string;
    action: string;
    subject: string;
  } = { endpoint: undefined, service: "", action: "", subject: "" };

  constructor(
    source: ConnectionSource,
    prefix: string,
    inboxPrefix: string,
    addressing: NatsRpcAddressing,
  ) {
    this.#source = source;
    this.#prefix = prefix;
    this.#inboxPrefix = inboxPrefix;
    this.#addressing = addressing;
  }

  get pending(): number {
    return this.#pending.size;
  }

  async ready(signal?: AbortSignal): Promise<void> {
    await this.#connect(signal);
  }

  send(endpoint: PeerEndpoint, call: OutboundCall): Promise<unknown> {
    if (call.signal.aborted) return Promise.reject(abortError(call, call.signal.reason));
    const nc = this.#nc;
    if (nc === undefined || this.#connecting !== undefined) {
      return this.#connectThenSend(endpoint, call);
    }
    return this.#publish(nc, endpoint, call);
  }

  async #connectThenSend(endpoint: PeerEndpoint, call: OutboundCall): Promise<unknown> {
    let nc: NatsRpcConnection;
    try {
      nc = await this.#connect(call.signal);
    } catch (error) {
      if (call.signal.aborted) throw abortError(call, call.signal.reason);
      if (error instanceof FlotillaError) throw error;
      throw new UnavailableError(`Cannot connect to NATS to call ${call.service}`, {
        code: "CONNECTION_REFUSED",
        cause: error,
        data: { service: call.service, endpoint: endpoint.id, reason: "connect_failed" },
      });
    }
    return await this.#publish(nc, endpoint, call);
  }

  #connect(signal?: AbortSignal): Promise<NatsRpcConnection> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#nc && this.#connecting === undefined) return Promise.resolve(this.#nc);
    this.#connecting ??= (async () => {
      try {
        const { nc, owned } = await openConnection(this.#source, "flotilla-rpc-caller");
        if (this.#closed) {
          if (owned) await nc.close().catch(() => {});
          throw closedError();
        }
        this.#owned = owned;
        this.#inbox = `${createInbox(this.#inboxPrefix)}.`;
        this.#inboxLength = this.#inbox.length;
        this.#subscription = nc.subscribe(`${this.#inbox}*`, {
          callback: (error, msg) => this.#receive(error, msg),
        });
        this.#connected = !nc.isClosed();
        this.#watching = this.#watch(nc);
        this.#nc = nc;
        return nc;
      } finally {
        this.#connecting = undefined;
      }
    })();
    return signal ? raceAbort(this.#connecting, signal) : this.#connecting;
  }

  #publish(nc: NatsRpcConnection, endpoint: PeerEndpoint, call: OutboundCall): Promise<unknown> {
    if (!this.#connected || this.#closed) {
      // Published now, the request would wait in the client's buffer for a reconnection
      // that may come after the deadline: better refuse it while it is certainly unsent.
      return Promise.reject(
        new UnavailableError(`Not connected to NATS to call ${call.service}`, {
          code: "CONNECTION_REFUSED",
          data: {
            service: call.service,
            endpoint: endpoint.id,
            reason: this.#closed ? "closed" : "disconnected",
          },
        }),
      );
    }
    const remaining = Math.ceil(call.deadline - call.clock.now());
    if (remaining <= 0) {
      return Promise.reject(
        new DeadlineExceededError(`No time left to call ${call.service}.${call.action}`),
      );
    }
    const trace = call.trace;
    if (
      (call.caller !== this.#safeCaller && UNSAFE.test(call.caller)) ||
      (trace.tracestate !== undefined && UNSAFE.test(trace.tracestate)) ||
      (call.idempotencyKey !== undefined && UNSAFE.test(call.idempotencyKey))
    ) {
      return Promise.reject(
        new FlotillaError(
          "INVALID_HEADER",
          `Cannot call ${call.service}.${call.action} with a line break in the caller name, tracestate or idempotency key`,
          { kind: "INVALID_ARGUMENT" },
        ),
      );
    }
    this.#safeCaller = call.caller;
    const subject = this.#subjectOf(endpoint, call);
    if (subject === "") {
      return Promise.reject(
        new UnavailableError(`${call.service} at ${endpoint.id} does not serve NATS`, {
          code: "CONNECTION_REFUSED",
          data: { service: call.service, endpoint: endpoint.id, reason: "no_nats_transport" },
        }),
      );
    }
    const slab = this.#slab;
    const headers = new WireHeaders(slab, {
      trace,
      timeout: String(remaining),
      caller: call.caller,
      idempotencyKey: call.idempotencyKey,
    });
    let body: Uint8Array;
    if (call.input === undefined) body = slab.encode("{}");
    else {
      // `{"input":<json>}` written in place, not concatenated (and then flattened) first.
      const json = JSON.stringify(call.input);
      slab.begin(json.length * 3 + INPUT_OPEN.length + 1);
      slab.bytes(INPUT_OPEN);
      slab.text(json);
      slab.bytes(INPUT_CLOSE);
      body = slab.end();
    }
    const id = this.#sequence++;
    return new Promise((resolve, reject) => {
      try {
        nc.publish(subject, body, { reply: this.#inbox + id.toString(36), headers });
      } catch (error) {
        reject(
          new UnavailableError(`Cannot send ${call.service}.${call.action} over NATS`, {
            code: "CONNECTION_REFUSED",
            cause: error,
            data: { service: call.service, endpoint: endpoint.id, subject },
          }),
        );
        return;
      }
      this.#pending.set(id, { resolve, reject, call, endpoint, subject });
      this.#sweeping ??= setInterval(() => this.#sweep(), SWEEP_INTERVAL_MS);
    });
  }

  /**
   * Fails the calls whose deadline has passed or whose signal has aborted.
   * One interval serves every call (as core's `DeadlineSweeper` does), and
   * polling `signal.aborted` here spares each call a deadline watch and an
   * abort listener: deadlines and cancellations take effect within
   * `SWEEP_INTERVAL_MS`. The interval stops at the first sweep with nothing
   * to watch.
   */
  #sweep(): void {
    for (const [id, pending] of this.#pending) {
      const { call } = pending;
      if (call.signal.aborted) {
        this.#pending.delete(id);
        pending.reject(abortError(call, call.signal.reason));
      } else if (call.clock.now() >= call.deadline) {
        this.#pending.delete(id);
        pending.reject(
          new DeadlineExceededError(`${call.service}.${call.action} did not answer in time`),
        );
      }
    }
    if (this.#pending.size === 0 && this.#sweeping !== undefined) {
      clearInterval(this.#sweeping);
      this.#sweeping = undefined;
    }
  }

  /**
   * The subject of `call` at `endpoint`, built once per endpoint and action;
   * `""` when the endpoint's instance is registered without NATS.
   */
  #subjectOf(endpoint: PeerEndpoint, call: OutboundCall): string {
    const last = this.#lastSubject;
    if (
      last.endpoint === endpoint && last.service === call.service && last.action === call.action
    ) {
      return last.subject;
    }
    let subjects = this.#subjects.get(endpoint);
    if (subjects === undefined) this.#subjects.set(endpoint, subjects = new Map());
    const key = `${call.service} ${call.action}`;
    let subject = subjects.get(key);
    if (subject === undefined) {
      // An instance whose registration lists its transports without `nats` is not on NATS.
      const transports = endpoint.instance?.metadata?.transports;
      subject = this.#addressing === "instance" && transports !== undefined &&
          !transports.split(",").includes("nats")
        ? ""
        : natsRpcSubject(call.service, call.action, {
          prefix: this.#prefix,
          instanceId: this.#addressing === "queue" ? undefined : instanceOf(endpoint),
        });
      subjects.set(key, subject);
    }
    this.#lastSubject = { endpoint, service: call.service, action: call.action, subject };
    return subject;
  }

  #receive(error: Error | null, msg: NatsRpcMsg): void {
    if (error) {
      // The reply subscription itself failed (a permissions violation): nothing will be answered.
      this.#failAll((pending) =>
        new UnavailableError(`The NATS reply subscription failed`, {
          code: "CONNECTION_FAILED",
          cause: error,
          data: { service: pending.call.service, endpoint: pending.endpoint.id },
        })
      );
      return;
    }
    const id = replyToken(msg, this.#inboxLength);
    const pending = this.#pending.get(id);
    if (pending === undefined) return; // answered too late: the call has given up
    this.#pending.delete(id);
    const data = msg.data;
    if (data.length === 0 && msg.headers?.code === 503) {
      pending.reject(
        new UnavailableError(`No instance of ${pending.call.service} answers ${pending.subject}`, {
          code: "CONNECTION_REFUSED",
          data: {
            service: pending.call.service,
            endpoint: pending.endpoint.id,
            subject: pending.subject,
            reason: "no_responders",
          },
        }),
      );
      return;
    }
    let reply: NatsRpcReply;
    try {
      reply = JSON.parse(decoder.decode(data));
    } catch (cause) {
      pending.reject(badResponse(pending.call, cause));
      return;
    }
    if (reply?.ok === true) {
      pending.resolve(reply.output);
    } else if (reply?.ok === false) {
      const error = fromWireError(reply.error);
      pending.reject(
        reply.refused === true
          ? new UnavailableError(
            `${pending.call.service} at ${pending.endpoint.id} refused the call: ${error.message}`,
            {
              code: "CONNECTION_REFUSED",
              cause: error,
              data: {
                service: pending.call.service,
                endpoint: pending.endpoint.id,
                reason: "refused",
              },
            },
          )
          : error,
      );
    } else {
      pending.reject(badResponse(pending.call, undefined));
    }
  }

  #failAll(reason: (pending: Pending) => unknown): void {
    const all = [...this.#pending.values()];
    this.#pending.clear();
    for (const pending of all) pending.reject(reason(pending));
  }

  async #watch(nc: NatsRpcConnection): Promise<void> {
    const events = nc.status();
    const status = events[Symbol.asyncIterator]();
    const done = { done: true, value: undefined } as const;
    // Ends the loop when the connection closes or the caller does: a borrowed connection stays
    // open, and its status iterator would wait for its next event (nats.js's has `stop()`).
    const closed = Promise.race([
      nc.closed().then(() => done),
      new Promise<typeof done>((resolve) =>
        this.#stopWatching = () => {
          (events as { stop?: () => void }).stop?.();
          resolve(done);
        }
      ),
    ]);
    try {
      while (true) {
        const next = await Promise.race([status.next(), closed]);
        if (next.done) break;
        const event = next.value;
        if (event.type === "disconnect") {
          this.#connected = false;
          // Replies sent while the connection is down are lost: the calls out may or may not
          // have run, and they will not be answered.
          this.#failAll(lostError);
        } else if (event.type === "reconnect") {
          this.#connected = true;
        }
      }
    } finally {
      this.#connected = false;
      this.#failAll(lostError);
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      await this.#connecting?.catch(() => {});
      const nc = this.#nc;
      this.#failAll((pending) =>
        new UnavailableError(`The NATS caller was closed with the call out`, {
          code: "CONNECTION_FAILED",
          data: { service: pending.call.service, endpoint: pending.endpoint.id, reason: "closed" },
        })
      );
      if (this.#sweeping !== undefined) clearInterval(this.#sweeping);
      this.#sweeping = undefined;
      if (!nc) return;
      if (!nc.isClosed()) this.#subscription?.unsubscribe();
      if (this.#owned) await nc.close().catch(() => {});
      this.#stopWatching();
      await this.#watching;
    })();
    return this.#closing;
  }
}

/** The instance an endpoint names: the path of `nats://host:port/<id>`, else its id. */
function instanceOf(endpoint: PeerEndpoint): string {
  const url = endpoint.url;
  if (url.startsWith("nats://") || url.startsWith("tls://")) {
    const slash = url.indexOf("/", url.indexOf("//") + 2);
    const path = slash < 0 ? "" : url.slice(slash + 1).replace(/\/$/, "");
    if (path !== "") return decodeURIComponent(path);
  }
  return endpoint.id;
}

function lostError(pending: Pending): FlotillaError {
  return new UnavailableError(
    `Lost the connection to NATS while calling ${pending.call.service}.${pending.call.action}`,
    {
      code: "CONNECTION_FAILED",
      data: {
        service: pending.call.service,
        endpoint: pending.endpoint.id,
        reason: "disconnected",
      },
    },
  );
}

function closedError(): FlotillaError {
  return new UnavailableError("The NATS caller is closed", {
    code: "CONNECTION_REFUSED",
    data: { reason: "closed" },
  });
}

function badResponse(call: OutboundCall, cause: unknown): FlotillaError {
  return new FlotillaError(
    "BAD_RESPONSE",
    `${call.service}.${call.action} replied with an invalid envelope`,
    { kind: "INTERNAL", cause },
  );
}

function abortError(call: OutboundCall, reason: unknown): FlotillaError {
  if (reason instanceof FlotillaError) return reason;
  if (reason instanceof DOMException && reason.name === "TimeoutError") {
    return new DeadlineExceededError(`${call.service}.${call.action} did not answer in time`, {
      cause: reason,
    });
  }
  return new FlotillaError("CANCELLED", `${call.service}.${call.action} was cancelled`, {
    kind: "CANCELLED",
    cause: reason,
  });
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function noop(): void {}
