/**
 * The port every bus adapter implements (memory, sqlite, Redis Streams,
 * NATS JetStream).
 *
 * Model: a bus holds named **streams** (append-only logs of events, e.g.
 * `shop.order`). A **consumer group** is a durable cursor on one stream:
 * every group gets every event; the consumers of one group compete, each
 * event going to one of them. A delivery is acknowledged when the handler
 * resolves; when it throws (or its process dies, or it takes longer than the
 * ack wait), the event is delivered again, with backoff, up to `maxDeliver`
 * times, then dead-lettered with the error kept.
 *
 * @module
 */

import type { CloudEvent } from "./cloud_event.ts";

/** Options of {@link Bus.publish}. */
export interface PublishOptions {
  /** Aborts the publish. */
  signal?: AbortSignal;
}

/** What the bus says about one published event. */
export interface PublishReceipt {
  /** The event id. */
  readonly id: string;
  /** The event's position in the stream (adapter-specific, ordered within the stream). */
  readonly position: string;
  /** True when the broker recognised the id as already published (dedupe) and stored nothing new. */
  readonly duplicate: boolean;
}

/** One delivery of an event to a consumer. */
export interface Delivery<T = unknown> {
  /** The event. */
  readonly event: CloudEvent<T>;
  /** The stream it came from. */
  readonly stream: string;
  /** Its position in the stream. */
  readonly position: string;
  /** 1 on the first delivery, 2 on the first redelivery… */
  readonly attempt: number;
  /** Aborted when the subscription closes or the ack wait runs out. */
  readonly signal: AbortSignal;
}

/** Handles one delivery; resolve to acknowledge, throw to have it redelivered later. */
export type DeliveryHandler<T = unknown> = (delivery: Delivery<T>) => void | Promise<void>;

/** Where a new consumer group starts reading. */
export type StartPosition =
  | { readonly type: "new" }
  | { readonly type: "all" }
  | { readonly type: "after"; readonly position: string };

/** Options of {@link Bus.subscribe}. */
export interface SubscribeOptions {
  /** The durable consumer group. */
  group: string;
  /** This consumer's name within the group. @default {a random id} */
  consumer?: string;
  /** Only these event types are handed to the handler; others are acknowledged unseen. @default {all} */
  types?: readonly string[];
  /** Where the group starts when it does not exist yet. @default {{ type: "all" }} */
  from?: StartPosition;
  /**
   * How long a delivery may go unacknowledged before it is given to another
   * consumer (visibility timeout). @default {30_000}
   */
  ackWaitMs?: number;
  /** Deliveries before an event is dead-lettered. @default {5} */
  maxDeliver?: number;
  /**
   * Delay before each redelivery after a failure, by attempt (the last entry
   * repeats). @default {[1_000, 5_000, 30_000]}
   */
  backoffMs?: readonly number[];
  /**
   * Deliveries handled at once by this consumer. 1 keeps the stream's order
   * for this consumer. @default {1}
   */
  concurrency?: number;
  /** Ends the subscription. */
  signal?: AbortSignal;
}

/** An event that exhausted its deliveries or could not be read. */
export interface DeadLetter {
  /** The event (or what could be read of it). */
  readonly event: CloudEvent | { readonly id: string; readonly raw: unknown };
  /** The stream and group it failed in. */
  readonly stream: string;
  /** The consumer group. */
  readonly group: string;
  /** Deliveries made. */
  readonly attempts: number;
  /** Why: the last error's message (and code, when it had one). */
  readonly reason: string;
  /** When it was dead-lettered, RFC 3339. */
  readonly at: string;
}

/** A live subscription. Dispose it to stop consuming (in-flight handlers finish first). */
export interface Subscription extends AsyncDisposable {
  /** The stream. */
  readonly stream: string;
  /** The consumer group. */
  readonly group: string;
  /** Resolves once the subscription has stopped. */
  readonly closed: Promise<void>;
}

/** A message bus with durable consumer groups. */
export interface Bus extends AsyncDisposable {
  /** The adapter: `memory`, `sqlite`, `redis`, `nats`. */
  readonly kind: string;
  /**
   * Appends events to `stream`, in order, and resolves once the broker has
   * them durably (the outbox relay marks rows sent only after this).
   * Publishing an id again is deduplicated where the engine supports it
   * (`duplicate: true`); consumers must still be idempotent (inbox).
   */
  publish(
    stream: string,
    events: readonly CloudEvent[],
    options?: PublishOptions,
  ): Promise<PublishReceipt[]>;
  /** Starts consuming `stream` as a member of `options.group`. */
  subscribe(
    stream: string,
    handler: DeliveryHandler,
    options: SubscribeOptions,
  ): Promise<Subscription>;
  /** The dead letters of a group, oldest first. */
  deadLetters(
    stream: string,
    group: string,
    options?: { limit?: number; signal?: AbortSignal },
  ): Promise<DeadLetter[]>;
  /**
   * Reads events of `stream` in order, after `position` (from the start
   * without one): replay for rebuilding a read model, independent of groups.
   */
  read(
    stream: string,
    options?: { after?: string; limit?: number; signal?: AbortSignal },
  ): Promise<Array<{ position: string; event: CloudEvent }>>;
}
