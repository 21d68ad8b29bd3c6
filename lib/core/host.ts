/**
 * The service host: dispatches calls to handlers and owns the lifecycle.
 *
 * Transports (HTTP now, gRPC and brokers later) decode a request, hand it to
 * {@link ServiceHost.invoke} and encode what comes back. The host validates
 * input and output against the contract, builds the call's {@link Context},
 * enforces the deadline, counts in-flight calls, and on stop drains them:
 * `/readyz` turns 503, transports stop accepting, in-flight calls finish (or
 * are aborted after the drain timeout), then `onStop` closes resources.
 *
 * @module
 */

import { type Clock, systemClock } from "./clock.ts";
import { DeadlineSweeper, type DeadlineWatch } from "./deadline_sweeper.ts";
import { CallContext, type Caller, type Context } from "./context.ts";
import {
  DeadlineExceededError,
  FlotillaError,
  NotFoundError,
  UnavailableError,
  ValidationError,
} from "./errors.ts";
import { Logger } from "./logger.ts";
import { type SchemaResult, toFieldIssues, validate } from "./schema.ts";
import type { Service } from "./service.ts";
import { continueTrace, type TraceContext } from "./trace.ts";
import type { ActionSpec } from "./contract.ts";
import { streamItemOf } from "./stream_of.ts";

type HandlerFn = (input: unknown, ctx: Context) => unknown;

/** What {@link ServiceHost.invoke} needs of an action, looked up once per action. */
interface ActionEntry {
  readonly spec: ActionSpec;
  readonly handler: HandlerFn;
  readonly streaming: boolean;
}

/**
 * One call whose handler returned a promise: watched by the host's deadline
 * sweeper as is (it is its own {@link DeadlineWatch}), and counted in flight
 * until its handler settles — which may be after the call was answered (a
 * deadline passed, the host stopped). One record and two reactions per call,
 * rather than a promise, closure and set entry each for the deadline race,
 * the sweeper's watch and the in-flight count.
 */
class HostCall implements Invocation, DeadlineWatch {
  readonly action: ActionEntry;
  readonly ctx: CallContext;
  readonly observation: InboundObservation | undefined;
  readonly deadline: number;
  /** The handler's promise, for a drain to wait on. */
  readonly running: Promise<unknown>;
  /** Settle `invoke()`'s promise; both `undefined` once it is settled. */
  resolve: ((result: InvokeResult | Promise<InvokeResult>) => void) | undefined;
  reject: ((reason: unknown) => void) | undefined;
  readonly #onExpire: (call: HostCall) => void;

  constructor(
    invocation: Invocation,
    running: Promise<unknown>,
    onExpire: (call: HostCall) => void,
  ) {
    this.action = invocation.action;
    this.ctx = invocation.ctx;
    this.observation = invocation.observation;
    this.deadline = invocation.ctx.deadline!;
    this.running = running;
    this.resolve = undefined;
    this.reject = undefined;
    this.#onExpire = onExpire;
  }

  /** The deadline passed before the handler settled. */
  expire(): void {
    this.#onExpire(this);
  }
}

/** What the steps of {@link ServiceHost.invoke} need of a call, whether or not its handler is async. */
interface Invocation {
  readonly action: ActionEntry;
  readonly ctx: CallContext;
  readonly observation: InboundObservation | undefined;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === "function";
}

/** Where a host is in its life. */
export type HostState = "starting" | "ready" | "draining" | "stopped";

/** What a transport knows about an inbound call, besides its input. */
export interface InboundMeta {
  /** The span of this call, when the transport already opened it. */
  trace?: TraceContext | undefined;
  /** The caller's W3C `traceparent`. */
  traceparent?: string | null | undefined;
  /** The caller's W3C `tracestate`. */
  tracestate?: string | null | undefined;
  /** Milliseconds the caller is willing to wait. */
  timeoutMs?: number | undefined;
  /** Who called. */
  caller?: Caller | undefined;
  /** The caller's idempotency key. */
  idempotencyKey?: string | undefined;
  /** Aborted when the caller goes away. */
  signal?: AbortSignal | undefined;
  /** The transport the call came through: `http`, `grpc`, `nats`. @default {"http"} */
  transport?: string | undefined;
}

/** What the host tells an {@link InboundObserver} about a call when it starts. */
export interface InboundCall {
  /** The service handling it. */
  readonly service: string;
  /** The action. */
  readonly action: string;
  /** The transport it came through: `http`, `grpc`, `nats`. */
  readonly transport: string;
  /** The call's span: `meta.trace`, or the one continuing the caller's `traceparent`. */
  readonly trace: TraceContext;
  /** The calling service, when a peer called. */
  readonly caller?: string | undefined;
}

/** An inbound call being observed. */
export interface InboundObservation {
  /**
   * The call's trace with the sampling decision applied (a root trace is
   * decided here): the host builds the call's `Context` with it, so what the
   * handler propagates matches what is exported.
   */
  readonly trace: TraceContext;
  /** The call ended; `error` is undefined on success. */
  end(error: unknown): void;
}

/**
 * Watches the calls a host handles (a server span and RED metrics per call:
 * `serverObserver` of `@flotilla/telemetry`). The host calls `start` once the
 * action is known and the host ready, before the input is validated.
 */
export interface InboundObserver {
  /** A call starts. */
  start(call: InboundCall): InboundObservation;
}

/** The outcome of a successful call. */
export interface InvokeResult {
  /** The validated output. */
  output: unknown;
  /** The span the call ran in. */
  trace: TraceContext;
}

/** A server that exposes a host's actions over some protocol. */
export interface Transport {
  /** Protocol name, for logs: `http`, `grpc`. */
  readonly name: string;
  /** Starts accepting calls; resolves to the address it listens on. */
  start(host: ServiceHost): Promise<{ hostname: string; port: number }>;
  /** Stops accepting calls and waits for in-flight ones, at most until `signal` aborts. */
  stop(signal: AbortSignal): Promise<void>;
}

/** Options of {@link ServiceHost}. */
export interface HostOptions {
  /** The service's logger. @default {a JSON logger with the service name} */
  logger?: Logger;
  /** Clock for deadlines. @default {systemClock} */
  clock?: Clock;
  /** Deadline of calls that arrive without one. @default {30_000} */
  defaultTimeoutMs?: number;
  /** Upper bound on any caller's deadline. @default {300_000} */
  maxTimeoutMs?: number;
  /** How long a stop waits for in-flight calls before aborting them. @default {10_000} */
  drainTimeoutMs?: number;
  /** Tracing and metrics of inbound calls. @default {none} */
  inbound?: InboundObserver;
}

/**
 * Runs one service's handlers on behalf of its transports.
 *
 * @example
 * ```ts
 * const host = new ServiceHost(service);
 * const { output } = await host.invoke("greet", { name: "Ada" }, {});
 * ```
 */
export class ServiceHost {
  /** The service it runs. */
  readonly service: Service;
  /** The service's logger. */
  readonly logger: Logger;
  /** The clock deadlines use. */
  readonly clock: Clock;
  readonly #defaultTimeoutMs: number;
  readonly #maxTimeoutMs: number;
  readonly #drainTimeoutMs: number;
  readonly #inbound: InboundObserver | undefined;
  readonly #deadlines: DeadlineSweeper;
  /** Calls whose async handler has not settled yet (answered or not). */
  readonly #inFlight = new Set<HostCall>();
  /** The actions called so far, so that a call looks its action up once. */
  readonly #actions = new Map<string, ActionEntry>();
  /** One function for every call's deadline, so a watch costs no closure. */
  readonly #onDeadline = (call: HostCall) => this.#expire(call, new DeadlineExceededError());
  #state: HostState = "starting";

  /** Creates a host in the `starting` state. */
  constructor(service: Service, options: HostOptions = {}) {
    this.service = service;
    this.logger = options.logger ??
      new Logger({ fields: { service: service.contract.name } });
    this.clock = options.clock ?? systemClock;
    this.#deadlines = new DeadlineSweeper(this.clock);
    this.#defaultTimeoutMs = positive(
      "defaultTimeoutMs",
      options.defaultTimeoutMs ?? 30_000,
    );
    this.#maxTimeoutMs = positive(
      "maxTimeoutMs",
      options.maxTimeoutMs ?? 300_000,
    );
    this.#drainTimeoutMs = positive(
      "drainTimeoutMs",
      options.drainTimeoutMs ?? 10_000,
    );
    this.#inbound = options.inbound;
  }

  /** The service's name. */
  get name(): string {
    return this.service.contract.name;
  }

  /** Where the host is in its life. */
  get state(): HostState {
    return this.#state;
  }

  /**
   * The observer of inbound calls, for a transport that runs a handler
   * without {@link ServiceHost.invoke} (a gRPC stream).
   */
  get inbound(): InboundObserver | undefined {
    return this.#inbound;
  }

  /** Number of calls being handled now. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Marks the host ready to take calls (transports are up). */
  markReady(): void {
    if (this.#state === "starting") this.#state = "ready";
  }

  /** Whether the host is ready and every readiness check passes, with each check's result. */
  async readiness(): Promise<
    { ready: boolean; state: HostState; checks: Record<string, boolean> }
  > {
    const checks: Record<string, boolean> = {};
    for (const check of this.service.readiness) {
      try {
        checks[check.name] = await check.check();
      } catch {
        checks[check.name] = false;
      }
    }
    const ready = this.#state === "ready" &&
      Object.values(checks).every(Boolean);
    return { ready, state: this.#state, checks };
  }

  /** The spec of `action`, or `undefined` if the contract has none. */
  action(action: string): ActionSpec | undefined {
    return Object.hasOwn(this.service.contract.actions, action)
      ? this.service.contract.actions[action]
      : undefined;
  }

  /**
   * Validates `input`, runs the action's handler in a fresh context and
   * validates its output.
   *
   * @throws {FlotillaError} — `INVALID_ARGUMENT` for bad input, `NOT_FOUND`
   * for an unknown action, `UNAVAILABLE` while draining, `DEADLINE_EXCEEDED`
   * when the deadline passes first, or whatever the handler threw.
   */
  invoke(
    action: string,
    input: unknown,
    meta: InboundMeta,
  ): Promise<InvokeResult> {
    // Written without `async`, and with a synchronous path for a synchronous handler: this
    // is every call's path on the server, and each promise, closure and microtask of it shows.
    let call: Invocation;
    try {
      call = this.#admit(action, meta);
    } catch (error) {
      return Promise.reject(error);
    }
    try {
      const checked = validate(call.action.spec.input, input);
      return checked instanceof Promise
        ? checked.then((result) => this.#run(call, result), (error) => this.#failed(call, error))
        : this.#run(call, checked);
    } catch (error) {
      return this.#failed(call, error);
    }
  }

  /** The refusals before anything is observed, then the call's context and observation. */
  #admit(action: string, meta: InboundMeta): Invocation {
    const entry = this.#actionEntry(action);
    if (!entry) {
      throw new NotFoundError(
        "UNKNOWN_ACTION",
        `Service "${this.name}" has no action "${action}"`,
      );
    }
    if (this.#state !== "ready") {
      throw new UnavailableError(`Service "${this.name}" is ${this.#state}`, {
        code: "SERVICE_NOT_READY",
      });
    }
    if (entry.streaming) {
      // A stream would outlive this call's context and in-flight count; only a streaming
      // transport (gRPC) serves it, with a context that lasts as long as the stream.
      throw new FlotillaError(
        "STREAMING_ACTION",
        `Action "${action}" streams its output: call it over gRPC`,
        { kind: "UNIMPLEMENTED" },
      );
    }
    const timeout = Math.min(
      meta.timeoutMs ?? this.#defaultTimeoutMs,
      this.#maxTimeoutMs,
    );
    const deadline = this.clock.now() + timeout;
    const trace = meta.trace ?? continueTrace(meta.traceparent, meta.tracestate);
    const observation = this.#inbound?.start({
      service: this.name,
      action,
      transport: meta.transport ?? "http",
      trace,
      caller: meta.caller?.service,
    });
    const ctx = new CallContext({
      service: this.name,
      action,
      deadline,
      trace: observation?.trace ?? trace,
      caller: meta.caller ?? { kind: "external" },
      idempotencyKey: meta.idempotencyKey,
      logger: this.logger,
      clock: this.clock,
      signal: meta.signal,
    });
    return { action: entry, ctx, observation };
  }

  #actionEntry(action: string): ActionEntry | undefined {
    let entry = this.#actions.get(action);
    if (entry === undefined) {
      const spec = this.action(action);
      // Unknown names are not remembered: a caller must not grow the map at will.
      if (spec === undefined) return undefined;
      entry = {
        spec,
        handler: (this.service.handlers as Record<string, HandlerFn>)[action]!,
        streaming: streamItemOf(spec.output) !== undefined,
      };
      this.#actions.set(action, entry);
    }
    return entry;
  }

  /** Runs the handler on valid input; the answer at once when the handler is synchronous. */
  #run(call: Invocation, checked: SchemaResult<unknown>): Promise<InvokeResult> {
    let output: unknown;
    try {
      if (checked.issues) throw new ValidationError(toFieldIssues(checked.issues));
      call.ctx.throwIfDone();
      output = call.action.handler(checked.value, call.ctx);
    } catch (error) {
      return this.#failed(call, error);
    }
    if (isThenable(output)) return this.#untilDeadline(call, Promise.resolve(output));
    // No deadline can pass while a synchronous handler runs, nor can a drain see it.
    try {
      return Promise.resolve(this.#answer(call, output));
    } catch (failure) {
      return Promise.reject(failure); // already ended by #answer
    }
  }

  /**
   * Resolves with the answer once the handler's promise settles, or rejects
   * when the call's deadline passes first. One sweeper timer serves every
   * call in flight, instead of a timer per call (see {@link DeadlineSweeper}):
   * deadlines are enforced to within its interval.
   */
  #untilDeadline(invocation: Invocation, running: Promise<unknown>): Promise<InvokeResult> {
    const call = new HostCall(invocation, running, this.#onDeadline);
    const { promise, resolve, reject } = Promise.withResolvers<InvokeResult>();
    call.resolve = resolve;
    call.reject = reject;
    this.#inFlight.add(call);
    this.#deadlines.add(call);
    running.then(
      (output) => this.#handled(call, output, undefined, true),
      (error) => this.#handled(call, undefined, error, false),
    );
    return promise;
  }

  #handled(call: HostCall, output: unknown, error: unknown, ok: boolean): void {
    this.#inFlight.delete(call);
    const { resolve, reject } = call;
    // Already answered: the deadline passed or the host stopped while the handler ran.
    if (resolve === undefined || reject === undefined) return;
    call.resolve = call.reject = undefined;
    this.#deadlines.delete(call);
    if (!ok) {
      reject(this.#fail(call, error));
      return;
    }
    try {
      resolve(this.#answer(call, output));
    } catch (failure) {
      reject(failure);
    }
  }

  #expire(call: HostCall, reason: FlotillaError): void {
    const reject = call.reject;
    if (reject === undefined) return;
    call.resolve = call.reject = undefined;
    this.#deadlines.delete(call);
    call.ctx.abort(reason);
    reject(this.#fail(call, reason));
  }

  /**
   * Validates the handler's output and ends the call: its result, or throws
   * its (normalized) error; a promise only for an async output schema.
   */
  #answer(call: Invocation, output: unknown): InvokeResult | Promise<InvokeResult> {
    let checked;
    try {
      checked = validate(call.action.spec.output, output);
    } catch (error) {
      throw this.#fail(call, error);
    }
    if (checked instanceof Promise) {
      return checked.then((result) => this.#accept(call, result), (error) => {
        throw this.#fail(call, error);
      });
    }
    return this.#accept(call, checked);
  }

  #accept(call: Invocation, checked: SchemaResult<unknown>): InvokeResult {
    const ctx = call.ctx;
    if (checked.issues) {
      ctx.logger.error("handler returned output that breaks the contract", {
        issues: toFieldIssues(checked.issues),
      });
      throw this.#fail(
        call,
        new FlotillaError(
          "INVALID_OUTPUT",
          `Action "${ctx.action}" produced an invalid response`,
          { kind: "INTERNAL" },
        ),
      );
    }
    call.observation?.end(undefined);
    ctx[Symbol.dispose]();
    return { output: checked.value, trace: ctx.trace };
  }

  /** Ends a failed call: the error normalized, observed and returned, the context released. */
  #fail(call: Invocation, error: unknown): unknown {
    const normalized = this.#normalize(error, call.ctx);
    call.observation?.end(normalized);
    call.ctx[Symbol.dispose]();
    return normalized;
  }

  #failed(call: Invocation, error: unknown): Promise<never> {
    return Promise.reject(this.#fail(call, error));
  }

  /**
   * Stops taking calls and waits for in-flight ones; after the drain timeout,
   * aborts what is left. Then runs the service's `onStop`. Idempotent.
   */
  async stop(transports: readonly Transport[] = []): Promise<void> {
    if (this.#state === "draining" || this.#state === "stopped") return;
    this.#state = "draining";
    this.logger.info("draining", { in_flight: this.inFlight });
    const deadline = AbortSignal.timeout(this.#drainTimeoutMs);
    await Promise.all([
      ...transports.map((transport) =>
        transport.stop(deadline).catch((error) =>
          this.logger.error("transport failed to stop", {
            transport: transport.name,
            error,
          })
        )
      ),
      this.#waitForInFlight(deadline),
    ]);
    if (this.#inFlight.size > 0) {
      this.logger.warn("drain timed out; aborting in-flight calls", {
        in_flight: this.#inFlight.size,
      });
      const reason = new UnavailableError(`Service "${this.name}" is stopping`, {
        code: "SHUTTING_DOWN",
      });
      for (const call of [...this.#inFlight]) this.#expire(call, reason);
      // Handlers that ignore their signal get a short grace, not a veto over stopping.
      const grace = new AbortController();
      const timer = setTimeout(() => grace.abort(), Math.min(1_000, this.#drainTimeoutMs));
      await this.#waitForInFlight(grace.signal);
      clearTimeout(timer);
      if (this.#inFlight.size > 0) {
        this.logger.warn("stopping with handlers that ignored the abort", {
          in_flight: this.#inFlight.size,
        });
      }
    }
    try {
      await this.service.onStop?.();
    } catch (error) {
      this.logger.error("onStop failed", { error });
    }
    this.#state = "stopped";
    this.logger.info("stopped");
  }

  async #waitForInFlight(deadline: AbortSignal): Promise<void> {
    while (this.#inFlight.size > 0 && !deadline.aborted) {
      const running = [...this.#inFlight].map((call) => call.running);
      await raceAbort(Promise.allSettled(running), deadline).catch(
        () => {},
      );
    }
  }

  #normalize(error: unknown, ctx: Context): unknown {
    if (error instanceof FlotillaError) {
      if (error.kind === "INTERNAL" || error.kind === "UNKNOWN") {
        ctx.logger.error("action failed", { error });
      }
      return error;
    }
    ctx.logger.error("action failed with an unexpected error", { error });
    return error;
  }
}

/** Options of {@link runService}. */
export interface RunOptions extends HostOptions {
  /** The transports to serve on. */
  transports: readonly Transport[];
  /**
   * Publishes the running service (to a registry) once it is ready, and
   * withdraws it first thing on stop, before draining.
   */
  announcer?: Announcer;
  /** Signals that start a graceful stop. @default {["SIGTERM", "SIGINT"]} */
  signals?: readonly Deno.Signal[];
}

/** Makes a running service findable, e.g. by registering it in a service registry. */
export interface Announcer {
  /** Announces the host at its transports' addresses; resolves to a way to withdraw it. */
  announce(
    host: ServiceHost,
    addresses: Readonly<Record<string, { hostname: string; port: number }>>,
  ): Promise<Announcement>;
}

/** A live announcement. */
export interface Announcement {
  /** Withdraws the announcement (deregisters). Idempotent. */
  withdraw(): Promise<void>;
}

/** A service that is up. Dispose it (or send SIGTERM) to drain and stop it. */
export interface RunningService extends AsyncDisposable {
  /** The host that runs it. */
  readonly host: ServiceHost;
  /** Where each transport listens, by transport name. */
  readonly addresses: Readonly<
    Record<string, { hostname: string; port: number }>
  >;
  /** Resolves once the service has stopped. */
  readonly finished: Promise<void>;
  /** Drains and stops the service. */
  stop(): Promise<void>;
}

/**
 * Starts a service on its transports, marks it ready and stops it gracefully
 * on SIGTERM or SIGINT.
 *
 * @example
 * ```ts
 * const running = await runService(service, { transports: [httpTransport({ port: 8080 })] });
 * await running.finished; // until SIGTERM has drained it
 * ```
 */
export async function runService(
  service: Service,
  options: RunOptions,
): Promise<RunningService> {
  const host = new ServiceHost(service, options);
  const addresses: Record<string, { hostname: string; port: number }> = {};
  const started: Transport[] = [];
  try {
    for (const transport of options.transports) {
      addresses[transport.name] = await transport.start(host);
      started.push(transport);
    }
  } catch (error) {
    await host.stop(started);
    throw error;
  }
  host.markReady();
  let announcement: Announcement | undefined;
  if (options.announcer) {
    try {
      announcement = await options.announcer.announce(host, addresses);
    } catch (error) {
      await host.stop(started);
      throw error;
    }
  }
  host.logger.info("ready", { version: service.contract.version, addresses });

  let resolveFinished!: () => void;
  const finished = new Promise<void>((resolve) => resolveFinished = resolve);
  const signals = options.signals ?? ["SIGTERM", "SIGINT"];
  let stopping: Promise<void> | undefined;
  const onSignal = () => {
    host.logger.info("signal received; stopping");
    void stop();
  };
  const stop = () => {
    stopping ??= (async () => {
      for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
      // Leave discovery first, so callers stop choosing this instance while it drains.
      await announcement?.withdraw().catch((error) =>
        host.logger.warn("could not withdraw from discovery", { error })
      );
      await host.stop(started);
      resolveFinished();
    })();
    return stopping;
  };
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  return { host, addresses, finished, stop, [Symbol.asyncDispose]: stop };
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function abortReason(signal: AbortSignal): unknown {
  const reason = signal.reason;
  if (reason instanceof FlotillaError) return reason;
  if (reason instanceof DOMException && reason.name === "TimeoutError") {
    return new DeadlineExceededError();
  }
  return new FlotillaError("CANCELLED", "The call was cancelled", {
    kind: "CANCELLED",
    cause: reason,
  });
}

function positive(name: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new RangeError(
      `Cannot create the host as '${name}' must be a positive number: current value is ${value}`,
    );
  }
  return value;
}
