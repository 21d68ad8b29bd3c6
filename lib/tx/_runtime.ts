/**
 * What the saga orchestrator and the TCC coordinator share: the options
 * every durable driver takes, a handle on a leased record that persists and
 * calls the fault hook, and an attempt raced against its timeout. Private.
 *
 * @module
 */

import { type Clock, systemClock } from "@flotilla/core";
import {
  classifyError,
  type ErrorClassifier,
  type ErrorInfo,
  errorInfo,
  TxError,
} from "./errors.ts";
import type { FaultHook, FaultPoint } from "./faults.ts";
import type { RecoverResult } from "./saga_orchestrator.ts";
import type { SagaStore, TxHistoryEntry, TxRecord, TxStatus } from "./saga_store.ts";
import { checkDuration, type Sleep, systemSleep } from "./timing.ts";

/** Options shared by {@link SagaOrchestrator} and {@link TccCoordinator}. */
export interface DriverOptions {
  /** Where sagas / transactions are persisted. */
  store: SagaStore;
  /** This process's name in leases. @default {`tx-<pid>-<random>`} */
  owner?: string;
  /**
   * How long a lease holds without a write. Every persisted step renews it,
   * and a step (or participant call) still running renews it every third of
   * this; another process may take over a record whose owner went silent
   * that long. @default {30_000}
   */
  leaseMs?: number;
  /** The source of time (deadlines, leases, history). @default {systemClock} */
  clock?: Clock;
  /** How backoff delays and timeouts wait. @default {systemSleep} */
  sleep?: Sleep;
  /** Randomness in [0, 1) for the backoff's jitter. @default {Math.random} */
  random?: () => number;
  /** Called at every step boundary (tests, crash suites). */
  faults?: FaultHook;
  /** Business failure or transient error? @default {classifyError} */
  classify?: ErrorClassifier;
}

/** {@link DriverOptions} resolved. */
export interface Runtime {
  readonly store: SagaStore;
  readonly owner: string;
  readonly leaseMs: number;
  readonly clock: Clock;
  readonly sleep: Sleep;
  readonly random: () => number;
  readonly faults: FaultHook | undefined;
  readonly classify: ErrorClassifier;
}

/** Resolves and checks {@link DriverOptions}; `action` names the constructor for RangeErrors. */
export function runtime(options: DriverOptions, action: string): Runtime {
  checkDuration(options.leaseMs, "leaseMs", action);
  const owner = options.owner ?? `tx-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  if (owner === "") {
    throw new RangeError(`Cannot ${action} as 'owner' must be a non-empty string`);
  }
  return {
    store: options.store,
    owner,
    leaseMs: options.leaseMs ?? 30_000,
    clock: options.clock ?? systemClock,
    sleep: options.sleep ?? systemSleep,
    random: options.random ?? Math.random,
    faults: options.faults,
    classify: options.classify ?? classifyError,
  };
}

/** A history entry before its time is stamped. */
export type Entry = Omit<TxHistoryEntry, "at">;

/** A record this process holds the lease of; every write renews the lease and calls `afterPersist`. */
export class Leased {
  record: TxRecord;
  readonly #rt: Runtime;

  constructor(rt: Runtime, record: TxRecord) {
    this.#rt = rt;
    this.record = record;
  }

  /** Persists `patch` (releasing the lease when `release`), then calls the fault hook. */
  async save(
    patch: { status?: TxStatus; state?: unknown; error?: TxRecord["error"] },
    history: readonly Entry[],
    release = false,
  ): Promise<void> {
    const now = this.#rt.clock.now();
    const next: TxRecord = {
      ...this.record,
      ...patch,
      owner: release ? null : this.#rt.owner,
      leaseUntil: release ? 0 : now + this.#rt.leaseMs,
      updatedAt: now,
    };
    this.record = await this.#rt.store.update(next, history.map((h) => ({ at: now, ...h })));
    await this.fault("afterPersist");
  }

  /**
   * Resolves as `work` does, renewing the lease every third of `leaseMs`
   * meanwhile, so that a step or participant call longer than the lease does
   * not let another process take the record over while it still runs. A
   * renewal writes no history and reaches no fault hook; one that fails (the
   * lease was taken) is left to the next save, which then fails with
   * `TX_LEASE_LOST`.
   */
  async keepLease<T>(work: Promise<T>): Promise<T> {
    let renewing: Promise<void> | undefined;
    const timer = setInterval(() => {
      renewing ??= this.#renew().catch(() => {}).finally(() => (renewing = undefined));
    }, Math.max(1, this.#rt.leaseMs / 3));
    try {
      return await work;
    } finally {
      clearInterval(timer);
      // The next save must start from the version the renewal wrote.
      await renewing;
    }
  }

  async #renew(): Promise<void> {
    const leaseUntil = this.#rt.clock.now() + this.#rt.leaseMs;
    this.record = await this.#rt.store.update({ ...this.record, leaseUntil });
  }

  /** Calls the fault hook at `boundary`. */
  async fault(boundary: FaultPoint["boundary"], step?: string, attempt?: number): Promise<void> {
    const hook = this.#rt.faults;
    if (hook === undefined) return;
    await hook({
      boundary,
      kind: this.record.kind,
      id: this.record.id,
      status: this.record.status,
      ...(step === undefined ? {} : { step }),
      ...(attempt === undefined ? {} : { attempt }),
    });
  }
}

/** The result of {@link attempt}: what the work returned, or what it threw. */
export type Attempted<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * Runs `work` once, racing `timeoutMs` (none when undefined) on `sleep`;
 * on timeout the work's signal is aborted and the outcome is a
 * `TX_STEP_TIMEOUT` error. When `stop` aborts (the drive is stopped), the
 * work's signal is aborted with its reason and the work is still awaited,
 * so that nothing runs on once the record's lease is released. Never throws.
 */
export async function attempt<T>(
  work: (signal: AbortSignal) => T | Promise<T>,
  timeoutMs: number | undefined,
  sleep: Sleep,
  what: string,
  stop?: AbortSignal,
): Promise<Attempted<T>> {
  const controller = new AbortController();
  const onStop = () => controller.abort(stop?.reason);
  if (stop?.aborted) onStop();
  else stop?.addEventListener("abort", onStop, { once: true });
  const running = (async () => await work(controller.signal))();
  running.catch(() => {}); // a loser of the race must not become an unhandled rejection
  const timer = new AbortController();
  const contenders: Promise<T>[] = [running];
  if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
    contenders.push(
      sleep(Math.max(0, timeoutMs), timer.signal).then(
        () => {
          const error = new TxError("TX_STEP_TIMEOUT", `${what} timed out after ${timeoutMs} ms`, {
            data: { timeoutMs },
          });
          controller.abort(error);
          throw error;
        },
        () => new Promise<never>(() => {}),
      ),
    );
  }
  try {
    return { ok: true, value: await Promise.race(contenders) };
  } catch (error) {
    return { ok: false, error };
  } finally {
    timer.abort();
    stop?.removeEventListener("abort", onStop);
  }
}

/** A JSON copy of `value` (undefined becomes null), as it will read back from the store. */
export function toJson(value: unknown): unknown {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}

/** Runs `work` for `key` after any run of `key` in flight, so one process never drives an id twice at once. */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => {});
    this.#tails.set(key, tail);
    tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return next;
  }

  /** Waits for everything in flight. */
  async idle(): Promise<void> {
    while (this.#tails.size > 0) await Promise.all([...this.#tails.values()]);
  }
}

/**
 * One recovery pass shared by the orchestrator and the coordinator: claims
 * each active record of `kind` whose lease is free (one at a time per id,
 * through `queue`) and drives it, until `stop` aborts.
 */
export async function recoverClaimable<V>(
  rt: Runtime,
  kind: "saga" | "tcc",
  queue: KeyedQueue,
  drive: (claimed: TxRecord) => Promise<V>,
  options: { limit?: number | undefined; stop: readonly (AbortSignal | undefined)[] },
): Promise<RecoverResult<V>> {
  const result: { driven: V[]; failed: { id: string; error: ErrorInfo }[] } = {
    driven: [],
    failed: [],
  };
  const ids = await rt.store.claimable(kind, rt.owner, rt.clock.now(), options.limit ?? 100);
  for (const id of ids) {
    if (options.stop.some((signal) => signal?.aborted)) break;
    try {
      const driven = await queue.run(id, async () => {
        const claimed = await rt.store.claim(id, rt.owner, rt.clock.now(), rt.leaseMs);
        return claimed === undefined ? undefined : await drive(claimed);
      });
      if (driven !== undefined) result.driven.push(driven);
    } catch (error) {
      result.failed.push({ id, error: errorInfo(error) });
    }
  }
  return result;
}

/**
 * Starts a saga or TCC transaction shared by the orchestrator and the
 * coordinator: inserts `fresh` owned and leased by this process, or, when
 * its id exists, takes the existing one over — unless `ours` says it is not
 * of this kind and name (`conflict` is thrown), it waits for an operator, or
 * another live process holds its lease. Returns the lease to drive, or the
 * existing record to show as it stands.
 */
export async function insertOrClaim(
  rt: Runtime,
  fresh: Pick<TxRecord, "id" | "kind" | "name" | "status" | "state" | "deadlineAt">,
  now: number,
  ours: (existing: TxRecord) => boolean,
  conflict: (existing: TxRecord | undefined) => TxError,
): Promise<Leased | TxRecord> {
  const record: TxRecord = {
    ...fresh,
    error: null,
    owner: rt.owner,
    leaseUntil: now + rt.leaseMs,
    version: 0,
    createdAt: now,
    updatedAt: now,
  };
  if (await rt.store.insert(record, [{ at: now, type: `${fresh.kind}.started` }])) {
    const leased = new Leased(rt, record);
    await leased.fault("afterPersist");
    return leased;
  }
  const existing = await rt.store.get(fresh.id);
  if (existing === undefined || !ours(existing)) throw conflict(existing);
  const claimed = existing.status === "NEEDS_ATTENTION"
    ? undefined
    : await rt.store.claim(fresh.id, rt.owner, now, rt.leaseMs);
  return claimed === undefined ? existing : new Leased(rt, claimed);
}
