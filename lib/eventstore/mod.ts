/**
 * Event sourcing for Flotilla services (draft door, completed below).
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
