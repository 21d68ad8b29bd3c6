/**
 * Producer and consumer spans and metrics around any `Bus`.
 *
 * @module
 */

import {
  type Clock,
  continueTrace,
  formatTraceparent,
  systemClock,
  type TraceContext,
} from "@flotilla/core";
import type {
  Bus,
  CloudEvent,
  DeadLetter,
  Delivery,
  DeliveryHandler,
  PublishOptions,
  PublishReceipt,
  SubscribeOptions,
  Subscription,
} from "@flotilla/bus";
import { type FlotillaMetrics, outcomeOf } from "./flotilla_metrics.ts";
import { hrClock } from "./hr_clock.ts";
import type { Span, SpanLink } from "./span.ts";
import type { Tracer } from "./tracer.ts";

/** Options of {@link instrumentBus}. */
export interface InstrumentBusOptions {
  /** Starts the producer and consumer spans. */
  tracer: Tracer;
  /** Where the bus metrics go. */
  metrics: FlotillaMetrics;
  /** Durations. @default {hrClock} */
  clock?: Clock;
  /** Wall clock the consumer lag is measured against (events carry RFC 3339 times). @default {systemClock} */
  wallClock?: Clock;
}

/** A delivery handed to a handler of an instrumented bus: it carries the consumer span's trace. */
export interface TracedDelivery<T = unknown> extends Delivery<T> {
  /** The trace of the consumer span: continue it in the work the handler does. */
  readonly trace: TraceContext;
}

/**
 * The consumer span's trace of a delivery from an instrumented bus, or
 * `undefined` for a delivery from a plain bus.
 */
export function deliveryTrace(delivery: Delivery): TraceContext | undefined {
  return (delivery as Partial<TracedDelivery>).trace;
}

/**
 * Wraps `bus` so that each publish opens a `producer` span per event, the
 * child of the event's `traceparent` (`send <stream>` for one event; for a
 * batch, `create <stream>` per event and one `send <stream>` client span
 * linked to them), sends each event carrying its producer span as
 * `traceparent`, and counts
 * `flotilla_bus_published_events_total{stream,outcome}`; and each delivery
 * opens a `consumer` span (`process <stream>`, the child of the producer
 * span), counts `flotilla_bus_consumed_events_total`,
 * `flotilla_bus_redeliveries_total`, times
 * `flotilla_bus_consume_duration_seconds` and sets
 * `flotilla_bus_consumer_lag_seconds`. Handlers get a {@link TracedDelivery}.
 *
 * @example
 * ```ts ignore
 * const bus = instrumentBus(await openBus(url), { tracer, metrics });
 * ```
 */
export function instrumentBus(bus: Bus, options: InstrumentBusOptions): Bus {
  const { tracer, metrics } = options;
  const clock = options.clock ?? hrClock;
  const wallClock = options.wallClock ?? systemClock;
  const system = bus.kind;

  const publish = async (
    stream: string,
    events: readonly CloudEvent[],
    publishOptions?: PublishOptions,
  ): Promise<PublishReceipt[]> => {
    const batch = events.length !== 1;
    // One producer span per event, child of the context the event was written in; the event
    // leaves carrying the producer span's context, so its consumer span is the producer's child.
    const producers: Span[] = [];
    const sent = events.map((event) => {
      const span = tracer.startSpan(`${batch ? "create" : "send"} ${stream}`, {
        kind: "producer",
        trace: event.traceparent
          ? continueTrace(event.traceparent, event.tracestate)
          : tracer.root(),
        attributes: {
          "messaging.system": system,
          "messaging.destination.name": stream,
          "messaging.operation.type": batch ? "create" : "send",
          "messaging.operation.name": batch ? "create" : "publish",
          "messaging.message.id": event.id,
          "cloudevents.event_type": event.type,
        },
      });
      producers.push(span);
      return withTraceparent(event, span.trace);
    });
    // A batch is sent by one `send` span (kind client) linked to each event's `create` span.
    const sender = batch
      ? tracer.startSpan(`send ${stream}`, {
        kind: "client",
        trace: tracer.root(),
        links: producers.map((p): SpanLink => ({
          traceId: p.trace.traceId,
          spanId: p.trace.spanId,
        })),
        attributes: {
          "messaging.system": system,
          "messaging.destination.name": stream,
          "messaging.operation.type": "send",
          "messaging.operation.name": "publish",
          "messaging.batch.message_count": events.length,
        },
      })
      : undefined;
    const spans = sender ? [...producers, sender] : producers;
    try {
      const receipts = await bus.publish(stream, sent, publishOptions);
      let duplicates = 0;
      for (const receipt of receipts) if (receipt.duplicate) duplicates++;
      if (receipts.length > duplicates) {
        metrics.busPublished.inc({ stream, outcome: "ok" }, receipts.length - duplicates);
      }
      if (duplicates > 0) metrics.busPublished.inc({ stream, outcome: "duplicate" }, duplicates);
      return receipts;
    } catch (error) {
      metrics.busPublished.inc({ stream, outcome: outcomeOf(error) }, events.length);
      for (const span of spans) span.recordError(error);
      throw error;
    } finally {
      for (const span of spans) span.end();
    }
  };

  const subscribe = (
    stream: string,
    handler: DeliveryHandler,
    subscribeOptions: SubscribeOptions,
  ): Promise<Subscription> => {
    const group = subscribeOptions.group;
    const labels = { stream, group };
    const duration = metrics.busConsumeDuration.labels(labels);
    const lag = metrics.busConsumerLag.labels(labels);
    const redeliveries = metrics.busRedeliveries.labels(labels);
    const traced: DeliveryHandler = async (delivery) => {
      const event = delivery.event;
      const eventTime = Date.parse(event.time);
      if (!Number.isNaN(eventTime)) lag.set(Math.max(0, wallClock.now() - eventTime) / 1000);
      if (delivery.attempt > 1) redeliveries.inc();
      const span = tracer.startSpan(`process ${stream}`, {
        kind: "consumer",
        trace: event.traceparent
          ? continueTrace(event.traceparent, event.tracestate)
          : tracer.root(),
        attributes: {
          "messaging.system": system,
          "messaging.destination.name": stream,
          "messaging.operation.type": "process",
          "messaging.consumer.group.name": group,
          "messaging.message.id": event.id,
          "cloudevents.event_id": event.id,
          "cloudevents.event_type": event.type,
          "cloudevents.event_source": event.source,
          "flotilla.delivery.attempt": delivery.attempt,
        },
      });
      if (event.subject !== undefined) {
        span.setAttribute("cloudevents.event_subject", event.subject);
      }
      const start = clock.now();
      const withTrace: TracedDelivery = {
        event: delivery.event,
        stream: delivery.stream,
        position: delivery.position,
        attempt: delivery.attempt,
        signal: delivery.signal,
        trace: span.trace,
      };
      try {
        await handler(withTrace);
        metrics.busConsumed.inc({ stream, group, outcome: "ok" });
      } catch (error) {
        metrics.busConsumed.inc({ stream, group, outcome: outcomeOf(error) });
        span.recordError(error);
        throw error;
      } finally {
        duration.observe((clock.now() - start) / 1000);
        span.end();
      }
    };
    return bus.subscribe(stream, traced, subscribeOptions);
  };

  return {
    kind: bus.kind,
    publish,
    subscribe,
    deadLetters: (
      stream: string,
      group: string,
      opts?: { limit?: number; signal?: AbortSignal },
    ): Promise<DeadLetter[]> => bus.deadLetters(stream, group, opts),
    read: (stream, opts) => bus.read(stream, opts),
    [Symbol.asyncDispose]: () => bus[Symbol.asyncDispose](),
  };
}

/** `event` carrying `trace` as its `traceparent` (and `tracestate`). */
function withTraceparent(event: CloudEvent, trace: TraceContext): CloudEvent {
  const { tracestate: _, ...rest } = event;
  return {
    ...rest,
    traceparent: formatTraceparent(trace),
    ...(trace.tracestate === undefined ? {} : { tracestate: trace.tracestate }),
  };
}
