/**
 * The TCC coordinator: Try every participant, persist the decision, then
 * Confirm all or Cancel all until done.
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
import type { RecoverResult } from "./saga_orchestrator.ts";
import { isTerminal, type TccStatus, type TxHistoryEntry, type TxRecord } from "./saga_store.ts";
import {
  backoffDelay,
  checkDuration,
  DEFAULT_RETRY,
  type ResolvedRetry,
  resolveRetry,
  type RetryOptions,
} from "./timing.ts";

/** The three operations of a TCC participant. */
export type TccPhase = "try" | "confirm" | "cancel";

/** What a participant's operation receives from the coordinator. */
export interface TccCall {
  /** The global transaction id. */
  readonly txId: string;
  /** The participant's name. */
  readonly participant: string;
  /** The operation. */
  readonly phase: TccPhase;
  /** Stable per transaction, participant and phase: `${txId}:${participant}:${phase}`. */
  readonly idempotencyKey: string;
  /** This attempt, from 1. */
  readonly attempt: number;
  /** When the Try phase must be over (the transaction's deadline), ms since the epoch. */
  readonly deadlineAt: number;
  /** Aborted when the call's timeout passes, or the drive is stopped. */
  readonly signal: AbortSignal;
}

/**
 * A participant as the coordinator calls it — usually a client of a remote
 * service whose handlers run a {@link SqliteTccParticipant}. Each operation
 * must be idempotent per transaction; Cancel must succeed for a Try that
 * never arrived (empty rollback), and a Try arriving after its Cancel must
 * be refused (`TCC_TRY_AFTER_CANCEL`). Throw a {@link RejectedError} from
 * Try to refuse (the coordinator cancels).
 */
export interface TccParticipant<I = unknown> {
  /** Its name, unique among the coordinator's participants, stored with each transaction. */
  readonly name: string;
  /** Reserves what the transaction needs. */
  try(input: I, call: TccCall): void | Promise<void>;
  /** Makes the reservation final. */
  confirm(call: TccCall): void | Promise<void>;
  /** Releases the reservation (or records that there was none). */
  cancel(call: TccCall): void | Promise<void>;
}

/** Where one participant of a transaction stands. */
export interface TccBranchView {
  /** The participant's name. */
  readonly name: string;
  /** Its Try input. */
  readonly input: unknown;
  /** Its Try: never sent, sent (outcome unknown), done, or refused. */
  readonly tried: "PENDING" | "STARTED" | "DONE" | "REJECTED";
  /** Try attempts so far. */
  readonly tryAttempts: number;
  /** Whether its Confirm or Cancel (as decided) succeeded. */
  readonly phaseTwo: "PENDING" | "DONE";
  /** Confirm or Cancel attempts so far. */
  readonly phaseTwoAttempts: number;
  /** Its last error. */
  readonly error?: ErrorInfo;
}

/** A TCC transaction as {@link TccCoordinator.getTransaction} shows it. */
export interface TccView {
  /** The global transaction id. */
  readonly id: string;
  /** The coordinator's name. */
  readonly name: string;
  /** Its state. */
  readonly status: TccStatus;
  /** The decision, once made (persisted before any Confirm or Cancel is sent). */
  readonly decision: "CONFIRM" | "CANCEL" | null;
  /** Its participants, in Try order. */
  readonly branches: readonly TccBranchView[];
  /** Why it was cancelled or is parked. */
  readonly error: ErrorInfo | null;
  /** When the Try phase must be over, ms since the epoch. */
  readonly deadlineAt: number | null;
  /** When it began, ms since the epoch. */
  readonly createdAt: number;
  /** When it last changed, ms since the epoch. */
  readonly updatedAt: number;
}

/** Options of {@link TccCoordinator}. */
export interface TccCoordinatorOptions extends DriverOptions {
  /** Every participant it may call (a recovery finds them by name). */
  // deno-lint-ignore no-explicit-any
  participants: readonly TccParticipant<any>[];
  /** Its name, stored with each transaction. @default {"tcc"} */
  name?: string;
  /**
   * How long the Try phase may take; an undecided transaction past it is
   * cancelled. Participants' reservations must outlive it
   * (`tryTimeoutMs` of {@link SqliteTccParticipant}). @default {30_000}
   */
  timeoutMs?: number;
  /** Longest one call to a participant may take; none when omitted. */
  callTimeoutMs?: number;
  /** Retries of a Try on transient errors (within the deadline). @default {{ maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 10_000 }} */
  tryRetry?: RetryOptions;
  /**
   * Sends the Tries of all participants at once instead of one after the
   * other: the Try phase takes as long as its slowest participant rather
   * than their sum, but a refusal no longer spares the participants after
   * it a Try (and its Cancel). @default {false}
   */
  parallelTries?: boolean;
  /**
   * Retries of Confirm / Cancel within one drive; past them the transaction
   * stays `CONFIRMING` / `CANCELLING` (decided) and the next
   * {@link TccCoordinator.recover} carries on: phase two is retried until done.
   * @default {{ maxAttempts: 10, initialDelayMs: 100, maxDelayMs: 10_000 }}
   */
  phaseTwoRetry?: RetryOptions;
}

interface BranchState {
  name: string;
  input: unknown;
  tried: TccBranchView["tried"];
  tryAttempts: number;
  phaseTwo: TccBranchView["phaseTwo"];
  phaseTwoAttempts: number;
  error?: ErrorInfo;
}

interface TccState {
  decision: "CONFIRM" | "CANCEL" | null;
  branches: BranchState[];
}

/**
 * Runs TCC transactions: Try on every participant in turn (or all at once,
 * `parallelTries`); if all succeed
 * the decision is CONFIRM, if one refuses (or keeps failing, or the
 * deadline passes) it is CANCEL; the decision is persisted before phase
 * two, which then Confirms (or Cancels) every participant, retried with
 * backoff until done. Each call carries a stable idempotency key
 * (`${txId}:${participant}:${phase}`). After a crash,
 * {@link TccCoordinator.recover} finishes every transaction left: an
 * undecided one resumes its Tries (or is cancelled past its deadline), a
 * decided one finishes its phase two.
 *
 * A Cancel goes to every participant whose Try was sent, also when its
 * outcome is unknown: the participant's barrier turns it into an empty
 * rollback if the Try never arrived, and refuses the Try if it arrives later.
 *
 * @example
 * ```ts
 * import { SqliteSagaStore, TccCoordinator } from "@flotilla/tx";
 *
 * const coordinator = new TccCoordinator({
 *   store: new SqliteSagaStore({ path: "tcc.db" }),
 *   participants: [inventoryClient, paymentClient],
 *   timeoutMs: 10_000,
 * });
 * const tx = await coordinator.run("order-42", {
 *   inventory: { items: [{ sku: "TEA-01", quantity: 2 }] },
 *   payment: { customerId: "c-1", amount: 24 },
 * });
 * tx.status; // "CONFIRMED" | "CANCELLED" (or still "CONFIRMING": recover() finishes it)
 * ```
 */
export class TccCoordinator implements AsyncDisposable {
  readonly #rt: Runtime;
  readonly #name: string;
  readonly #participants = new Map<string, TccParticipant<unknown>>();
  readonly #timeoutMs: number;
  readonly #callTimeoutMs: number | undefined;
  readonly #tryRetry: ResolvedRetry;
  readonly #parallelTries: boolean;
  readonly #phaseTwoRetry: ResolvedRetry;
  readonly #queue = new KeyedQueue();
  readonly #closing = new AbortController();

  /**
   * Creates a coordinator.
   *
   * @throws {RangeError} for two participants with one name, or a bad duration or retry option.
   */
  constructor(options: TccCoordinatorOptions) {
    const action = "create the TCC coordinator";
    this.#rt = runtime(options, action);
    this.#name = options.name ?? "tcc";
    for (const participant of options.participants) {
      if (this.#participants.has(participant.name)) {
        throw new RangeError(
          `Cannot ${action} as two participants are named "${participant.name}"`,
        );
      }
      this.#participants.set(participant.name, participant);
    }
    checkDuration(options.timeoutMs, "timeoutMs", action);
    checkDuration(options.callTimeoutMs, "callTimeoutMs", action);
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#callTimeoutMs = options.callTimeoutMs;
    this.#tryRetry = resolveRetry(options.tryRetry, DEFAULT_RETRY, action);
    this.#parallelTries = options.parallelTries ?? false;
    this.#phaseTwoRetry = resolveRetry(
      options.phaseTwoRetry,
      { ...DEFAULT_RETRY, maxAttempts: 10 },
      action,
    );
  }

  /**
   * Runs transaction `txId` over the participants named in `inputs` (in the
   * order they were given to the coordinator), each with its Try input, and
   * returns it decided — `CONFIRMED` / `CANCELLED`, or still `CONFIRMING` /
   * `CANCELLING` when phase two must wait for a participant (recover()
   * finishes it). Idempotent per id: an existing transaction is driven on
   * (or returned as it stands while another coordinator drives it).
   *
   * @throws {RangeError} for an input naming no known participant, or none at all.
   * @throws {TxError} `TX_ID_CONFLICT`, `TX_LEASE_LOST`, `TX_STORE_UNAVAILABLE`.
   */
  run(
    txId: string,
    inputs: Readonly<Record<string, unknown>>,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<TccView> {
    const unknown = Object.keys(inputs).filter((name) => !this.#participants.has(name));
    if (unknown.length > 0 || Object.keys(inputs).length === 0) {
      throw new RangeError(
        `Cannot run the TCC transaction as 'inputs' must name known participants: current value names ${
          JSON.stringify(Object.keys(inputs))
        }`,
      );
    }
    checkDuration(options.timeoutMs, "timeoutMs", "run the TCC transaction");
    return this.#queue.run(txId, async () => {
      const now = this.#rt.clock.now();
      const state: TccState = {
        decision: null,
        branches: [...this.#participants.keys()].filter((name) => name in inputs).map((name) => ({
          name,
          input: toJson(inputs[name]),
          tried: "PENDING",
          tryAttempts: 0,
          phaseTwo: "PENDING",
          phaseTwoAttempts: 0,
        })),
      };
      const started = await insertOrClaim(
        this.#rt,
        {
          id: txId,
          kind: "tcc",
          name: this.#name,
          status: "TRYING",
          state,
          deadlineAt: now + (options.timeoutMs ?? this.#timeoutMs),
        },
        now,
        (existing) => existing.kind === "tcc",
        (existing) =>
          new TxError(
            "TX_ID_CONFLICT",
            `Cannot run TCC transaction "${txId}" as the id is taken by ${
              existing?.kind ?? "another"
            } "${existing?.name ?? "?"}"`,
          ),
      );
      if (!(started instanceof Leased)) return view(started);
      return await this.#drive(started, options.signal);
    });
  }

  /**
   * Finishes every transaction a crash left (and whose lease is free):
   * resumes the Tries of an undecided one within its deadline, cancels one
   * past it, and carries on phase two of a decided one. Call it at start
   * and now and then.
   */
  async recover(
    options: { limit?: number; signal?: AbortSignal } = {},
  ): Promise<RecoverResult<TccView>> {
    return await recoverClaimable(
      this.#rt,
      "tcc",
      this.#queue,
      (claimed) => this.#drive(new Leased(this.#rt, claimed), options.signal),
      { limit: options.limit, stop: [options.signal, this.#closing.signal] },
    );
  }

  /**
   * Retries phase two of a parked (`NEEDS_ATTENTION`) transaction for an
   * operator, once the conflict a participant reported is resolved; other
   * transactions are driven on as {@link TccCoordinator.recover} would.
   *
   * @throws {TxError} `TX_NOT_FOUND`, `TX_LEASE_HELD`.
   */
  resumeTransaction(txId: string, options: { signal?: AbortSignal } = {}): Promise<TccView> {
    return this.#queue.run(txId, async () => {
      const stored = await this.#rt.store.get(txId);
      if (stored === undefined || stored.kind !== "tcc") {
        throw new TxError(
          "TX_NOT_FOUND",
          `Cannot resume TCC transaction "${txId}" as there is none`,
        );
      }
      if (isTerminal(stored.status)) return view(stored);
      const claimed = await this.#rt.store.claim(
        txId,
        this.#rt.owner,
        this.#rt.clock.now(),
        this.#rt.leaseMs,
      );
      if (claimed === undefined) {
        throw new TxError(
          "TX_LEASE_HELD",
          `Cannot resume TCC transaction "${txId}" as "${stored.owner}" drives it`,
        );
      }
      const leased = new Leased(this.#rt, claimed);
      if (claimed.status === "NEEDS_ATTENTION") {
        const state = claimed.state as TccState;
        await leased.save(
          { status: state.decision === "CONFIRM" ? "CONFIRMING" : "CANCELLING" },
          [{ type: "tcc.resumed" }],
        );
      }
      return await this.#drive(leased, options.signal);
    });
  }

  /** The transaction, or undefined. */
  async getTransaction(txId: string): Promise<TccView | undefined> {
    const record = await this.#rt.store.get(txId);
    return record?.kind === "tcc" ? view(record) : undefined;
  }

  /** Transactions matching `query`, oldest first. */
  async listTransactions(
    query: { status?: TccStatus; limit?: number; offset?: number } = {},
  ): Promise<TccView[]> {
    return (await this.#rt.store.list({ ...query, kind: "tcc", name: this.#name })).map(view);
  }

  /** What happened to the transaction, oldest first. */
  transactionHistory(txId: string): Promise<TxHistoryEntry[]> {
    return this.#rt.store.history(txId);
  }

  /**
   * Stops driving — the running participant calls' signals are aborted;
   * transactions stay recoverable — and waits for the drives in flight.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#closing.abort(new TxError("TX_LEASE_LOST", "The TCC coordinator is closing"));
    await this.#queue.idle();
  }

  async #drive(leased: Leased, signal: AbortSignal | undefined): Promise<TccView> {
    const stop = signal === undefined
      ? this.#closing.signal
      : AbortSignal.any([signal, this.#closing.signal]);
    for (const branch of (leased.record.state as TccState).branches) {
      if (!this.#participants.has(branch.name)) {
        await leased.save({}, [], true).catch(() => {});
        throw new TxError(
          "TX_UNKNOWN_DEFINITION",
          `Cannot drive TCC transaction "${leased.record.id}" as this coordinator has no participant "${branch.name}"`,
        );
      }
    }
    const phaseTwoCalls = { count: 0 };
    while (true) {
      if (stop.aborted) {
        await leased.save({}, [{ type: "tcc.paused" }], true).catch(() => {});
        throw stop.reason;
      }
      const status = leased.record.status;
      if (status === "TRYING") await this.#tryNext(leased, stop);
      else if (status === "CONFIRMING" || status === "CANCELLING") {
        if (!(await this.#phaseTwoNext(leased, stop, phaseTwoCalls))) return view(leased.record);
      } else return view(leased.record);
    }
  }

  #decide(
    leased: Leased,
    state: TccState,
    decision: "CONFIRM" | "CANCEL",
    error: ErrorInfo | null,
    history: Entry[],
  ) {
    return leased.save(
      {
        status: decision === "CONFIRM" ? "CONFIRMING" : "CANCELLING",
        state: { ...state, decision },
        error,
      },
      [...history, {
        type: decision === "CONFIRM" ? "tcc.decided_confirm" : "tcc.decided_cancel",
        ...(error === null ? {} : { error }),
      }],
    );
  }

  /**
   * One round of Tries: of the first participant not yet tried, or with
   * `parallelTries` of every one of them at once; then the decision, or
   * the round's outcome saved (and a backoff before the next round).
   */
  async #tryNext(leased: Leased, stop: AbortSignal): Promise<void> {
    const rt = this.#rt;
    const record = leased.record;
    const state = record.state as TccState;
    const deadline = record.deadlineAt ?? Infinity;
    if (rt.clock.now() >= deadline) {
      return await this.#decide(leased, state, "CANCEL", {
        code: "TX_DEADLINE_EXCEEDED",
        message: `TCC transaction "${record.id}" was not tried by its deadline ${deadline}`,
      }, [{ type: "tcc.timed_out" }]);
    }
    const untried = state.branches.flatMap((branch, index) =>
      branch.tried === "DONE" ? [] : [{ branch, index, attemptNo: branch.tryAttempts + 1 }]
    );
    if (untried.length === 0) return await this.#decide(leased, state, "CONFIRM", null, []);
    const round = this.#parallelTries ? untried : untried.slice(0, 1);
    const spent = round.find(({ branch }) => branch.tryAttempts >= this.#tryRetry.maxAttempts);
    if (spent !== undefined) {
      // Its last attempt was cut short by a crash: give up on it.
      return await this.#decide(
        leased,
        state,
        "CANCEL",
        spent.branch.error ?? {
          code: "TX_ATTEMPTS_EXHAUSTED",
          message: `The Try of "${spent.branch.name}" used all its attempts`,
        },
        [],
      );
    }
    let marked = state;
    for (const { index, attemptNo } of round) {
      marked = withBranch(marked, index, { tried: "STARTED", tryAttempts: attemptNo });
    }
    await leased.save(
      { state: marked },
      round.map(({ branch, attemptNo }) => ({
        type: "try.started",
        step: branch.name,
        attempt: attemptNo,
      })),
    );
    for (const { branch, attemptNo } of round) {
      await leased.fault("beforeTry", branch.name, attemptNo);
    }
    const timeoutMs = Math.min(this.#callTimeoutMs ?? Infinity, deadline - rt.clock.now());
    const outcomes = await leased.keepLease(Promise.all(round.map(({ branch, attemptNo }) => {
      const participant = this.#participants.get(branch.name) as TccParticipant<unknown>;
      return attempt(
        (signal) =>
          participant.try(branch.input, this.#call(record, branch.name, "try", attemptNo, signal)),
        timeoutMs,
        rt.sleep,
        `The Try of "${branch.name}" in "${record.id}"`,
        stop,
      );
    })));
    for (const { branch, attemptNo } of round) {
      await leased.fault("afterTry", branch.name, attemptNo);
    }

    let next = leased.record.state as TccState;
    const entries: Entry[] = [];
    let refused: ErrorInfo | undefined;
    let givenUp: ErrorInfo | undefined;
    let backoff = 0;
    const pastDeadline = rt.clock.now() >= deadline;
    round.forEach(({ branch, index, attemptNo }, k) => {
      const outcome = outcomes[k]!;
      const at = { step: branch.name, attempt: attemptNo };
      if (outcome.ok) {
        next = withBranch(next, index, { tried: "DONE" });
        entries.push({ type: "try.completed", ...at });
        return;
      }
      const business = rt.classify(outcome.error) === "business";
      if (!business && stop.aborted) {
        // Cut short by the drive's stop: not counted; the Try is sent again on resume.
        next = withBranch(next, index, { tryAttempts: attemptNo - 1 });
        entries.push({ type: "try.interrupted", ...at });
        return;
      }
      const error = errorInfo(outcome.error, business);
      if (business) {
        next = withBranch(next, index, { tried: "REJECTED", error });
        entries.push({ type: "try.rejected", ...at, error });
        refused ??= error;
        return;
      }
      next = withBranch(next, index, { error });
      entries.push({ type: "try.failed", ...at, error });
      if (attemptNo >= this.#tryRetry.maxAttempts || pastDeadline) givenUp ??= error;
      else backoff = Math.max(backoff, backoffDelay(attemptNo, this.#tryRetry, rt.random));
    });
    const cancelFor = refused ?? (stop.aborted ? undefined : givenUp);
    if (cancelFor !== undefined) {
      return await this.#decide(leased, next, "CANCEL", cancelFor, entries);
    }
    await leased.save({ state: next }, entries);
    if (backoff > 0) await rt.sleep(backoff, stop).catch(() => {});
  }

  /** One Confirm or Cancel; false when this drive should stop (retries spent, or parked). */
  async #phaseTwoNext(
    leased: Leased,
    stop: AbortSignal,
    calls: { count: number },
  ): Promise<boolean> {
    const rt = this.#rt;
    const record = leased.record;
    const state = record.state as TccState;
    const confirm = state.decision === "CONFIRM";
    const index = state.branches.findIndex((b) => b.phaseTwo !== "DONE");
    if (index < 0) {
      await leased.save(
        { status: confirm ? "CONFIRMED" : "CANCELLED" },
        [{ type: confirm ? "tcc.confirmed" : "tcc.cancelled" }],
        true,
      );
      return true;
    }
    const branch = state.branches[index] as BranchState;
    const phase: TccPhase = confirm ? "confirm" : "cancel";
    if (!confirm && branch.tried === "PENDING") {
      // Its Try was never sent: nothing to cancel, and no Try can come late.
      await leased.save(
        { state: withBranch(state, index, { phaseTwo: "DONE" }) },
        [{ type: "cancel.skipped", step: branch.name }],
      );
      return true;
    }
    if (calls.count >= this.#phaseTwoRetry.maxAttempts) {
      await leased.save({}, [{ type: `${phase}.deferred`, step: branch.name }], true);
      return false;
    }
    calls.count++;
    const attemptNo = branch.phaseTwoAttempts + 1;
    await leased.fault(confirm ? "beforeConfirm" : "beforeCancel", branch.name, attemptNo);
    const participant = this.#participants.get(branch.name) as TccParticipant<unknown>;
    const outcome = await leased.keepLease(attempt(
      (signal) => {
        const call = this.#call(record, branch.name, phase, attemptNo, signal);
        return confirm ? participant.confirm(call) : participant.cancel(call);
      },
      this.#callTimeoutMs,
      rt.sleep,
      `The ${phase} of "${branch.name}" in "${record.id}"`,
      stop,
    ));
    await leased.fault(confirm ? "afterConfirm" : "afterCancel", branch.name, attemptNo);
    if (outcome.ok) {
      await leased.save(
        { state: withBranch(state, index, { phaseTwo: "DONE", phaseTwoAttempts: attemptNo }) },
        [{ type: `${phase}.completed`, step: branch.name, attempt: attemptNo }],
      );
      return true;
    }
    const business = rt.classify(outcome.error) === "business";
    if (!business && stop.aborted) {
      await leased.save({}, [{
        type: `${phase}.interrupted`,
        step: branch.name,
        attempt: attemptNo,
      }]);
      return true;
    }
    const error = errorInfo(outcome.error, business);
    const failedState = withBranch(state, index, { phaseTwoAttempts: attemptNo, error });
    const failed: Entry = { type: `${phase}.failed`, step: branch.name, attempt: attemptNo, error };
    if (business) {
      // The participant refuses the decision (e.g. it expired the reservation): a heuristic outcome.
      await leased.save(
        {
          status: "NEEDS_ATTENTION",
          state: failedState,
          error: {
            code: error.code,
            message: `The ${phase} of "${branch.name}" was refused: ${error.message}`,
          },
        },
        [failed, { type: "tcc.parked", step: branch.name, error }],
        true,
      );
      return false;
    }
    await leased.save({ state: failedState }, [failed]);
    await rt.sleep(backoffDelay(attemptNo, this.#phaseTwoRetry, rt.random), stop).catch(() => {});
    return true;
  }

  #call(
    record: TxRecord,
    participant: string,
    phase: TccPhase,
    attemptNo: number,
    signal: AbortSignal,
  ): TccCall {
    return {
      txId: record.id,
      participant,
      phase,
      idempotencyKey: `${record.id}:${participant}:${phase}`,
      attempt: attemptNo,
      deadlineAt: record.deadlineAt ?? Infinity,
      signal,
    };
  }
}

function withBranch(state: TccState, index: number, patch: Partial<BranchState>): TccState {
  return {
    ...state,
    branches: state.branches.map((b, i) => (i === index ? { ...b, ...patch } : b)),
  };
}

function view(record: TxRecord): TccView {
  const state = record.state as TccState;
  return {
    id: record.id,
    name: record.name,
    status: record.status as TccStatus,
    decision: state.decision,
    branches: state.branches,
    error: record.error,
    deadlineAt: record.deadlineAt,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}
