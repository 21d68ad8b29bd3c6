/**
 * The context of one call: its deadline, trace, caller, idempotency key and
 * logger. Handlers receive it and pass it on to the calls they make, so the
 * deadline shrinks and the trace continues across every hop.
 *
 * @module
 */

import { type Clock, systemClock } from "./clock.ts";
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
  signal?: AbortSignal;
  /** Clock for the deadline. @default {systemClock} */
  clock?: Clock;
}

/**
 * Creates the context of one call. Its signal aborts with a
 * {@link DeadlineExceededError} when the deadline passes; dispose the context
 * when the call is over to release the deadline timer.
 */
export function createContext(options: ContextOptions): Context & Disposable {
  const clock = options.clock ?? systemClock;
  const trace = options.trace ?? newTrace();
  const caller = options.caller ?? { kind: "external" };
  const deadline = options.deadline;
  const signals: AbortSignal[] = [];
  if (options.signal) signals.push(options.signal);
  const timer = deadline === undefined ? undefined : deadlineSignal(deadline - clock.now());
  if (timer) signals.push(timer.signal);
  const signal = signals.length === 0
    ? new AbortController().signal
    : signals.length === 1
    ? signals[0]!
    : AbortSignal.any(signals);
  const logger = (options.logger ?? new Logger()).child({
    action: options.action,
    trace_id: trace.traceId,
    span_id: trace.spanId,
  });
  const remaining = () => deadline === undefined ? Infinity : Math.max(0, deadline - clock.now());
  return {
    service: options.service,
    action: options.action,
    deadline,
    signal,
    trace,
    caller,
    idempotencyKey: options.idempotencyKey,
    logger,
    clock,
    remaining,
    throwIfDone() {
      if (signal.aborted) throw signal.reason;
      if (deadline !== undefined && remaining() <= 0) {
        throw new DeadlineExceededError();
      }
    },
    [Symbol.dispose]() {
      timer?.cancel();
    },
  };
}

/** A signal that aborts after `ms`, and a way to cancel the timer once the call is over. */
export function deadlineSignal(
  ms: number,
): { signal: AbortSignal; cancel(): void } {
  const controller = new AbortController();
  if (ms <= 0) {
    controller.abort(new DeadlineExceededError());
    return { signal: controller.signal, cancel() {} };
  }
  const timer: ReturnType<typeof setTimeout> = setTimeout(
    () => controller.abort(new DeadlineExceededError()),
    Math.min(ms, 2 ** 31 - 1),
  );
  return { signal: controller.signal, cancel: () => clearTimeout(timer) };
}
