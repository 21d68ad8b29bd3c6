/**
 * The context of one call: its deadline, trace, caller, idempotency key and
 * logger. Handlers receive it and pass it on to the calls they make, so the
 * deadline shrinks and the trace continues across every hop.
 *
 * @module
 */

import { type Clock, systemClock } from "./clock.ts";
import { deadlines } from "./deadline_sweeper.ts";
import { DeadlineExceededError } from "./errors.ts";
import { Logger } from "./logger.ts";
import { newTrace, type TraceContext } from "./trace.ts";

/** Who made a call. */
export interface Caller {
  /** `service` for a peer of ours, `external` for anyone else. */
  kind: "service" | "external";
  /** The calling service's name, when a peer called. */
  service?: string;
}

/** The context of one call. */
export interface Context {
  /** The service handling the call. */
  readonly service: string;
  /** The action being handled. */
  readonly action: string;
  /** Absolute deadline in epoch milliseconds, or `undefined` for none. */
  readonly deadline: number | undefined;
  /** Aborted when the deadline passes, the caller goes away or the host stops. */
  readonly signal: AbortSignal;
  /** The span of this call. */
  readonly trace: TraceContext;
  /** Who called. */
  readonly caller: Caller;
  /** The caller's `Idempotency-Key`, if it sent one. */
  readonly idempotencyKey: string | undefined;
  /** A logger whose records carry the service, action, `trace_id` and `span_id`. */
  readonly logger: Logger;
  /** The clock deadlines are measured with. */
  readonly clock: Clock;
  /** Milliseconds left before the deadline (`Infinity` without one, never below 0). */
  remaining(): number;
  /** Throws {@link DeadlineExceededError} if the deadline has passed, or the abort reason if aborted. */
  throwIfDone(): void;
  /**
   * Runs `listener` if the call is aborted (caller gone, host stopping),
   * without materialising {@link Context.signal}; returns an unsubscribe.
   */
  onAbort?(listener: (reason: unknown) => void): () => void;
}

/** Options of {@link createContext}. */
export interface ContextOptions {
  /** The service handling the call. */
  service: string;
  /** The action being handled. */
  action: string;
  /** Absolute deadline in epoch milliseconds. */
  deadline?: number | undefined;
  /** The span of this call. @default {a new root trace} */
  trace?: TraceContext;
  /** Who called. @default {{ kind: "external" }} */
  caller?: Caller;
  /** The caller's idempotency key. */
  idempotencyKey?: string | undefined;
  /** The service's logger; the context's logger is a child of it. */
  logger?: Logger;
  /** Aborted when the caller goes away or the host stops. */
  signal?: AbortSignal | undefined;
  /** Clock for the deadline. @default {systemClock} */
  clock?: Clock;
}

/**
 * Creates the context of one call. Its signal aborts with a
 * {@link DeadlineExceededError} when the deadline passes; dispose the context
 * when the call is over to release the deadline timer.
 *
 * The logger, the signal and the deadline timer are made on first use, so a
 * handler that never looks at them costs nothing for them: on the hot path
 * of a service, most handlers don't.
 */
export function createContext(options: ContextOptions): CallContext {
  return new CallContext(options);
}

/** The {@link Context} implementation: lazy logger, lazy signal, abortable by its owner. */
export class CallContext implements Context, Disposable {
  /** The service handling the call. */
  readonly service: string;
  /** The action being handled. */
  readonly action: string;
  /** Absolute deadline in epoch milliseconds, or `undefined` for none. */
  readonly deadline: number | undefined;
  /** The span of this call. */
  readonly trace: TraceContext;
  /** Who called. */
  readonly caller: Caller;
  /** The caller's idempotency key. */
  readonly idempotencyKey: string | undefined;
  /** The clock deadlines are measured with. */
  readonly clock: Clock;
  readonly #baseLogger: Logger | undefined;
  #logger: Logger | undefined;
  #controller: AbortController | undefined;
  #reason: unknown;
  #timer: { cancel(): void } | undefined;
  #parent: AbortSignal | undefined;
  #onParentAbort: (() => void) | undefined;
  #listeners: Set<(reason: unknown) => void> | undefined;

  /** Creates the context; see {@link createContext}. */
  constructor(options: ContextOptions) {
    this.service = options.service;
    this.action = options.action;
    this.deadline = options.deadline;
    this.trace = options.trace ?? newTrace();
    this.caller = options.caller ?? { kind: "external" };
    this.idempotencyKey = options.idempotencyKey;
    this.clock = options.clock ?? systemClock;
    this.#baseLogger = options.logger;
    const parent = options.signal;
    if (parent) {
      if (parent.aborted) this.#reason = parent.reason;
      else {
        this.#parent = parent;
        this.#onParentAbort = () => this.abort(parent.reason);
        parent.addEventListener("abort", this.#onParentAbort, { once: true });
      }
    }
  }

  /** A logger whose records carry the service, action, `trace_id` and `span_id`. */
  get logger(): Logger {
    return this.#logger ??= (this.#baseLogger ?? new Logger()).child({
      action: this.action,
      trace_id: this.trace.traceId,
      span_id: this.trace.spanId,
    });
  }

  /** Aborted when the deadline passes, the caller goes away or the host stops. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#reason !== undefined) this.#controller.abort(this.#reason);
      else if (this.deadline !== undefined) {
        const timer = deadlineSignal(this.deadline - this.clock.now());
        if (timer.signal.aborted) this.#controller.abort(timer.signal.reason);
        else {
          this.#timer = timer;
          timer.signal.addEventListener("abort", () => this.abort(timer.signal.reason), {
            once: true,
          });
        }
      }
    }
    return this.#controller.signal;
  }

  /** Whether the call was aborted (explicitly, by its caller, or because its deadline passed). */
  get aborted(): boolean {
    return this.#reason !== undefined || (this.deadline !== undefined && this.remaining() <= 0);
  }

  /** Milliseconds left before the deadline (`Infinity` without one, never below 0). */
  remaining(): number {
    return this.deadline === undefined ? Infinity : Math.max(0, this.deadline - this.clock.now());
  }

  /** Throws the abort reason, or {@link DeadlineExceededError} once the deadline has passed. */
  throwIfDone(): void {
    if (this.#reason !== undefined) throw this.#reason;
    if (this.deadline !== undefined && this.remaining() <= 0) throw new DeadlineExceededError();
  }

  /** Aborts the call with `reason` (its owner does this: the host on deadline or stop). */
  abort(reason: unknown): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason ?? new DeadlineExceededError();
    this.#controller?.abort(this.#reason);
    const listeners = this.#listeners;
    this.#listeners = undefined;
    for (const listener of listeners ?? []) listener(this.#reason);
    this.#release();
  }

  /** Runs `listener` once if the call is aborted; returns an unsubscribe. */
  onAbort(listener: (reason: unknown) => void): () => void {
    if (this.#reason !== undefined) {
      listener(this.#reason);
      return () => {};
    }
    (this.#listeners ??= new Set()).add(listener);
    return () => this.#listeners?.delete(listener);
  }

  /** Releases the deadline timer and the caller's signal. */
  [Symbol.dispose](): void {
    this.#release();
  }

  #release(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    if (this.#parent && this.#onParentAbort) {
      this.#parent.removeEventListener("abort", this.#onParentAbort);
      this.#parent = undefined;
    }
  }
}

/**
 * A signal that aborts with {@link DeadlineExceededError} after `ms`, and a
 * way to stop watching once the call is over. Served by the process-wide
 * {@link deadlines} sweeper, not a timer per call.
 */
export function deadlineSignal(ms: number): { signal: AbortSignal; cancel(): void } {
  const controller = new AbortController();
  if (ms <= 0) {
    controller.abort(new DeadlineExceededError());
    return { signal: controller.signal, cancel() {} };
  }
  const cancel = deadlines.watch(
    Date.now() + Math.min(ms, 2 ** 31 - 1),
    () => controller.abort(new DeadlineExceededError()),
  );
  return { signal: controller.signal, cancel };
}
