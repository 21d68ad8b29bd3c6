/**
 * Typed clients for a peer's contract.
 *
 * A client validates the input against the peer's contract, computes the
 * call's deadline (the caller's remaining time, capped by a timeout), opens a
 * child span of the caller's trace, and hands the call to a
 * {@link CallHandler} — the transport, or the pipeline in front of it. The
 * reply is validated against the contract's output schema.
 *
 * @module
 */

import { type Clock, systemClock } from "./clock.ts";
import { deadlines, DeadlineSweeper, type DeadlineWatch } from "./deadline_sweeper.ts";
import type { Context } from "./context.ts";
import type { ActionInput, ActionOutput, ServiceContract } from "./contract.ts";
import { DeadlineExceededError, FlotillaError, ValidationError } from "./errors.ts";
import { toFieldIssues, validate } from "./schema.ts";
import { childTrace, newTrace, type TraceContext } from "./trace.ts";

/** One outbound call, as a transport sees it. */
export interface OutboundCall {
  /** The callee's service name. */
  readonly service: string;
  /** The callee's action. */
  readonly action: string;
  /** The validated input. */
  readonly input: unknown;
  /** Whether the action may be retried after an ambiguous failure. */
  readonly idempotent: boolean;
  /** Absolute deadline in epoch milliseconds. */
  readonly deadline: number;
  /** The span of this call, a child of the caller's. */
  readonly trace: TraceContext;
  /** The calling service's name. */
  readonly caller: string;
  /** Idempotency key to send, if any. */
  readonly idempotencyKey: string | undefined;
  /** Aborted when the caller gives up. */
  readonly signal: AbortSignal;
  /** The clock the deadline is measured with. */
  readonly clock: Clock;
}

/** Performs an outbound call and resolves to the raw (unvalidated) output. */
export type CallHandler = (call: OutboundCall) => Promise<unknown>;

/** Per-call options of {@link ServiceClient.call}. */
export interface CallOptions {
  /** The context of the call being handled; its deadline and trace carry over. */
  ctx?: Context;
  /** Upper bound for this call; the caller's remaining time may be shorter. */
  timeoutMs?: number;
  /** Sent as `Idempotency-Key`. */
  idempotencyKey?: string;
  /** Aborts the call. */
  signal?: AbortSignal;
}

/** Options of {@link createClient}. */
export interface ClientOptions {
  /** Name of the calling service, sent to the callee. */
  caller: string;
  /** Timeout of calls whose options give none. @default {10_000} */
  defaultTimeoutMs?: number;
  /** Clock for deadlines. @default {systemClock} */
  clock?: Clock;
}

/** A typed client of one peer. */
export interface ServiceClient<C extends ServiceContract> {
  /** The peer's contract. */
  readonly contract: C;
  /** Calls `action` with `input`. */
  call<K extends keyof C["actions"] & string>(
    action: K,
    input: ActionInput<C, K>,
    options?: CallOptions,
  ): Promise<ActionOutput<C, K>>;
}

const noop = () => {};

/** Aborts a call's controller at its deadline: one object per call, no closures. */
class CallDeadline implements DeadlineWatch {
  readonly deadline: number;
  readonly #controller: AbortController;
  readonly #service: string;
  readonly #action: string;

  constructor(deadline: number, controller: AbortController, service: string, action: string) {
    this.deadline = deadline;
    this.#controller = controller;
    this.#service = service;
    this.#action = action;
  }

  expire(): void {
    this.#controller.abort(
      new DeadlineExceededError(`${this.#service}.${this.#action} ran out of time`),
    );
  }
}

function link(
  controller: AbortController,
  ...parents: Array<AbortSignal | undefined>
): () => void {
  const linked: Array<[AbortSignal, () => void]> = [];
  for (const parent of parents) {
    if (!parent) continue;
    if (parent.aborted) {
      controller.abort(parent.reason);
      continue;
    }
    const onAbort = () => controller.abort(parent.reason);
    parent.addEventListener("abort", onAbort, { once: true });
    linked.push([parent, onAbort]);
  }
  return () => {
    for (const [parent, onAbort] of linked) parent.removeEventListener("abort", onAbort);
  };
}

/**
 * Creates a typed client of the service described by `contract`.
 *
 * @example
 * ```ts
 * const inventory = createClient(inventoryContract, httpCallHandler({ resolve }), { caller: "order" });
 * const products = await inventory.call("getProducts", { skus: ["TEA-01"] }, { ctx });
 * ```
 */
export function createClient<C extends ServiceContract>(
  contract: C,
  handler: CallHandler,
  options: ClientOptions,
): ServiceClient<C> {
  const clock = options.clock ?? systemClock;
  const sweeper = clock === systemClock ? deadlines : new DeadlineSweeper(clock);
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 10_000;
  return {
    contract,
    async call(action, input, callOptions = {}) {
      const spec = contract.actions[action];
      if (!spec) {
        throw new FlotillaError(
          "UNKNOWN_ACTION",
          `"${contract.name}" has no action "${action}"`,
          {
            kind: "UNIMPLEMENTED",
          },
        );
      }
      let checkedInput = validate(spec.input, input);
      if (checkedInput instanceof Promise) checkedInput = await checkedInput;
      if (checkedInput.issues) throw new ValidationError(toFieldIssues(checkedInput.issues));
      const parsed = checkedInput.value;
      const ctx = callOptions.ctx;
      const now = clock.now();
      const timeout = callOptions.timeoutMs ?? defaultTimeoutMs;
      const deadline = Math.min(now + timeout, ctx?.deadline ?? Infinity);
      if (deadline <= now) {
        throw new DeadlineExceededError(
          `No time left to call ${contract.name}.${action}`,
        );
      }
      // One controller per call, aborted by the shared deadline sweeper: no timer per call.
      const controller = new AbortController();
      const watch = new CallDeadline(deadline, controller, contract.name, action);
      sweeper.add(watch);
      const unlinkCtx = !ctx
        ? noop
        : ctx.onAbort
        ? ctx.onAbort((reason) => controller.abort(reason))
        : link(controller, ctx.signal);
      const unlinkSignal = callOptions.signal ? link(controller, callOptions.signal) : noop;
      let raw: unknown;
      try {
        raw = await handler({
          service: contract.name,
          action,
          input: parsed,
          idempotent: spec.idempotent ?? false,
          deadline,
          trace: ctx ? childTrace(ctx.trace) : newTrace(),
          caller: options.caller,
          idempotencyKey: callOptions.idempotencyKey,
          signal: controller.signal,
          clock,
        });
      } finally {
        sweeper.delete(watch);
        unlinkCtx();
        unlinkSignal();
      }
      let checked = validate(spec.output, raw);
      if (checked instanceof Promise) checked = await checked;
      if (checked.issues) {
        throw new FlotillaError(
          "BAD_RESPONSE",
          `${contract.name}.${action} replied with output that breaks its contract`,
          { kind: "INTERNAL", issues: toFieldIssues(checked.issues) },
        );
      }
      return checked.value as ActionOutput<C, typeof action>;
    },
  };
}
