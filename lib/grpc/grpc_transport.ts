/**
 * The gRPC transport: serves a host's actions with grpc-js on `node:http2`.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import {
  type Caller,
  continueTrace,
  createContext,
  FlotillaError,
  type InboundMeta,
  type InboundObservation,
  NotFoundError,
  type ServiceHost,
  toFieldIssues,
  type TraceContext,
  type Transport,
  UnavailableError,
  validate,
  ValidationError,
} from "@flotilla/core";
import { EncodeError, toBuffer } from "./_codec.ts";
import { HealthService } from "./_health.ts";
import { registerReflection } from "./_reflection.ts";
import {
  type ActionCodec,
  bindingInternals,
  defaultProtoSet,
  type GrpcBinding,
  JSON_SERVICE,
  jsonCodec,
} from "./grpc_binding.ts";
import { METADATA } from "./metadata.ts";
import { serverError } from "./errors.ts";
import { isAsyncIterable, streamItemOf } from "@flotilla/core";

/** Options of {@link grpcTransport}. */
export interface GrpcTransportOptions {
  /** Port to listen on; 0 picks a free one (`start` resolves to it). */
  port: number;
  /** Address to bind. @default {"127.0.0.1"} */
  hostname?: string;
  /**
   * The host's contract bound to a service of a .proto ({@link grpcBinding}).
   * Without one, the actions are served by the JSON fallback service alone.
   */
  binding?: GrpcBinding;
  /** Whether to serve every action over the JSON fallback `flotilla.json.v1.Json` as well. @default {true} */
  json?: boolean;
  /** Whether to serve server reflection (`grpc.reflection.v1` and `v1alpha`). @default {true} */
  reflection?: boolean;
  /** How often watched health is re-checked (readiness checks may change). @default {1_000} */
  healthPollMs?: number;
  /** Largest request accepted, in bytes. @default {4_194_304} */
  maxMessageBytes?: number;
}

const identity = <T>(value: T): T => value;

/** What unary and streaming server calls have in common. */
type ServerCall = grpc.ServerUnaryCall<Buffer, Buffer> | grpc.ServerWritableStream<Buffer, Buffer>;

/**
 * A core {@link Transport} named `grpc` that serves the host's actions over
 * gRPC on its own port, with grpc-js on `node:http2` (`Deno.serve` cannot
 * send the HTTP trailers gRPC needs):
 *
 * - each action of the binding as its proto method, its request decoded and
 *   then validated by the contract (bad input: `INVALID_ARGUMENT` naming
 *   the field, before any handler runs), a {@link streamOf} output as a
 *   server stream;
 * - every action over the JSON fallback `flotilla.json.v1.Json/Call` (and
 *   `/Stream`), unless `json` is false;
 * - `grpc.health.v1.Health` (`Check`, `List`, `Watch`): `SERVING` while the
 *   host is ready and its readiness checks pass, `NOT_SERVING` while it
 *   starts and from the moment it drains;
 * - server reflection `v1` and `v1alpha`.
 *
 * The deadline (`grpc-timeout`) becomes the call's deadline and a
 * cancellation by the caller aborts its context; `traceparent`,
 * `tracestate`, `flotilla-caller` and `idempotency-key` metadata carry the
 * trace, caller and idempotency key. Errors leave as gRPC statuses with the
 * rich error details of {@link toGrpcStatus}.
 *
 * Stopping turns health to `NOT_SERVING`, ends open streams with
 * `UNAVAILABLE` (`SHUTTING_DOWN`), waits for the calls in flight (new ones
 * are refused by the draining host with `UNAVAILABLE`), then closes the
 * server — forcibly once `signal` aborts.
 *
 * @example
 * ```ts
 * const binding = grpcBinding(inventoryContract, { proto: protoUrl, service: "flotilla.shop.v1.InventoryService" });
 * const running = await runService(service, {
 *   transports: [httpTransport({ port: 8080 }), grpcTransport({ port: 9090, binding })],
 * });
 * running.addresses.grpc; // { hostname: "127.0.0.1", port: 9090 }
 * ```
 *
 * @throws {RangeError} for an invalid option; `start` for a binding of another contract.
 */
export function grpcTransport(options: GrpcTransportOptions): Transport {
  return new GrpcServer(options);
}

interface OpenStream {
  readonly controller: AbortController;
}

class GrpcServer implements Transport {
  readonly name = "grpc";
  readonly #options: GrpcTransportOptions;
  #server: grpc.Server | undefined;
  #host: ServiceHost | undefined;
  #health: HealthService | undefined;
  readonly #streams = new Set<OpenStream>();
  #inFlight = 0;
  #idle: (() => void) | undefined;
  #stopping = false;

  constructor(options: GrpcTransportOptions) {
    const port = options.port;
    if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) {
      throw new RangeError(
        `Cannot create the gRPC transport as 'port' must be an integer from 0 to 65535: current value is ${port}`,
      );
    }
    for (const name of ["healthPollMs", "maxMessageBytes"] as const) {
      const value = options[name];
      if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
        throw new RangeError(
          `Cannot create the gRPC transport as '${name}' must be a positive integer: current value is ${value}`,
        );
      }
    }
    this.#options = options;
  }

  start(host: ServiceHost): Promise<{ hostname: string; port: number }> {
    const options = this.#options;
    const contract = host.service.contract;
    const binding = options.binding;
    if (binding && binding.contract.name !== contract.name) {
      throw new RangeError(
        `Cannot serve "${contract.name}" over gRPC as the binding is of "${binding.contract.name}"`,
      );
    }
    this.#host = host;
    const protos = binding ? bindingInternals(binding).protos : defaultProtoSet();
    const server = new grpc.Server({
      "grpc.max_receive_message_length": options.maxMessageBytes ?? 4 * 1024 * 1024,
    });
    const services: string[] = [];
    if (binding) {
      services.push(binding.service);
      for (const codec of bindingInternals(binding).codecs.values()) {
        this.#register(server, codec.method.path, codec, codec.method.stream);
      }
    }
    if (options.json ?? true) {
      services.push(JSON_SERVICE);
      const call = jsonCodec(contract.name, "");
      this.#register(server, `/${JSON_SERVICE}/Call`, call, false);
      this.#register(server, `/${JSON_SERVICE}/Stream`, call, true);
    }
    this.#health = new HealthService(
      host,
      [contract.name, ...services],
      protos.root,
      options.healthPollMs ?? 1_000,
    );
    this.#health.register(server);
    services.push("grpc.health.v1.Health");
    if (options.reflection ?? true) {
      services.push(
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
      );
      registerReflection(server, protos, services);
    }
    this.#server = server;
    const hostname = options.hostname ?? "127.0.0.1";
    const address = hostname.includes(":") ? `[${hostname}]` : hostname;
    return new Promise((resolve, reject) => {
      server.bindAsync(
        `${address}:${options.port}`,
        grpc.ServerCredentials.createInsecure(),
        (error, port) => error ? reject(error) : resolve({ hostname, port }),
      );
    });
  }

  async stop(signal: AbortSignal): Promise<void> {
    const server = this.#server;
    if (!server || this.#stopping) return;
    this.#stopping = true;
    await this.#health?.drain();
    const reason = new UnavailableError(`Service "${this.#host?.name}" is stopping`, {
      code: "SHUTTING_DOWN",
    });
    for (const stream of this.#streams) stream.controller.abort(reason);
    if (this.#inFlight > 0) {
      await untilAborted(new Promise<void>((resolve) => this.#idle = resolve), signal);
    }
    this.#health?.close();
    await untilAborted(
      new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
      signal,
    );
    if (signal.aborted) server.forceShutdown();
  }

  #register(server: grpc.Server, path: string, codec: ActionCodec, stream: boolean): void {
    if (stream) {
      server.register<Buffer, Buffer>(
        path,
        ((call: grpc.ServerWritableStream<Buffer, Buffer>) =>
          void this.#serveStream(call, codec)) as grpc.handleServerStreamingCall<Buffer, Buffer>,
        identity,
        identity,
        "serverStream",
      );
    } else {
      server.register<Buffer, Buffer>(
        path,
        ((call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
          this.#serveUnary(call, callback, codec)) as grpc.handleUnaryCall<Buffer, Buffer>,
        identity,
        identity,
        "unary",
      );
    }
  }

  #serveUnary(
    call: grpc.ServerUnaryCall<Buffer, Buffer>,
    callback: grpc.sendUnaryData<Buffer>,
    codec: ActionCodec,
  ): void {
    const host = this.#host!;
    // grpc-js reports every call's end as "cancelled": only one that comes before the answer is.
    let answered = false;
    const reply: grpc.sendUnaryData<Buffer> = (error, value) => {
      answered = true;
      callback(error, value);
    };
    let trace: TraceContext | undefined;
    let action: string;
    let input: unknown;
    let meta: InboundMeta & { trace: TraceContext };
    try {
      meta = inboundMeta(call);
      trace = meta.trace;
      ({ action, input } = codec.decodeInput(call.request));
      const spec = host.action(action);
      if (spec && streamItemOf(spec.output)) {
        throw new FlotillaError(
          "STREAMING_ACTION",
          `Action "${action}" streams its output: call ${JSON_SERVICE}/Stream`,
          { kind: "FAILED_PRECONDITION" },
        );
      }
    } catch (error) {
      reply(serverError(error, trace ? { traceId: trace.traceId } : {}));
      return;
    }
    const controller = new AbortController();
    call.once("cancelled", () => {
      if (!answered) controller.abort(cancellation(call));
    });
    meta.signal = controller.signal;
    this.#inFlight++;
    host.invoke(action, input, meta).then(
      ({ output }) => {
        let bytes: Buffer;
        try {
          bytes = toBuffer(codec.encodeOutput(output));
        } catch (error) {
          reply(serverError(this.#outputError(action, error), { traceId: meta.trace.traceId }));
          return;
        }
        reply(null, bytes);
      },
      (error) => reply(serverError(error, { traceId: meta.trace.traceId })),
    ).finally(() => this.#done());
  }

  async #serveStream(
    call: grpc.ServerWritableStream<Buffer, Buffer>,
    codec: ActionCodec,
  ): Promise<void> {
    const host = this.#host!;
    const open: OpenStream = { controller: new AbortController() };
    const signal = open.controller.signal;
    let ended = false;
    call.once("cancelled", () => {
      if (!ended) open.controller.abort(cancellation(call));
    });
    this.#streams.add(open);
    let trace: TraceContext | undefined;
    let iterator: AsyncIterator<unknown> | undefined;
    let finished = false;
    let ctx: ReturnType<typeof createContext> | undefined;
    let observation: InboundObservation | undefined;
    try {
      const meta = inboundMeta(call);
      trace = meta.trace;
      const { action, input } = codec.decodeInput(call.request);
      const spec = host.action(action);
      if (!spec) {
        throw new NotFoundError(
          "UNKNOWN_ACTION",
          `Service "${host.name}" has no action "${action}"`,
        );
      }
      const item = streamItemOf(spec.output);
      if (!item) {
        throw new FlotillaError(
          "NOT_A_STREAM",
          `Action "${action}" does not stream its output: call ${JSON_SERVICE}/Call`,
          { kind: "FAILED_PRECONDITION" },
        );
      }
      if (this.#stopping || host.state !== "ready") {
        throw new UnavailableError(`Service "${host.name}" is ${host.state}`, {
          code: "SERVICE_NOT_READY",
        });
      }
      let checked = validate(spec.input, input);
      if (checked instanceof Promise) checked = await checked;
      observation = host.inbound?.start({
        service: host.name,
        action,
        transport: "grpc",
        trace: meta.trace,
        caller: meta.caller?.service,
      });
      if (observation) trace = observation.trace;
      if (checked.issues) throw new ValidationError(toFieldIssues(checked.issues));
      ctx = createContext({
        service: host.name,
        action,
        deadline: meta.timeoutMs === undefined ? undefined : host.clock.now() + meta.timeoutMs,
        trace,
        caller: meta.caller!,
        idempotencyKey: meta.idempotencyKey,
        logger: host.logger,
        clock: host.clock,
        signal,
      });
      const handler = (host.service.handlers as Record<
        string,
        (input: unknown, ctx: unknown) => unknown
      >)[action]!;
      const iterable = await handler(checked.value, ctx);
      if (!isAsyncIterable(iterable)) {
        throw this.#outputError(action, new TypeError("the handler returned no async iterable"));
      }
      iterator = iterable[Symbol.asyncIterator]();
      call.sendMetadata(new grpc.Metadata());
      for (let index = 0;; index++) {
        const next = await untilAbortedOrThrow(iterator.next(), signal);
        if (next.done) {
          finished = true;
          break;
        }
        let result = validate(item, next.value);
        if (result instanceof Promise) result = await result;
        if (result.issues) {
          ctx.logger.error("stream item breaks the contract", {
            index,
            issues: toFieldIssues(result.issues),
          });
          throw new FlotillaError("INVALID_OUTPUT", `Action "${action}" streamed an invalid item`, {
            kind: "INTERNAL",
          });
        }
        let bytes: Buffer;
        try {
          bytes = toBuffer(codec.encodeOutput(result.value));
        } catch (error) {
          throw this.#outputError(action, error);
        }
        if (!call.write(bytes)) await untilAbortedOrThrow(drained(call), signal);
      }
      ended = true;
      call.end();
      observation?.end(undefined);
    } catch (error) {
      ended = true;
      observation?.end(error);
      if (!call.cancelled) {
        if (!(error instanceof FlotillaError)) {
          host.logger.error("stream failed with an unexpected error", { error });
        }
        call.emit("error", serverError(error, trace ? { traceId: trace.traceId } : {}));
      }
    } finally {
      this.#streams.delete(open);
      if (iterator && !finished) void Promise.resolve(iterator.return?.()).catch(() => {});
      ctx?.[Symbol.dispose]();
    }
  }

  #outputError(action: string, error: unknown): FlotillaError {
    this.#host?.logger.error("output does not fit its proto message", {
      action,
      error: error instanceof EncodeError ? error.message : error,
    });
    return new FlotillaError("INVALID_OUTPUT", `Action "${action}" produced an invalid response`, {
      kind: "INTERNAL",
      cause: error,
    });
  }

  #done(): void {
    this.#inFlight--;
    if (this.#inFlight === 0 && this.#idle) {
      this.#idle();
      this.#idle = undefined;
    }
  }
}

/** What the call's metadata says about the call. */
function inboundMeta(call: ServerCall): InboundMeta & { trace: TraceContext } {
  const metadata = call.metadata;
  const trace = continueTrace(
    text(metadata, METADATA.traceparent),
    text(metadata, METADATA.tracestate),
  );
  const callerName = text(metadata, METADATA.caller);
  const caller: Caller = callerName
    ? { kind: "service", service: callerName }
    : { kind: "external" };
  const key = text(metadata, METADATA.idempotencyKey);
  if (key !== undefined && !/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw new FlotillaError(
      "INVALID_IDEMPOTENCY_KEY",
      "idempotency-key must be 1 to 255 visible ASCII characters",
      { kind: "INVALID_ARGUMENT" },
    );
  }
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  const meta: InboundMeta & { trace: TraceContext } = {
    trace,
    transport: "grpc",
    caller,
    idempotencyKey: key,
    timeoutMs: Number.isFinite(at) ? Math.max(1, at - Date.now()) : undefined,
  };
  return meta;
}

function text(metadata: grpc.Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return typeof value === "string" ? value : undefined;
}

/** Why a call was cancelled: its deadline passed, or its caller went away. */
/**
 * How close to its deadline a cancelled call counts as timed out: the
 * server's deadline is the caller's plus the request's transit, so a caller
 * whose own deadline fired cancels a little before the server's passes.
 */
const DEADLINE_SKEW_MS = 250;

function cancellation(call: ServerCall): FlotillaError {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  if (Number.isFinite(at) && at <= Date.now() + DEADLINE_SKEW_MS) {
    return new FlotillaError("DEADLINE_EXCEEDED", "Deadline exceeded", {
      kind: "DEADLINE_EXCEEDED",
    });
  }
  return new FlotillaError("CANCELLED", "The caller cancelled the call", { kind: "CANCELLED" });
}

function drained(call: grpc.ServerWritableStream<Buffer, Buffer>): Promise<void> {
  return new Promise((resolve) => call.once("drain", () => resolve()));
}

function untilAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      signal.removeEventListener("abort", done);
      resolve();
    };
    signal.addEventListener("abort", done, { once: true });
    promise.then(done, done);
  });
}

function untilAbortedOrThrow<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
