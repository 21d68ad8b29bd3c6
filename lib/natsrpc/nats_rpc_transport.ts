/**
 * The NATS transport of a service host: answers a service's actions on NATS
 * request subjects.
 *
 * @module
 */

import {
  type Caller,
  continueTrace,
  FlotillaError,
  type InboundMeta,
  type ServiceHost,
  type TraceContext,
  type Transport,
  UnavailableError,
  ValidationError,
} from "@flotilla/core";
import type { NatsRpcConnection, NatsRpcMsg, NatsRpcSubscription } from "./connection.ts";
import { checkSource, checkSubjectPrefix, openConnection, parseHostPort } from "./_connection.ts";
import { NATS_RPC_HEADERS, type NatsRpcReply, toWireError } from "./envelope.ts";
import { DEFAULT_SUBJECT_PREFIX, natsRpcSubject, subjectToken } from "./subjects.ts";
import { readRequestHeaders, type RequestHeaderValues, Slab } from "./_wire.ts";

/** Options of {@link natsRpcTransport}. */
export interface NatsRpcTransportOptions {
  /**
   * The NATS server(s) to connect to, e.g. `"nats://127.0.0.1:4222"`; the
   * transport opens its own connection (reconnecting forever) and closes it
   * once stopped. Give either this or {@linkcode NatsRpcTransportOptions.nc}.
   */
  servers?: string | readonly string[] | undefined;
  /** An open connection to serve on instead; stopping the transport leaves it open. */
  nc?: NatsRpcConnection | undefined;
  /**
   * This instance's id, the token of its instance subjects. Give the
   * announcer the same id (`registryAnnouncer(registry, { instanceId })`) so
   * that callers address the instance they discovered.
   * @default {`<service>-<8 random hex digits>`}
   */
  instanceId?: string | undefined;
  /** The queue group the instances of the service share. @default {the service's name} */
  queue?: string | undefined;
  /** The subject prefix; callers must use the same. @default {"flotilla.rpc"} */
  subjectPrefix?: string | undefined;
}

/** A {@link Transport} over NATS request/reply, as {@link natsRpcTransport} makes it. */
export interface NatsRpcTransport extends Transport {
  /** Always `nats`. */
  readonly name: "nats";
  /** This instance's id, once started (`undefined` before). */
  readonly instanceId: string | undefined;
  /** Calls being handled now, replies not yet sent included. */
  readonly inFlight: number;
}

const ACTION = "create the NATS RPC transport";
const encoder = new TextEncoder();
const OK_EMPTY = encoder.encode('{"ok":true}');
const OK_OPEN = encoder.encode('{"ok":true,"output":');
const OK_CLOSE = encoder.encode("}");
const decoder = new TextDecoder();

/**
 * A {@link Transport} that serves a host's actions over NATS request/reply.
 *
 * For every action of the contract it subscribes two subjects (see
 * `natsRpcSubject`): `flotilla.rpc.<service>.<action>` in the queue group
 * `<service>` — NATS hands each request to one instance and passes over
 * the ones that left — and `flotilla.rpc.<service>.<instanceId>.<action>`,
 * for a caller that chose this instance. Requests and replies follow the
 * envelope of `envelope.ts`: the caller's deadline, trace, name and
 * idempotency key come in as headers, and errors go back with their code,
 * kind, retryable flag, field issues and data, as over HTTP.
 *
 * `start()` resolves to the host and port of the NATS server the transport
 * is connected to — what an announcer registers under `nats`. A caller that
 * builds its endpoints by hand addresses this instance with the URL
 * `nats://<host>:<port>/<instanceId>` (see `natsRpcCaller`).
 *
 * Stopping drains: the subscriptions are drained first (the server stops
 * routing new requests here, so the queue group's other members take them;
 * requests already routed here are still read), then the transport waits
 * for its calls in flight until `signal` aborts. A request that arrives while
 * the host is starting or draining is answered with a refusal (`"refused":
 * true`) without running anything, which a caller may send elsewhere.
 *
 * @example
 * ```ts
 * import { runService } from "@flotilla/core";
 * import { natsRpcTransport } from "@flotilla/natsrpc";
 *
 * await runService(service, {
 *   transports: [natsRpcTransport({ servers: "nats://127.0.0.1:4222", instanceId: "order-1" })],
 * });
 * ```
 */
export function natsRpcTransport(options: NatsRpcTransportOptions): NatsRpcTransport {
  checkSource(options, ACTION);
  const prefix = checkSubjectPrefix(options.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX, ACTION);
  if (options.instanceId !== undefined) subjectToken(options.instanceId);
  if (options.queue !== undefined) subjectToken(options.queue);
  return new NatsRpcServer(options, prefix);
}

class NatsRpcServer implements NatsRpcTransport {
  readonly name = "nats" as const;
  readonly #options: NatsRpcTransportOptions;
  readonly #prefix: string;
  #host: ServiceHost | undefined;
  #nc: NatsRpcConnection | undefined;
  #owned = false;
  #instanceId: string | undefined;
  #subscriptions: NatsRpcSubscription[] = [];
  readonly #slab = new Slab();
  #inFlight = 0;
  #idle: Array<() => void> = [];
  #stopping: Promise<void> | undefined;

  constructor(options: NatsRpcTransportOptions, prefix: string) {
    this.#options = options;
    this.#prefix = prefix;
  }

  get instanceId(): string | undefined {
    return this.#instanceId;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  async start(host: ServiceHost): Promise<{ hostname: string; port: number }> {
    if (this.#host) throw new Error("Cannot start the NATS RPC transport as it was started before");
    this.#host = host;
    const { nc, owned } = await openConnection(this.#options, `flotilla-rpc-${host.name}`);
    this.#nc = nc;
    this.#owned = owned;
    const instanceId = this.#options.instanceId ??
      `${host.name}-${crypto.randomUUID().slice(0, 8)}`;
    this.#instanceId = instanceId;
    const queue = subjectToken(this.#options.queue ?? host.name);
    try {
      for (const action of Object.keys(host.service.contract.actions)) {
        const callback = (error: Error | null, msg: NatsRpcMsg) =>
          this.#receive(action, error, msg);
        this.#subscriptions.push(
          nc.subscribe(natsRpcSubject(host.name, action, { prefix: this.#prefix }), {
            queue,
            callback,
          }),
          // A queue group of its own: should two processes share an id, one of them answers.
          nc.subscribe(natsRpcSubject(host.name, action, { prefix: this.#prefix, instanceId }), {
            queue: subjectToken(instanceId),
            callback,
          }),
        );
      }
      // Every subscription is known to the server before the host is announced.
      await nc.flush();
    } catch (error) {
      for (const subscription of this.#subscriptions) subscription.unsubscribe();
      this.#subscriptions = [];
      if (owned) await nc.close().catch(() => {});
      throw error;
    }
    host.logger.debug("NATS RPC transport started", {
      server: nc.getServer(),
      instance: instanceId,
    });
    return parseHostPort(nc.getServer());
  }

  stop(signal: AbortSignal): Promise<void> {
    this.#stopping ??= this.#stop(signal);
    return this.#stopping;
  }

  async #stop(signal: AbortSignal): Promise<void> {
    const nc = this.#nc;
    if (!nc) return;
    const subscriptions = this.#subscriptions;
    this.#subscriptions = [];
    // Unsubscribes at once, and resolves once every request routed here before is read.
    await untilAborted(
      Promise.allSettled(subscriptions.map((subscription) => subscription.drain())),
      signal,
    );
    await this.#whenIdle(signal);
    if (!this.#owned) return;
    if (this.#inFlight === 0) {
      await closeConnection(nc);
      return;
    }
    // The host aborts the calls left after its drain timeout; their replies still need the
    // connection, so it closes once they are out (or after a grace).
    const grace = AbortSignal.timeout(2_000);
    void this.#whenIdle(grace).then(() => closeConnection(nc));
  }

  #receive(action: string, error: Error | null, msg: NatsRpcMsg): void {
    const host = this.#host!;
    if (error) {
      host.logger.error("NATS RPC subscription failed", { action, error });
      return;
    }
    const reply = msg.reply;
    if (!reply) {
      host.logger.debug("NATS RPC request without a reply subject ignored", { action });
      return;
    }
    if (host.state !== "ready") {
      // Checked in the same turn as invoke() checks it: nothing has run, so the caller
      // may send the call elsewhere.
      const refusal = new UnavailableError(`Service "${host.name}" is ${host.state}`, {
        code: "SERVICE_NOT_READY",
      });
      const refused: NatsRpcReply = { ok: false, error: toWireError(refusal), refused: true };
      this.#send(reply, this.#slab.encode(JSON.stringify(refused)));
      return;
    }
    this.#inFlight++;
    void this.#handle(host, action, msg, reply);
  }

  async #handle(host: ServiceHost, action: string, msg: NatsRpcMsg, reply: string): Promise<void> {
    let trace: TraceContext | undefined;
    let body: Uint8Array;
    try {
      const headers = readRequestHeaders(msg);
      trace = continueTrace(headers.traceparent, headers.tracestate);
      const { output } = await host.invoke(
        action,
        readInput(msg.data),
        inboundMeta(headers, trace),
      );
      body = output === undefined ? OK_EMPTY : this.#okBody(JSON.stringify(output));
    } catch (error) {
      const failed: NatsRpcReply = { ok: false, error: toWireError(error, trace?.traceId) };
      body = this.#slab.encode(JSON.stringify(failed));
    }
    this.#send(reply, body);
    if (--this.#inFlight === 0 && this.#idle.length > 0) {
      const idle = this.#idle;
      this.#idle = [];
      for (const resolve of idle) resolve();
    }
  }

  /** `{"ok":true,"output":<json>}`, written in place rather than concatenated first. */
  #okBody(json: string): Uint8Array {
    const slab = this.#slab;
    slab.begin(json.length * 3 + OK_OPEN.length + 1);
    slab.bytes(OK_OPEN);
    slab.text(json);
    slab.bytes(OK_CLOSE);
    return slab.end();
  }

  #send(reply: string, body: Uint8Array): void {
    try {
      this.#nc!.publish(reply, body);
    } catch (error) {
      this.#host!.logger.warn("could not send a NATS RPC reply", { error });
    }
  }

  #whenIdle(signal: AbortSignal): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return untilAborted(new Promise<void>((resolve) => this.#idle.push(resolve)), signal);
  }
}

function inboundMeta(headers: RequestHeaderValues, trace: TraceContext): InboundMeta {
  const caller: Caller = headers.caller
    ? { kind: "service", service: headers.caller }
    : { kind: "external" };
  const meta: InboundMeta = { trace, caller, transport: "nats" };
  if (headers.timeout !== "") meta.timeoutMs = parseTimeout(headers.timeout);
  const key = headers.idempotencyKey;
  if (key !== "") {
    if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
      throw new FlotillaError(
        "INVALID_IDEMPOTENCY_KEY",
        "idempotency-key must be 1 to 255 visible ASCII characters",
        { kind: "INVALID_ARGUMENT" },
      );
    }
    meta.idempotencyKey = key;
  }
  return meta;
}

function parseTimeout(raw: string): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new FlotillaError(
      "INVALID_TIMEOUT",
      `${NATS_RPC_HEADERS.timeout} must be a positive number of milliseconds`,
      { kind: "INVALID_ARGUMENT" },
    );
  }
  return value;
}

/** The `input` of a request body `{"input": …}`; an empty body has none. */
function readInput(data: Uint8Array): unknown {
  if (data.length === 0) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(decoder.decode(data));
  } catch (error) {
    throw new ValidationError([{
      pointer: "",
      message: `the body is not valid JSON (${
        error instanceof Error ? error.message : String(error)
      })`,
    }], { code: "MALFORMED_JSON", cause: error });
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ValidationError(
      [{ pointer: "", message: 'the body must be an object {"input": …}' }],
      {
        code: "MALFORMED_ENVELOPE",
      },
    );
  }
  return (body as { input?: unknown }).input;
}

async function closeConnection(nc: NatsRpcConnection): Promise<void> {
  if (nc.isClosed()) return;
  await nc.flush().catch(() => {});
  await nc.close().catch(() => {});
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<T | void>((resolve, reject) => {
    const onAbort = () => resolve();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
