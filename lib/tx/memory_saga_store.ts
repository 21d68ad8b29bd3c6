/**
 * The in-memory {@link SagaStore}, for unit tests of sagas and TCC.
 *
 * @module
 */

import { TxError } from "./errors.ts";
import {
  ACTIVE_STATUSES,
  isTerminal,
  type SagaStore,
  type TxHistoryEntry,
  type TxKind,
  type TxQuery,
  type TxRecord,
} from "./saga_store.ts";

/**
 * A {@link SagaStore} in a `Map` (records are copied in and out, as a
 * database would). Lost with the process: for tests.
 *
 * @example
 * ```ts
 * import { MemorySagaStore, SagaOrchestrator } from "@flotilla/tx";
 *
 * const orchestrator = new SagaOrchestrator({ store: new MemorySagaStore(), sagas: [checkout] });
 * ```
 */
export class MemorySagaStore implements SagaStore {
  readonly #records = new Map<string, TxRecord>();
  readonly #history = new Map<string, TxHistoryEntry[]>();
  #seq = 0;
  readonly #order = new Map<string, number>();

  /** Stores a new record; false when the id is taken. */
  insert(record: TxRecord, history: readonly TxHistoryEntry[] = []): Promise<boolean> {
    if (this.#records.has(record.id)) return Promise.resolve(false);
    this.#records.set(record.id, structuredClone(record));
    this.#history.set(record.id, structuredClone([...history]));
    this.#order.set(record.id, this.#seq++);
    return Promise.resolve(true);
  }

  /** The record, or undefined. */
  get(id: string): Promise<TxRecord | undefined> {
    const record = this.#records.get(id);
    return Promise.resolve(record && structuredClone(record));
  }

  /** Writes `record` if its version is still the stored one. */
  update(record: TxRecord, history: readonly TxHistoryEntry[] = []): Promise<TxRecord> {
    const stored = this.#records.get(record.id);
    if (stored === undefined) {
      return Promise.reject(
        new TxError("TX_NOT_FOUND", `Cannot update "${record.id}" as it does not exist`),
      );
    }
    if (stored.version !== record.version) {
      return Promise.reject(
        new TxError(
          "TX_LEASE_LOST",
          `Cannot update "${record.id}" as its version moved from ${record.version} to ${stored.version}`,
        ),
      );
    }
    const next = structuredClone({ ...record, version: record.version + 1 });
    this.#records.set(record.id, next);
    this.#history.get(record.id)?.push(...structuredClone([...history]));
    return Promise.resolve(structuredClone(next));
  }

  /** Takes the lease when it is free, expired or `owner`'s. */
  claim(id: string, owner: string, now: number, leaseMs: number): Promise<TxRecord | undefined> {
    const stored = this.#records.get(id);
    if (stored === undefined || isTerminal(stored.status) || !claimableBy(stored, owner, now)) {
      return Promise.resolve(undefined);
    }
    const next = { ...stored, owner, leaseUntil: now + leaseMs, version: stored.version + 1 };
    this.#records.set(id, next);
    return Promise.resolve(structuredClone(next));
  }

  /** Ids of active records whose lease `owner` may take. */
  claimable(kind: TxKind, owner: string, now: number, limit: number): Promise<string[]> {
    return Promise.resolve(
      this.#sorted()
        .filter((r) =>
          r.kind === kind && ACTIVE_STATUSES.includes(r.status) && claimableBy(r, owner, now)
        )
        .slice(0, limit)
        .map((r) => r.id),
    );
  }

  /** Records matching `query`, oldest first. */
  list(query: TxQuery = {}): Promise<TxRecord[]> {
    const offset = query.offset ?? 0;
    return Promise.resolve(
      this.#sorted()
        .filter((r) =>
          (query.kind === undefined || r.kind === query.kind) &&
          (query.status === undefined || r.status === query.status) &&
          (query.name === undefined || r.name === query.name)
        )
        .slice(offset, offset + (query.limit ?? 100))
        .map((r) => structuredClone(r)),
    );
  }

  /** A record's history, oldest first. */
  history(id: string): Promise<TxHistoryEntry[]> {
    return Promise.resolve(structuredClone(this.#history.get(id) ?? []));
  }

  /** Nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  #sorted(): TxRecord[] {
    return [...this.#records.values()].sort((a, b) =>
      a.createdAt - b.createdAt || (this.#order.get(a.id) ?? 0) - (this.#order.get(b.id) ?? 0)
    );
  }
}

function claimableBy(record: TxRecord, owner: string, now: number): boolean {
  return record.owner === null || record.owner === owner || record.leaseUntil <= now;
}
