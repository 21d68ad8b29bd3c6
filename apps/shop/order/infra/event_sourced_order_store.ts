/**
 * The orders, event sourced in an {@link EventStore}: one stream per order
 * (`order-<id>`), the aggregate of `domain/order.ts` run by an
 * `AggregateRepository`.
 *
 * @module
 */

import { childTrace, formatTraceparent, type TraceContext } from "@flotilla/core";
import {
  AggregateRepository,
  defineAggregate,
  type EventStore,
  type RecordedEvent,
} from "@flotilla/eventstore";
import { evolveOrder, type Order, type OrderEvent } from "../domain/order.ts";
import { orderNotFound } from "../errors.ts";
import type {
  CreateOutcome,
  OrderHistoryEntry,
  OrderStore,
  OrderWriteOptions,
} from "../app/ports.ts";

/** The order aggregate: `undefined` until placed, then the fold of its events. */
export const orderAggregate = defineAggregate<Order | undefined, OrderEvent>({
  initial: undefined,
  evolve: evolveOrder,
});

/** The stream of the order `orderId`. */
export function orderStream(orderId: string): string {
  return `order-${orderId}`;
}

/** Waits until the read side has applied every event up to `position`. */
export type WaitForReadSide = (position: string, signal?: AbortSignal) => Promise<void>;

/** Options of {@link EventSourcedOrderStore}. */
export interface EventSourcedOrderStoreOptions {
  /** Where the events are. */
  events: EventStore;
  /**
   * Called after each write with the position of its last event, so that a
   * caller reads its own writes in the projection. @default {no wait}
   */
  waitForReadSide?: WaitForReadSide;
  /** Times a step is decided again after another writer appended first. @default {5} */
  maxRetries?: number;
  /** Traces each write made in a trace as a database span (`@flotilla/telemetry`'s `Tracer`). */
  tracer?: DatabaseTracer;
  /** The event store's database, for the spans' `db.system.name`. @default {"sqlite"} */
  dbSystem?: "sqlite" | "postgresql";
}

/** What {@link EventSourcedOrderStore} needs of a tracer. */
export interface DatabaseTracer {
  /** Starts a span whose own context is `trace`. */
  startSpan(
    name: string,
    options: { kind: "client"; trace: TraceContext; attributes: Record<string, string> },
  ): { recordError(error: unknown): unknown; end(): void };
}

/**
 * The {@link OrderStore} of the order service. A write decides on the
 * order's current version and appends with it as the expected version; a
 * lost race (another replica drove the same order) decides again on the
 * new state, where the step is usually already there and decides nothing.
 * Each event's metadata carries the writer's `traceparent`, which the
 * outbox turns into the CloudEvent's.
 *
 * @example
 * ```ts
 * const orders = new EventSourcedOrderStore({ events: store, waitForReadSide });
 * await orders.create(placeOrder({ orderId, customerId, items, prices, now }));
 * ```
 */
export class EventSourcedOrderStore implements OrderStore {
  readonly #events: EventStore;
  readonly #orders: AggregateRepository<Order | undefined, OrderEvent>;
  readonly #waitForReadSide: WaitForReadSide | undefined;
  readonly #tracer: DatabaseTracer | undefined;
  readonly #dbSystem: string;

  /** Creates the store over `options.events`. */
  constructor(options: EventSourcedOrderStoreOptions) {
    this.#events = options.events;
    this.#waitForReadSide = options.waitForReadSide;
    this.#tracer = options.tracer;
    this.#dbSystem = options.dbSystem ?? "sqlite";
    this.#orders = new AggregateRepository({
      store: options.events,
      aggregate: orderAggregate,
      streamOf: orderStream,
      maxRetries: options.maxRetries ?? 5,
    });
  }

  async create(
    placed: OrderEvent & { type: "OrderPlaced" },
    options: OrderWriteOptions = {},
  ): Promise<CreateOutcome> {
    const result = await this.#traced(options, () =>
      this.#orders.execute(
        placed.data.orderId,
        (order) => order === undefined ? [placed] : [],
        writeOptions(options),
      ));
    await this.#settle(result.position, options);
    return { created: result.events.length > 0, order: result.state! };
  }

  async get(orderId: string, options: { signal?: AbortSignal } = {}): Promise<Order | undefined> {
    return (await this.#orders.load(orderId, signalOf(options))).state;
  }

  async update(
    orderId: string,
    decide: (order: Order) => OrderEvent[],
    options: OrderWriteOptions = {},
  ): Promise<Order> {
    const result = await this.#traced(options, () =>
      this.#orders.execute(orderId, (order) => {
        if (order === undefined) throw orderNotFound(orderId);
        return decide(order);
      }, writeOptions(options)));
    await this.#settle(result.position, options);
    return result.state!;
  }

  async history(
    orderId: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<OrderHistoryEntry[]> {
    const events = await this.#events.readStream(orderStream(orderId), signalOf(options));
    return events.map(historyEntry);
  }

  /** A write (read the stream, decide, append) as a span under the writer's trace. */
  async #traced<T>(options: OrderWriteOptions, write: () => Promise<T>): Promise<T> {
    if (!this.#tracer || options.trace === undefined) return await write();
    const span = this.#tracer.startSpan("append order", {
      kind: "client",
      trace: childTrace(options.trace),
      attributes: {
        "db.system.name": this.#dbSystem,
        "db.operation.name": "append",
        "db.collection.name": "order",
      },
    });
    try {
      return await write();
    } catch (error) {
      span.recordError(error);
      throw error;
    } finally {
      span.end();
    }
  }

  async #settle(position: string | undefined, options: OrderWriteOptions): Promise<void> {
    if (position !== undefined) await this.#waitForReadSide?.(position, options.signal);
  }
}

function historyEntry(event: RecordedEvent): OrderHistoryEntry {
  const { version, id, time } = event;
  const { type, data } = event as unknown as OrderEvent;
  return { version, id, type, data, time };
}

function signalOf(options: { signal?: AbortSignal | undefined }): { signal?: AbortSignal } {
  return options.signal === undefined ? {} : { signal: options.signal };
}

function writeOptions(options: OrderWriteOptions) {
  return {
    ...signalOf(options),
    ...(options.trace === undefined
      ? {}
      : { metadata: { traceparent: formatTraceparent(options.trace) } }),
  };
}
