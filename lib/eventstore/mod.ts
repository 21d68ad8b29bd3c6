/**
 * Event sourcing for Flotilla services: the {@link EventStore} port and its
 * embedded adapters (memory, SQLite; PostgreSQL is `@flotilla/eventstore/postgres`),
 * aggregates folded from pure `evolve` / `decide` functions with optimistic
 * concurrency and snapshots, projections into SQLite read models with
 * exactly-once checkpoints, and `openEventStore` for `FLOTILLA_EVENTSTORE`.
 *
 * @example
 * ```ts
 * import { AggregateRepository, openEventStore } from "@flotilla/eventstore";
 * import { account } from "./account.ts";
 *
 * const { store } = await openEventStore("sqlite", { sqlitePath: ".flotilla/bank/events.db" });
 * const accounts = new AggregateRepository({
 *   store,
 *   aggregate: account,
 *   streamOf: (id) => `account-${id}`,
 * });
 * await accounts.execute("a-1", { type: "deposit", amount: 10 });
 * ```
 *
 * @module
 */

export type * from "./event_store.ts";
export { EventStoreError, type EventStoreErrorCode, WrongExpectedVersionError } from "./errors.ts";
export { MemoryEventStore, type MemoryEventStoreOptions } from "./memory_event_store.ts";
export {
  SqliteEventStore,
  type SqliteEventStoreOptions,
  type SqliteEventStoreOutbox,
} from "./sqlite_event_store.ts";
export { newEventId } from "./new_event_id.ts";
export {
  type Aggregate,
  type AggregateDefinition,
  type AggregateSnapshotOptions,
  defineAggregate,
  type DomainEvent,
} from "./aggregate.ts";
export {
  AggregateRepository,
  type AggregateRepositoryOptions,
  type Command,
  type ExecuteOptions,
  type ExecuteResult,
  type LoadedAggregate,
} from "./aggregate_repository.ts";
export {
  type EventStoreUrl,
  type OpenedEventStore,
  openEventStore,
  type OpenEventStoreOptions,
  type OpenEventStoreOutbox,
  parseEventStoreUrl,
} from "./open_event_store.ts";
export * from "./projection.ts";
