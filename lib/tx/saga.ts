/**
 * Defining a saga: ordered steps, each an action and its compensation, with
 * typed results flowing from each step to the next.
 *
 * @module
 */

import type { RetryOptions } from "./timing.ts";

/** What a step's action receives. */
export interface StepContext<I, R> {
  /** The saga's id. */
  readonly sagaId: string;
  /** The step's name. */
  readonly step: string;
  /**
   * The stable idempotency key of this action: `${sagaId}:${step}`. The same
   * on every attempt and after every resume: pass it to the callee.
   */
  readonly idempotencyKey: string;
  /**
   * This attempt, from 1 (counted across crashes and resumes; an attempt cut
   * short because the drive was stopped is not counted).
   */
  readonly attempt: number;
  /** The saga's input. */
  readonly input: I;
  /** The results of the steps before this one. */
  readonly results: R;
  /** When the saga must be done (ms since the epoch), if it has a deadline. */
  readonly deadlineAt: number | undefined;
  /** Aborted when the step's timeout or the saga's deadline passes, or the drive is stopped. */
  readonly signal: AbortSignal;
}

/**
 * What the action is known to have done when its compensation runs:
 * `"done"` (it returned; `result` is set), `"rejected"` (it reported a
 * business failure) or `"unknown"` (it was started, and crashed, timed out
 * or kept failing: it may have taken effect).
 */
export type ActionOutcome = "done" | "rejected" | "unknown";

/** What a compensation receives. */
export interface CompensationContext<I, R, O> {
  /** The saga's id. */
  readonly sagaId: string;
  /** The step's name. */
  readonly step: string;
  /** The stable idempotency key of this compensation: `${sagaId}:${step}:compensate`. */
  readonly idempotencyKey: string;
  /** The idempotency key the action was called with: `${sagaId}:${step}`. */
  readonly actionKey: string;
  /** This attempt of the compensation, from 1. */
  readonly attempt: number;
  /** The saga's input. */
  readonly input: I;
  /** The results of the steps before this one that completed. */
  readonly results: Partial<R>;
  /** What the action is known to have done. */
  readonly outcome: ActionOutcome;
  /** The action's result when `outcome` is `"done"`. */
  readonly result: O | undefined;
  /** Aborted when the compensation's timeout passes, or the drive is stopped. */
  readonly signal: AbortSignal;
}

/** One step of a saga. Results must be JSON values: they are persisted. */
export interface SagaStepDefinition<I, R, O> {
  /**
   * Does the step's work, idempotently per `ctx.idempotencyKey` (it may run
   * again after a crash), and returns its result. Throw a
   * {@link RejectedError} for a business failure (compensation starts);
   * other errors are retried (see `retry`).
   */
  action(ctx: StepContext<I, R>): O | Promise<O>;
  /**
   * Undoes the action, idempotently per `ctx.idempotencyKey`. Runs for every
   * step whose action was started — also when it failed or its outcome is
   * unknown, so it must be a no-op for an action that never took effect.
   * Omitted: nothing to undo (a read, or the saga's last step).
   */
  compensate?(ctx: CompensationContext<I, R, O>): void | Promise<void>;
  /** Longest an attempt of the action (or of the compensation) may take; a timeout is retried. */
  timeoutMs?: number;
  /** Retries of the action on transient errors. @default {{ maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 10_000 }} */
  retry?: RetryOptions;
  /**
   * Retries of the compensation on any error; after the last attempt the
   * saga is parked as `NEEDS_ATTENTION`.
   * @default {{ maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 10_000 }}
   */
  compensationRetry?: RetryOptions;
}

/** A step as the orchestrator sees it (types erased). */
export interface SagaStep {
  /** Its name, unique in the saga. */
  readonly name: string;
  /** The action. */
  readonly action: (ctx: StepContext<unknown, Record<string, unknown>>) => unknown;
  /** The compensation, if any. */
  readonly compensate:
    | ((ctx: CompensationContext<unknown, Record<string, unknown>, unknown>) => unknown)
    | undefined;
  /** Attempt timeout, if any. */
  readonly timeoutMs: number | undefined;
  /** Retries of the action. */
  readonly retry: RetryOptions | undefined;
  /** Retries of the compensation. */
  readonly compensationRetry: RetryOptions | undefined;
}

/** Options of {@link SagaBuilder.build}. */
export interface SagaOptions {
  /** Longest a saga may run before it is compensated; none when omitted. */
  timeoutMs?: number;
}

/**
 * A saga definition: a name, ordered steps, an optional timeout. `I` is its
 * input, `R` the results of its steps by name.
 */
export interface SagaDefinition<I, R> {
  /** Its name: stored with each saga, so a recovering process finds the definition. */
  readonly name: string;
  /** Its steps, in order. */
  readonly steps: readonly SagaStep[];
  /** Longest a saga may run, if limited. */
  readonly timeoutMs: number | undefined;
  /** Type carrier of the input (never set). */
  readonly __input?: I;
  /** Type carrier of the results (never set). */
  readonly __results?: R;
}

/** A saga definition of any input and results, as registries hold them. */
// deno-lint-ignore no-explicit-any
export type AnySagaDefinition = SagaDefinition<any, any>;

const STEP_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Builds a saga definition one step at a time; each step's results join
 * `R`, which later steps and compensations read, typed.
 */
export class SagaBuilder<I, R extends Record<string, unknown>> {
  readonly #name: string;
  readonly #steps: readonly SagaStep[];

  /** Use {@link defineSaga}. */
  constructor(name: string, steps: readonly SagaStep[] = []) {
    this.#name = name;
    this.#steps = steps;
  }

  /**
   * Adds a step named `name` whose action returns `O`.
   *
   * @throws {RangeError} for a name already used or not matching `[A-Za-z0-9_.-]{1,64}`.
   */
  step<N extends string, O>(
    name: N,
    definition: SagaStepDefinition<I, R, O>,
  ): SagaBuilder<I, R & { [K in N]: O }> {
    if (!STEP_NAME.test(name)) {
      throw new RangeError(
        `Cannot add the step as its name must match [A-Za-z0-9_.-]{1,64}: current value is ${
          JSON.stringify(name)
        }`,
      );
    }
    if (this.#steps.some((s) => s.name === name)) {
      throw new RangeError(`Cannot add the step as the saga already has a step "${name}"`);
    }
    if (definition.timeoutMs !== undefined && !(definition.timeoutMs > 0)) {
      throw new RangeError(
        `Cannot add the step as 'timeoutMs' must be > 0: current value is ${definition.timeoutMs}`,
      );
    }
    const step: SagaStep = {
      name,
      action: definition.action as SagaStep["action"],
      compensate: definition.compensate?.bind(definition) as SagaStep["compensate"],
      timeoutMs: definition.timeoutMs,
      retry: definition.retry,
      compensationRetry: definition.compensationRetry,
    };
    return new SagaBuilder(this.#name, [...this.#steps, step]);
  }

  /**
   * The definition.
   *
   * @throws {RangeError} for a saga without steps or a timeout that is not positive.
   */
  build(options: SagaOptions = {}): SagaDefinition<I, R> {
    if (this.#steps.length === 0) {
      throw new RangeError(`Cannot build the saga "${this.#name}" as it has no steps`);
    }
    if (options.timeoutMs !== undefined && !(options.timeoutMs > 0)) {
      throw new RangeError(
        `Cannot build the saga as 'timeoutMs' must be > 0: current value is ${options.timeoutMs}`,
      );
    }
    return { name: this.#name, steps: this.#steps, timeoutMs: options.timeoutMs };
  }
}

/**
 * Starts the definition of a saga named `name` whose input is `I`.
 *
 * @example
 * ```ts
 * import { defineSaga, RejectedError } from "@flotilla/tx";
 *
 * const checkout = defineSaga<{ orderId: string; amount: number }>("checkout")
 *   .step("reserve", {
 *     action: ({ input, idempotencyKey }) => inventory.reserve(input.orderId, idempotencyKey),
 *     compensate: ({ input }) => inventory.release(input.orderId),
 *   })
 *   .step("charge", {
 *     action: async ({ input, results }) => {
 *       const paid = await payments.charge(input.orderId, input.amount, results.reserve.id);
 *       if (!paid) throw new RejectedError("INSUFFICIENT_FUNDS", "declined");
 *       return paid;
 *     },
 *     compensate: ({ input }) => payments.refund(input.orderId),
 *   })
 *   .build({ timeoutMs: 60_000 });
 * ```
 */
export function defineSaga<I>(name: string): SagaBuilder<I, Record<never, never>> {
  if (!STEP_NAME.test(name)) {
    throw new RangeError(
      `Cannot define the saga as its name must match [A-Za-z0-9_.-]{1,64}: current value is ${
        JSON.stringify(name)
      }`,
    );
  }
  return new SagaBuilder<I, Record<never, never>>(name);
}
