/**
 * The saga orchestrator: drives sagas step by step, persisting before and
 * after every step, compensating in reverse order, resuming after a crash.
 *
 * @module
 */

import { type ErrorInfo, errorInfo, TxError } from "./errors.ts";
import {
  attempt,
  type DriverOptions,
  type Entry,
  insertOrClaim,
  KeyedQueue,
  Leased,
  recoverClaimable,
  type Runtime,
  runtime,
  toJson,
} from "./_runtime.ts";
import type { AnySagaDefinition, SagaDefinition, SagaStep } from "./saga.ts";
import { isTerminal, type SagaStatus, type TxHistoryEntry, type TxRecord } from "./saga_store.ts";
import { backoffDelay, DEFAULT_RETRY, resolveRetry } from "./timing.ts";

/** Where a step's action stands. `STARTED`: it may have run (outcome unknown). */
export type StepActionState = "PENDING" | "STARTED" | "DONE" | "REJECTED";

/** Where a step's compensation stands. */
export type StepCompensationState = "NONE" | "STARTED" | "DONE";

/** A step of a saga as persisted and shown by {@link SagaOrchestrator.getSaga}. */
export interface SagaStepView {
  /** The step's name. */
  readonly name: string;
  /** Its action's state. */
  readonly action: StepActionState;
  /** Its compensation's state. */
  readonly compensation: StepCompensationState;
  /** Attempts of the action so far. */
  readonly actionAttempts: number;
  /** Attempts of the compensation so far (reset by {@link SagaOrchestrator.resumeSaga}). */
  readonly compensationAttempts: number;
  /** The action's result, once `DONE`. */
  readonly result?: unknown;
  /** The action's last error. */
  readonly error?: ErrorInfo;
  /** The compensation's last error. */
  readonly compensationError?: ErrorInfo;
}

/** A saga as {@link SagaOrchestrator.getSaga} shows it. `R`: its results by step. */
export interface SagaView<R = Record<string, unknown>> {
  /** Its id. */
  readonly id: string;
  /** Its definition's name. */
  readonly name: string;
  /** Its state. */
  readonly status: SagaStatus;
  /** Its input. */
  readonly input: unknown;
  /** Its steps, in definition order. */
  readonly steps: readonly SagaStepView[];
  /** The results of the steps that completed. */
  readonly results: Partial<R>;
  /** Why it is compensating, compensated or parked. */
  readonly error: ErrorInfo | null;
  /** Its deadline, ms since the epoch. */
  readonly deadlineAt: number | null;
  /** The orchestrator driving it, if any. */
  readonly owner: string | null;
  /** When it started, ms since the epoch. */
  readonly createdAt: number;
  /** When it last changed, ms since the epoch. */
  readonly updatedAt: number;
}

/** Options of {@link SagaOrchestrator}. */
export interface SagaOrchestratorOptions extends DriverOptions {
  /**
   * The definitions it can drive: every saga a recovery may find in the
   * store. {@link SagaOrchestrator.start} adds its definition too.
   * @default {[]}
   */
  sagas?: readonly AnySagaDefinition[];
}

/** Options of {@link SagaOrchestrator.start}. */
export interface StartSagaOptions {
  /** Overrides the definition's `timeoutMs` for this saga. */
  timeoutMs?: number;
  /** Stops driving (between steps; the saga stays persisted and resumable) when aborted. */
  signal?: AbortSignal;
}

/** Which sagas {@link SagaOrchestrator.listSagas} returns. */
export interface ListSagasQuery {
  /** Only sagas in this state, e.g. `NEEDS_ATTENTION`. */
  status?: SagaStatus;
  /** Only sagas of this definition. */
  name?: string;
  /** At most this many, oldest first. @default {100} */
  limit?: number;
  /** Skip this many. @default {0} */
  offset?: number;
}

/** What {@link SagaOrchestrator.recover} did. */
export interface RecoverResult<V> {
  /** What it drove, as it left them (terminal, or parked). */
  readonly driven: V[];
  /** What it could not drive, and why (unknown definition, store failure, lease lost). */
  readonly failed: { readonly id: string; readonly error: ErrorInfo }[];
}

interface StepState {
  name: string;
  action: StepActionState;
  compensation: StepCompensationState;
  actionAttempts: number;
  compensationAttempts: number;
  result?: unknown;
  error?: ErrorInfo;
  compensationError?: ErrorInfo;
}

interface SagaState {
  input: unknown;
  steps: StepState[];
}

/**
 * Drives sagas to an end: `COMPLETED`, or `COMPENSATED` after a business
 * failure, a step that kept failing, or the deadline; `NEEDS_ATTENTION`
 * when a compensation kept failing (an operator resumes it with
 * {@link SagaOrchestrator.resumeSaga}).
 *
 * Before a step's action runs, the step is persisted as `STARTED` (with its
 * attempt); after, as `DONE` with its result, or the failure. So after a
 * crash {@link SagaOrchestrator.recover} resumes exactly there: a `STARTED`
 * step is attempted again with the same idempotency key
 * (`${sagaId}:${step}`), and compensation undoes every step that was
 * started (done, rejected, or of unknown outcome) in reverse order, each
 * with `${sagaId}:${step}:compensate`. A step never started is never
 * compensated. A lease (owner + expiry, renewed by every write, fenced by
 * a version) keeps two orchestrators from driving one saga at once.
 *
 * @example
 * ```ts
 * import { SagaOrchestrator, SqliteSagaStore } from "@flotilla/tx";
 *
 * await using orchestrator = new SagaOrchestrator({
 *   store: new SqliteSagaStore({ path: "sagas.db" }),
 *   sagas: [checkout],
 * });
 * await orchestrator.recover(); // at start: resume what a crash left
 * const saga = await orchestrator.start(checkout, orderId, { orderId, amount: 12 });
 * saga.status; // "COMPLETED" | "COMPENSATED" | "NEEDS_ATTENTION"
 * ```
 */
export class SagaOrchestrator implements AsyncDisposable {
  readonly #rt: Runtime;
  readonly #definitions = new Map<string, SagaDefinition<unknown, Record<string, unknown>>>();
  readonly #queue = new KeyedQueue();
  readonly #closing = new AbortController();

  /**
   * Creates an orchestrator.
   *
   * @throws {RangeError} for a lease that is not positive, or two definitions with one name.
   */
  constructor(options: SagaOrchestratorOptions) {
    this.#rt = runtime(options, "create the saga orchestrator");
    for (const definition of options.sagas ?? []) this.#register(definition);
  }

  /** This orchestrator's owner name in leases. */
  get owner(): string {
    return this.#rt.owner;
  }

  /**
   * Starts saga `id` of `definition` with `input` and drives it to its end
   * (or until it is parked). Idempotent per id: a saga that exists is not
   * started again — it is driven on if no one else drives it, and returned
   * as it stands otherwise.
   *
   * @throws {TxError} `TX_ID_CONFLICT` when the id belongs to another
   * definition; `TX_LEASE_LOST` if another orchestrator took it over;
   * `TX_STORE_UNAVAILABLE`.
   */
  start<I, R>(
    definition: SagaDefinition<I, R>,
    id: string,
    input: I,
    options: StartSagaOptions = {},
  ): Promise<SagaView<R>> {
    const def = this.#register(definition);
    const timeoutMs = options.timeoutMs ?? def.timeoutMs;
    if (timeoutMs !== undefined && !(timeoutMs > 0)) {
      throw new RangeError(
        `Cannot start the saga as 'timeoutMs' must be > 0: current value is ${timeoutMs}`,
      );
    }
    return this.#queue.run(id, async () => {
      const now = this.#rt.clock.now();
      const state: SagaState = {
        input: toJson(input),
        steps: def.steps.map((s) => ({
          name: s.name,
          action: "PENDING",
          compensation: "NONE",
          actionAttempts: 0,
          compensationAttempts: 0,
        })),
      };
      const started = await insertOrClaim(
        this.#rt,
        {
          id,
          kind: "saga",
          name: def.name,
          status: "RUNNING",
          state,
          deadlineAt: timeoutMs === undefined ? null : now + timeoutMs,
        },
        now,
        (existing) => existing.kind === "saga" && existing.name === def.name,
        (existing) =>
          new TxError(
            "TX_ID_CONFLICT",
            `Cannot start saga "${id}" of "${def.name}" as the id is taken by ${
              existing?.kind ?? "another"
            } "${existing?.name ?? "?"}"`,
          ),
      );
      if (!(started instanceof Leased)) return view(started) as SagaView<R>;
      return await this.#drive(def, started, options.signal) as SagaView<R>;
    });
  }

  /**
   * Resumes every saga a crash (or a stop) left running or compensating and
   * no live orchestrator holds (parked sagas wait for
   * {@link SagaOrchestrator.resumeSaga}); call it at start and now and then.
   */
  async recover(
    options: { limit?: number; signal?: AbortSignal } = {},
  ): Promise<RecoverResult<SagaView>> {
    return await recoverClaimable(
      this.#rt,
      "saga",
      this.#queue,
      (claimed) =>
        this.#drive(this.#definitionOf(claimed), new Leased(this.#rt, claimed), options.signal),
      { limit: options.limit, stop: [options.signal, this.#closing.signal] },
    );
  }

  /**
   * Resumes one saga for an operator: a parked (`NEEDS_ATTENTION`) saga
   * gets a fresh round of compensation attempts; a running or compensating
   * one whose lease is free is driven on; a terminal one is returned as is.
   *
   * @throws {TxError} `TX_NOT_FOUND`; `TX_LEASE_HELD` while another live
   * orchestrator drives it; `TX_UNKNOWN_DEFINITION`.
   */
  resumeSaga(id: string, options: { signal?: AbortSignal } = {}): Promise<SagaView> {
    return this.#queue.run(id, async () => {
      const stored = await this.#rt.store.get(id);
      if (stored === undefined || stored.kind !== "saga") {
        throw new TxError("TX_NOT_FOUND", `Cannot resume saga "${id}" as there is none`);
      }
      if (isTerminal(stored.status)) return view(stored);
      const def = this.#definitionOf(stored);
      const claimed = await this.#rt.store.claim(
        id,
        this.#rt.owner,
        this.#rt.clock.now(),
        this.#rt.leaseMs,
      );
      if (claimed === undefined) {
        throw new TxError(
          "TX_LEASE_HELD",
          `Cannot resume saga "${id}" as "${stored.owner}" drives it until ${stored.leaseUntil}`,
        );
      }
      const leased = new Leased(this.#rt, claimed);
      if (claimed.status === "NEEDS_ATTENTION") {
        const state = claimed.state as SagaState;
        await leased.save({
          status: "COMPENSATING",
          state: {
            ...state,
            steps: state.steps.map((s) =>
              s.compensation === "DONE" ? s : { ...s, compensationAttempts: 0 }
            ),
          },
        }, [{ type: "saga.resumed" }]);
      }
      return await this.#drive(def, leased, options.signal);
    });
  }

  /** The saga, or undefined. */
  async getSaga(id: string): Promise<SagaView | undefined> {
    const record = await this.#rt.store.get(id);
    return record?.kind === "saga" ? view(record) : undefined;
  }

  /** Sagas matching `query`, oldest first; e.g. `listSagas({ status: "NEEDS_ATTENTION" })`. */
  async listSagas(query: ListSagasQuery = {}): Promise<SagaView[]> {
    const records = await this.#rt.store.list({ ...query, kind: "saga" });
    return records.map(view);
  }

  /** What happened to the saga, oldest first: starts, attempts, failures, compensations. */
  sagaHistory(id: string): Promise<TxHistoryEntry[]> {
    return this.#rt.store.history(id);
  }

  /**
   * Stops driving — the running steps' signals are aborted; sagas stay
   * resumable — and waits for the drives in flight.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#closing.abort(new TxError("TX_LEASE_LOST", "The saga orchestrator is closing"));
    await this.#queue.idle();
  }

  #register(
    definition: AnySagaDefinition,
  ): SagaDefinition<unknown, Record<string, unknown>> {
    const known = this.#definitions.get(definition.name);
    if (known !== undefined && known !== definition) {
      throw new RangeError(
        `Cannot register the saga "${definition.name}" as another definition has that name`,
      );
    }
    this.#definitions.set(definition.name, definition);
    return definition;
  }

  #definitionOf(record: TxRecord): SagaDefinition<unknown, Record<string, unknown>> {
    const def = this.#definitions.get(record.name);
    if (def === undefined) {
      throw new TxError(
        "TX_UNKNOWN_DEFINITION",
        `Cannot drive saga "${record.id}" as this orchestrator has no definition "${record.name}"`,
      );
    }
    return def;
  }

  async #drive(
    def: SagaDefinition<unknown, Record<string, unknown>>,
    leased: Leased,
    signal: AbortSignal | undefined,
  ): Promise<SagaView> {
    const stop = signal === undefined
      ? this.#closing.signal
      : AbortSignal.any([signal, this.#closing.signal]);
    while (true) {
      if (stop.aborted) {
        await leased.save({}, [{ type: "saga.paused" }], true).catch(() => {});
        throw stop.reason;
      }
      const status = leased.record.status;
      if (status === "RUNNING") await this.#forward(def, leased, stop);
      else if (status === "COMPENSATING") await this.#backward(def, leased, stop);
      else return view(leased.record);
    }
  }

  /** One attempt of the first step not done (or the end of the saga). */
  async #forward(
    def: SagaDefinition<unknown, Record<string, unknown>>,
    leased: Leased,
    stop: AbortSignal,
  ) {
    const rt = this.#rt;
    const record = leased.record;
    const state = record.state as SagaState;
    const deadline = record.deadlineAt;
    if (deadline !== null && rt.clock.now() >= deadline) {
      return await leased.save({ status: "COMPENSATING", error: deadlineError(record) }, [
        { type: "saga.timed_out" },
        { type: "saga.compensating" },
      ]);
    }
    const index = state.steps.findIndex((s) => s.action !== "DONE");
    if (index < 0) {
      return await leased.save({ status: "COMPLETED" }, [{ type: "saga.completed" }], true);
    }
    const step = def.steps[index] as SagaStep;
    const current = state.steps[index] as StepState;
    const retry = resolveRetry(step.retry, DEFAULT_RETRY, `run the step "${step.name}"`);
    if (current.actionAttempts >= retry.maxAttempts) {
      // Its last attempt was cut short by a crash: give up on it.
      const error = current.error ??
        { code: "TX_ATTEMPTS_EXHAUSTED", message: `step "${step.name}" used all its attempts` };
      return await leased.save({ status: "COMPENSATING", error }, [{
        type: "saga.compensating",
        step: step.name,
      }]);
    }
    const attemptNo = current.actionAttempts + 1;
    await leased.save(
      { state: withStep(state, index, { action: "STARTED", actionAttempts: attemptNo }) },
      [{ type: "step.started", step: step.name, attempt: attemptNo }],
    );
    await leased.fault("beforeAction", step.name, attemptNo);
    const remaining = deadline === null ? Infinity : deadline - rt.clock.now();
    const timeoutMs = Math.min(step.timeoutMs ?? Infinity, remaining);
    const outcome = await leased.keepLease(attempt(
      (signal) =>
        step.action({
          sagaId: record.id,
          step: step.name,
          idempotencyKey: `${record.id}:${step.name}`,
          attempt: attemptNo,
          input: state.input,
          results: resultsOf(state),
          deadlineAt: deadline ?? undefined,
          signal,
        }),
      timeoutMs,
      rt.sleep,
      `The step "${step.name}" of saga "${record.id}"`,
      stop,
    ));
    await leased.fault("afterAction", step.name, attemptNo);
    const started = leased.record.state as SagaState;
    if (outcome.ok) {
      return await leased.save(
        { state: withStep(started, index, { action: "DONE", result: toJson(outcome.value) }) },
        [{ type: "step.completed", step: step.name, attempt: attemptNo }],
      );
    }
    const business = rt.classify(outcome.error) === "business";
    if (!business && stop.aborted) {
      // Cut short by the drive's stop, not failed: the attempt is not counted, and the step runs
      // again (same idempotency key) when the saga is resumed.
      return await leased.save(
        { state: withStep(started, index, { actionAttempts: attemptNo - 1 }) },
        [{ type: "step.interrupted", step: step.name, attempt: attemptNo }],
      );
    }
    const error = errorInfo(outcome.error, business);
    const failed = {
      type: business ? "step.rejected" : "step.failed",
      step: step.name,
      attempt: attemptNo,
      error,
    };
    if (business) {
      return await leased.save(
        {
          status: "COMPENSATING",
          error,
          state: withStep(started, index, { action: "REJECTED", error }),
        },
        [failed, { type: "saga.compensating", step: step.name }],
      );
    }
    const pastDeadline = deadline !== null && rt.clock.now() >= deadline;
    if (attemptNo >= retry.maxAttempts || pastDeadline) {
      return await leased.save(
        {
          status: "COMPENSATING",
          error: pastDeadline ? deadlineError(record) : error,
          state: withStep(started, index, { error }),
        },
        [failed, { type: "saga.compensating", step: step.name }],
      );
    }
    await leased.save({ state: withStep(started, index, { error }) }, [failed]);
    await rt.sleep(backoffDelay(attemptNo, retry, rt.random), stop).catch(() => {});
  }

  /** One attempt of the compensation of the last started step not compensated (or the end). */
  async #backward(
    def: SagaDefinition<unknown, Record<string, unknown>>,
    leased: Leased,
    stop: AbortSignal,
  ) {
    const rt = this.#rt;
    const record = leased.record;
    const state = record.state as SagaState;
    const index = state.steps.findLastIndex((s) =>
      s.action !== "PENDING" && s.compensation !== "DONE"
    );
    if (index < 0) {
      return await leased.save({ status: "COMPENSATED" }, [{ type: "saga.compensated" }], true);
    }
    const step = def.steps[index] as SagaStep;
    const current = state.steps[index] as StepState;
    if (step.compensate === undefined) {
      return await leased.save(
        { state: withStep(state, index, { compensation: "DONE" }) },
        [{ type: "compensation.skipped", step: step.name }],
      );
    }
    const retry = resolveRetry(
      step.compensationRetry,
      DEFAULT_RETRY,
      `compensate the step "${step.name}"`,
    );
    if (current.compensationAttempts >= retry.maxAttempts) {
      return await this.#park(
        leased,
        step.name,
        current.compensationError,
        current.compensationAttempts,
      );
    }
    const attemptNo = current.compensationAttempts + 1;
    await leased.save(
      {
        state: withStep(state, index, { compensation: "STARTED", compensationAttempts: attemptNo }),
      },
      [{ type: "compensation.started", step: step.name, attempt: attemptNo }],
    );
    await leased.fault("beforeCompensation", step.name, attemptNo);
    const compensate = step.compensate;
    const outcome = await leased.keepLease(attempt(
      (signal) =>
        compensate({
          sagaId: record.id,
          step: step.name,
          idempotencyKey: `${record.id}:${step.name}:compensate`,
          actionKey: `${record.id}:${step.name}`,
          attempt: attemptNo,
          input: state.input,
          results: resultsOf(state),
          outcome: current.action === "DONE"
            ? "done"
            : current.action === "REJECTED"
            ? "rejected"
            : "unknown",
          result: current.action === "DONE" ? current.result : undefined,
          signal,
        }),
      step.timeoutMs,
      rt.sleep,
      `The compensation of "${step.name}" of saga "${record.id}"`,
      stop,
    ));
    await leased.fault("afterCompensation", step.name, attemptNo);
    const started = leased.record.state as SagaState;
    if (outcome.ok) {
      return await leased.save(
        { state: withStep(started, index, { compensation: "DONE" }) },
        [{ type: "compensation.completed", step: step.name, attempt: attemptNo }],
      );
    }
    if (stop.aborted) {
      return await leased.save(
        { state: withStep(started, index, { compensationAttempts: attemptNo - 1 }) },
        [{ type: "compensation.interrupted", step: step.name, attempt: attemptNo }],
      );
    }
    const error = errorInfo(outcome.error);
    const failedState = withStep(started, index, { compensationError: error });
    const failed: Entry = {
      type: "compensation.failed",
      step: step.name,
      attempt: attemptNo,
      error,
    };
    if (attemptNo >= retry.maxAttempts) {
      await leased.save({ state: failedState }, [failed]);
      return await this.#park(leased, step.name, error, attemptNo);
    }
    await leased.save({ state: failedState }, [failed]);
    await rt.sleep(backoffDelay(attemptNo, retry, rt.random), stop).catch(() => {});
  }

  #park(
    leased: Leased,
    step: string,
    cause: ErrorInfo | undefined,
    attempts: number,
  ): Promise<void> {
    const error: ErrorInfo = {
      code: "TX_COMPENSATION_FAILED",
      message: `The compensation of "${step}" failed ${attempts} times${
        cause === undefined ? "" : `: ${cause.code}: ${cause.message}`
      }`,
    };
    return leased.save(
      { status: "NEEDS_ATTENTION", error },
      [{ type: "saga.parked", step, error }],
      true,
    );
  }
}

function deadlineError(record: TxRecord): ErrorInfo {
  return {
    code: "TX_DEADLINE_EXCEEDED",
    message: `Saga "${record.id}" passed its deadline ${record.deadlineAt}`,
  };
}

function withStep(state: SagaState, index: number, patch: Partial<StepState>): SagaState {
  return { ...state, steps: state.steps.map((s, i) => (i === index ? { ...s, ...patch } : s)) };
}

function resultsOf(state: SagaState): Record<string, unknown> {
  const results: Record<string, unknown> = {};
  for (const step of state.steps) if (step.action === "DONE") results[step.name] = step.result;
  return results;
}

function view(record: TxRecord): SagaView {
  const state = record.state as SagaState;
  return {
    id: record.id,
    name: record.name,
    status: record.status as SagaStatus,
    input: state.input,
    steps: state.steps,
    results: resultsOf(state),
    error: record.error,
    deadlineAt: record.deadlineAt,
    owner: record.owner,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}
