/**
 * The event envelope: CloudEvents 1.0 (structured JSON), with W3C Trace
 * Context as the `traceparent`/`tracestate` extensions.
 *
 * @module
 */

/** One event, as it travels through every bus adapter. */
export interface CloudEvent<T = unknown> {
  /** CloudEvents version. */
  readonly specversion: "1.0";
  /** Unique per `source`; the idempotency key of consumers (inbox) and brokers (dedupe). */
  readonly id: string;
  /** Who emitted it, a URI reference, e.g. `/flotilla/shop/order`. */
  readonly source: string;
  /** What happened, e.g. `order.created`. */
  readonly type: string;
  /** What it is about, e.g. the order id; also the ordering key. */
  readonly subject?: string;
  /** When it happened, RFC 3339. */
  readonly time: string;
  /** Always JSON here. */
  readonly datacontenttype: "application/json";
  /** The payload, valid against the event type's schema. */
  readonly data: T;
  /** W3C trace context of the work that emitted it (extension attribute). */
  readonly traceparent?: string;
  /** W3C trace state (extension attribute). */
  readonly tracestate?: string;
}
