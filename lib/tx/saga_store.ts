/**
 * The {@link SagaStore} port: where sagas and TCC transactions are kept
 * between their steps, with an owner lease so that two orchestrator
 * processes never drive the same one at once. Adapters: memory, SQLite
 * (`node:sqlite`, the default) and PostgreSQL (`@flotilla/tx/postgres`);
 * one conformance suite runs on all three.
 *
 * @module
 */

import type { ErrorInfo } from "./errors.ts";

/** States of a saga. `COMPLETED` and `COMPENSATED` are terminal. */
export type SagaStatus =
  | "RUNNING"
  | "COMPENSATING"
  | "COMPLETED"
  | "COMPENSATED"
  | "NEEDS_ATTENTION";

/** States of a TCC transaction. `CONFIRMED` and `CANCELLED` are terminal. */
export type TccStatus =
  | "TRYING"
  | "CONFIRMING"
  | "CANCELLING"
  | "CONFIRMED"
  | "CANCELLED"
  | "NEEDS_ATTENTION";

/** A state of either. */
export type TxStatus = SagaStatus | TccStatus;

/** Whether a stored record is a saga or a TCC transaction. */
export type TxKind = "saga" | "tcc";

const TERMINAL: ReadonlySet<TxStatus> = new Set([
  "COMPLETED",
  "COMPENSATED",
  "CONFIRMED",
  "CANCELLED",
]);

/** The states a recovery resumes: neither terminal nor parked. */
export const ACTIVE_STATUSES: readonly TxStatus[] = [
  "RUNNING",
  "COMPENSATING",
  "TRYING",
  "CONFIRMING",
  "CANCELLING",
];

/** Whether `status` is terminal (nothing more will ever happen). */
export function isTerminal(status: TxStatus): boolean {
  return TERMINAL.has(status);
}

/** A saga or a TCC transaction as stored. */
export interface TxRecord {
  /** Its id (the saga id, the global transaction id). */
  readonly id: string;
  /** Saga or TCC transaction. */
  readonly kind: TxKind;
  /** The saga definition's name (`checkout`), or the TCC coordinator's name. */
  readonly name: string;
  /** Its state. */
  readonly status: TxStatus;
  /** Everything else, as JSON: the input, the steps and their results. */
  readonly state: unknown;
  /** Why it failed or is parked, if it did. */
  readonly error: ErrorInfo | null;
  /** When it must be finished (compensated / cancelled past it), ms since the epoch. */
  readonly deadlineAt: number | null;
  /** The orchestrator that drives it, or null when none does. */
  readonly owner: string | null;
  /** Until when `owner`'s lease holds, ms since the epoch. */
  readonly leaseUntil: number;
  /** Bumped by every write; a write expecting another version is refused (fencing). */
  readonly version: number;
  /** When it was created, ms since the epoch. */
  readonly createdAt: number;
  /** When it was last written, ms since the epoch. */
  readonly updatedAt: number;
}

/** One entry of a saga's or transaction's history. */
export interface TxHistoryEntry {
  /** When it happened, ms since the epoch. */
  readonly at: number;
  /** What happened, e.g. `step.started`, `compensation.failed`, `saga.parked`, `tcc.decided`. */
  readonly type: string;
  /** The step or participant concerned, if any. */
  readonly step?: string;
  /** The attempt concerned (1-based), if any. */
  readonly attempt?: number;
  /** The error, for a failure. */
  readonly error?: ErrorInfo;
}

/** Which records {@link SagaStore.list} returns. */
export interface TxQuery {
  /** Only sagas or only TCC transactions. */
  readonly kind?: TxKind;
  /** Only records in this state. */
  readonly status?: TxStatus;
  /** Only records of this saga definition / coordinator. */
  readonly name?: string;
  /** At most this many, oldest first. @default {100} */
  readonly limit?: number;
  /** Skip this many. @default {0} */
  readonly offset?: number;
}

/**
 * Where sagas and TCC transactions live. Every write checks the record's
 * version and bumps it, so an orchestrator whose lease was taken over (its
 * claim's version is gone) can no longer write: it gets `TX_LEASE_LOST`.
 * `history` entries are written in the same transaction as the record.
 */
export interface SagaStore {
  /**
   * Stores a new record (its `version` is kept as given) with its first
   * history entries; false, writing nothing, when the id is taken.
   */
  insert(record: TxRecord, history?: readonly TxHistoryEntry[]): Promise<boolean>;
  /** The record, or undefined. */
  get(id: string): Promise<TxRecord | undefined>;
  /**
   * Writes `record` (with `version` + 1) if the stored version is still
   * `record.version`, appending `history`, and returns what was stored.
   *
   * @throws {TxError} `TX_LEASE_LOST` when the version moved on, `TX_NOT_FOUND`.
   */
  update(record: TxRecord, history?: readonly TxHistoryEntry[]): Promise<TxRecord>;
  /**
   * Takes the lease of a non-terminal record for `owner` until `now +
   * leaseMs` (bumping its version) when no other owner holds a live lease;
   * undefined otherwise (missing, terminal, or held).
   */
  claim(id: string, owner: string, now: number, leaseMs: number): Promise<TxRecord | undefined>;
  /**
   * Ids of records of `kind` in an active state ({@link ACTIVE_STATUSES})
   * whose lease is free, expired at `now`, or `owner`'s; oldest first.
   */
  claimable(kind: TxKind, owner: string, now: number, limit: number): Promise<string[]>;
  /** Records matching `query`, oldest first. */
  list(query?: TxQuery): Promise<TxRecord[]>;
  /** A record's history, oldest first (empty when there is no such record). */
  history(id: string): Promise<TxHistoryEntry[]>;
  /** Releases the store's resources (a store opened on a caller's connection leaves it open). */
  close(): Promise<void>;
}
