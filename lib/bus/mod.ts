/**
 * The message bus: one {@link Bus} port — publish, durable consumer groups
 * with competing consumers, acknowledgement, redelivery after an ack wait
 * with backoff, dead letters after `maxDeliver` deliveries, replay — with
 * CloudEvents 1.0 envelopes carrying W3C `traceparent`.
 *
 * | adapter | for | where |
 * |---|---|---|
 * | {@link MemoryBus} | unit tests, one process | `@flotilla/bus` |
 * | {@link SqliteBus} | processes of one machine, no server (the default) | `@flotilla/bus` |
 * | `RedisBus` | Redis Streams | `@flotilla/bus/redis` |
 * | `NatsBus` | NATS JetStream | `@flotilla/bus/nats` |
 *
 * {@link openBus} opens the one a `FLOTILLA_BUS` value names
 * (`memory`, `sqlite`, `redis://…`, `nats://…`), loading the Redis and NATS
 * drivers only when asked for: importing this module loads no driver.
 * {@link createEvent} builds envelopes; an {@link EventCatalog} (from a
 * contract's `events`) and {@link validatedBus} check `data` against its
 * schema on publish and on receipt. The conformance suite every adapter
 * passes is `testBusConformance` in `@flotilla/bus/conformance`.
 *
 * Delivery is at least once per group: make handlers idempotent. Ordering
 * depends on the adapter; the memory and sqlite buses never hand out an
 * event while an earlier one with the same `subject` is unacknowledged in
 * the group, so each subject is handled in order even by competing
 * consumers.
 *
 * @example
 * ```ts
 * import { createEvent, EventCatalog, openBus, validatedBus } from "@flotilla/bus";
 * import { orderContract } from "./contract.ts";
 *
 * const bus = validatedBus(
 *   await openBus(Deno.env.get("FLOTILLA_BUS") ?? "sqlite", { sqlitePath: ".flotilla/bus.db" }),
 *   EventCatalog.fromContract(orderContract),
 * );
 * await using _sub = await bus.subscribe("shop.order", async ({ event, attempt, signal }) => {
 *   // handle event.data; throw to have it redelivered after the backoff
 * }, { group: "billing", maxDeliver: 5 });
 * await bus.publish("shop.order", [
 *   createEvent("order.created", { orderId: "o-1", total: 12.5 }, {
 *     source: "/flotilla/shop/order",
 *     subject: "o-1",
 *   }),
 * ]);
 * ```
 *
 * @module
 */

export type {
  Bus,
  DeadLetter,
  Delivery,
  DeliveryHandler,
  PublishOptions,
  PublishReceipt,
  StartPosition,
  SubscribeOptions,
  Subscription,
} from "./bus.ts";
export type { CloudEvent } from "./cloud_event.ts";
export { BusError, type BusErrorCode, PoisonMessageError } from "./errors.ts";
export { cloudEventIssue, isCloudEvent } from "./is_cloud_event.ts";
export { createEvent, type CreateEventOptions } from "./create_event.ts";
export {
  type ContractEvents,
  type ContractWithEvents,
  EventCatalog,
  type EventCheck,
  type EventSchemas,
  type FromContractOptions,
} from "./catalog.ts";
export { validatedBus } from "./validated_bus.ts";
export {
  type EmitOptions,
  type EventEmitter,
  outboxEmitter,
  type OutboxEmitterOptions,
} from "./outbox_emitter.ts";
export { type EmittedEvent, type RecordingEmitter, recordingEmitter } from "./recording_emitter.ts";
export { MemoryBus, type MemoryBusOptions } from "./memory_bus.ts";
export { SqliteBus, type SqliteBusOptions } from "./sqlite_bus.ts";
export { type BusUrl, openBus, type OpenBusOptions, parseBusUrl } from "./open_bus.ts";
export {
  type Outbox,
  type OutboxLease,
  type OutboxRow,
  type OutboxStats,
  SqliteOutbox,
  type SqliteOutboxOptions,
} from "./outbox.ts";
export { OutboxRelay, type OutboxRelayOptions, type OutboxRelayStatus } from "./outbox_relay.ts";
export {
  checkInboxRetention,
  type InboxResult,
  type InboxRetentionOptions,
  minimumInboxRetention,
  SqliteInbox,
  type SqliteInboxOptions,
} from "./inbox.ts";
// Types of other packages that this package's public API refers to.
export type {
  Clock,
  ErrorKind,
  FieldIssue,
  FlotillaError,
  Logger,
  LogLevel,
  SchemaIssue,
  SchemaResult,
  StandardSchema,
  StandardSchemaProps,
  TraceContext,
} from "@flotilla/core";
export type { Timers } from "@flotilla/resilience";
