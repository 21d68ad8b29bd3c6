/**
 * Test support: a saga of named steps whose behaviour per attempt a test
 * scripts, recording every action and compensation call. Private to the tests.
 *
 * @module
 */

import { ManualClock } from "@flotilla/core";
import { RejectedError } from "./errors.ts";
import type { FaultHook } from "./faults.ts";
import { MemorySagaStore } from "./memory_saga_store.ts";
import { defineSaga, type SagaDefinition } from "./saga.ts";
import { SagaOrchestrator } from "./saga_orchestrator.ts";
import type { SagaStore } from "./saga_store.ts";
import { manualSleep, type RetryOptions } from "./timing.ts";

/** What an action or compensation does on one attempt. */
export type Behaviour = "ok" | "reject" | "fail" | "hang" | "slow";

/** One recorded call. */
export interface Call {
  readonly kind: "action" | "compensate";
  readonly step: string;
  readonly key: string;
  readonly attempt: number;
  readonly outcome?: string;
}

/** Options of {@link scriptedSaga}. */
export interface ScriptOptions {
  /** Step names, in order. */
  steps: readonly string[];
  /** Behaviour of a step's action per attempt (1-based); "ok" when absent. */
  action?: (step: string, attempt: number) => Behaviour;
  /** Behaviour of a step's compensation per attempt; "ok" when absent. */
  compensate?: (step: string, attempt: number) => Behaviour;
  /** Steps with no compensation. */
  withoutCompensation?: readonly string[];
  retry?: RetryOptions;
  compensationRetry?: RetryOptions;
  timeoutMs?: number;
  stepTimeoutMs?: number;
  /** Called inside each action (e.g. to move the clock). */
  onAction?: (step: string, attempt: number) => void;
}

/** A saga whose steps follow `options`, and the log of its calls. */
export function scriptedSaga(
  name: string,
  options: ScriptOptions,
): { saga: SagaDefinition<{ n: number }, Record<string, unknown>>; calls: Call[] } {
  const calls: Call[] = [];
  const perform = (behaviour: Behaviour, signal: AbortSignal, step: string) => {
    if (behaviour === "reject") throw new RejectedError("NOPE", `${step} refused`);
    if (behaviour === "fail") throw new Error(`${step} broke`);
    if (behaviour === "hang") {
      return new Promise((_, reject) =>
        signal.addEventListener("abort", () => reject(signal.reason))
      );
    }
    if (behaviour === "slow") {
      // Succeeds a turn of the event loop later, unless its signal aborted meanwhile.
      return new Promise((resolve, reject) =>
        setTimeout(() => signal.aborted ? reject(signal.reason) : resolve({ step }), 0)
      );
    }
    return { step };
  };
  // deno-lint-ignore no-explicit-any
  let builder: any = defineSaga<{ n: number }>(name);
  for (const step of options.steps) {
    builder = builder.step(step, {
      action: (ctx: { idempotencyKey: string; attempt: number; signal: AbortSignal }) => {
        calls.push({ kind: "action", step, key: ctx.idempotencyKey, attempt: ctx.attempt });
        options.onAction?.(step, ctx.attempt);
        return perform(options.action?.(step, ctx.attempt) ?? "ok", ctx.signal, step);
      },
      ...(options.withoutCompensation?.includes(step) ? {} : {
        compensate: (
          ctx: { idempotencyKey: string; attempt: number; signal: AbortSignal; outcome: string },
        ) => {
          calls.push({
            kind: "compensate",
            step,
            key: ctx.idempotencyKey,
            attempt: ctx.attempt,
            outcome: ctx.outcome,
          });
          const behaviour = options.compensate?.(step, ctx.attempt) ?? "ok";
          return behaviour === "ok" ? undefined : perform(behaviour, ctx.signal, step) as never;
        },
      }),
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      ...(options.compensationRetry === undefined
        ? {}
        : { compensationRetry: options.compensationRetry }),
      ...(options.stepTimeoutMs === undefined ? {} : { timeoutMs: options.stepTimeoutMs }),
    });
  }
  return {
    saga: builder.build(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    calls,
  };
}

/** A manual clock, a memory store and a factory of orchestrators sharing them. */
export function testWorld(store: SagaStore = new MemorySagaStore()): {
  clock: ManualClock;
  store: SagaStore;
  orchestrator: (
    // deno-lint-ignore no-explicit-any
    options?: { owner?: string; faults?: FaultHook; sagas?: SagaDefinition<any, any>[] },
  ) => SagaOrchestrator;
} {
  const clock = new ManualClock(1_000_000);
  return {
    clock,
    store,
    orchestrator: (options = {}) =>
      new SagaOrchestrator({
        store,
        clock,
        sleep: manualSleep(clock),
        random: () => 0.5,
        leaseMs: 10_000,
        owner: options.owner ?? "one",
        ...(options.faults === undefined ? {} : { faults: options.faults }),
        sagas: options.sagas ?? [],
      }),
  };
}

/** The compensated steps, in the order their compensations first ran. */
export function compensated(calls: readonly Call[]): string[] {
  return [...new Set(calls.filter((c) => c.kind === "compensate").map((c) => c.step))];
}

/** A fault hook that throws ("crashes") at the `n`th call (from 1) matching `match`. */
export function crashAt(
  n: number,
  match: (point: Parameters<FaultHook>[0]) => boolean = () => true,
): { hook: FaultHook; crashed: () => boolean } {
  let seen = 0;
  let crashed = false;
  return {
    hook: (point) => {
      if (!crashed && match(point) && ++seen === n) {
        crashed = true;
        throw new Error(`crash at ${point.boundary} ${point.step ?? ""}`);
      }
    },
    crashed: () => crashed,
  };
}
