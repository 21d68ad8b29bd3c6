/**
 * The ready-made instruments of a Flotilla service, with stable
 * Prometheus-conventional names (see the README's table).
 *
 * @module
 */

import type { Counter, CounterChild } from "./counter.ts";
import type { Gauge } from "./gauge.ts";
import type { Histogram } from "./histogram.ts";
import type { Registry } from "./registry.ts";

/** Buckets of request durations, seconds: 1 ms to 10 s. */
export const REQUEST_BUCKETS: readonly number[] = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

/** Buckets of saga durations, seconds: 10 ms to 10 minutes. */
export const SAGA_BUCKETS: readonly number[] = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 600];

/** Values of the `flotilla_circuit_breaker_state` gauge. */
export const BREAKER_STATE_VALUE: Readonly<Record<string, number>> = {
  closed: 0,
  half_open: 1,
  open: 2,
};

/** The RED instruments of servers, clients, breakers, retries, the bus, the outbox and sagas. */
export interface FlotillaMetrics {
  /** `flotilla_server_requests_total{service,action,transport,outcome}`. */
  readonly serverRequests: Counter<"service" | "action" | "transport" | "outcome">;
  /** `flotilla_server_request_duration_seconds{service,action,transport}`. */
  readonly serverDuration: Histogram<"service" | "action" | "transport">;
  /** `flotilla_server_in_flight_requests{service,transport}`. */
  readonly serverInFlight: Gauge<"service" | "transport">;
  /** `flotilla_client_requests_total{peer,action,outcome}`. */
  readonly clientRequests: Counter<"peer" | "action" | "outcome">;
  /** `flotilla_client_request_duration_seconds{peer,action}`. */
  readonly clientDuration: Histogram<"peer" | "action">;
  /** `flotilla_client_attempts_total{peer,action}`: tries sent, first ones and retries. */
  readonly clientAttempts: Counter<"peer" | "action">;
  /** `flotilla_client_retries_total{peer,action}`. */
  readonly clientRetries: Counter<"peer" | "action">;
  /** `flotilla_retry_budget_exhausted_total{peer,action}`: retries refused by the budget. */
  readonly retryBudgetExhausted: Counter<"peer" | "action">;
  /** `flotilla_circuit_breaker_state{peer,endpoint}`: 0 closed, 1 half_open, 2 open. */
  readonly breakerState: Gauge<"peer" | "endpoint">;
  /** `flotilla_circuit_breaker_transitions_total{peer,to}`. */
  readonly breakerTransitions: Counter<"peer" | "to">;
  /** `flotilla_client_rejections_total{peer,reason}`: circuit_open, bulkhead_full, ejected. */
  readonly clientRejections: Counter<"peer" | "reason">;
  /** `flotilla_bus_published_events_total{stream,outcome}`. */
  readonly busPublished: Counter<"stream" | "outcome">;
  /** `flotilla_bus_consumed_events_total{stream,group,outcome}`. */
  readonly busConsumed: Counter<"stream" | "group" | "outcome">;
  /** `flotilla_bus_consume_duration_seconds{stream,group}`. */
  readonly busConsumeDuration: Histogram<"stream" | "group">;
  /** `flotilla_bus_redeliveries_total{stream,group}`: deliveries with attempt > 1. */
  readonly busRedeliveries: Counter<"stream" | "group">;
  /** `flotilla_bus_consumer_lag_seconds{stream,group}`: age of the last delivered event. */
  readonly busConsumerLag: Gauge<"stream" | "group">;
  /** `flotilla_outbox_backlog_events`: events not yet published. */
  readonly outboxBacklog: Gauge;
  /** `flotilla_outbox_oldest_age_seconds`: age of the oldest unpublished event. */
  readonly outboxOldestAge: Gauge;
  /** `flotilla_outbox_failing_events`: unpublished events that failed at least once. */
  readonly outboxFailing: Gauge;
  /** `flotilla_saga_outcomes_total{saga,outcome}`. */
  readonly sagaOutcomes: Counter<"saga" | "outcome">;
  /** `flotilla_saga_duration_seconds{saga,outcome}`. */
  readonly sagaDuration: Histogram<"saga" | "outcome">;
  /** `flotilla_telemetry_spans_dropped_total`: spans lost to a full export queue. */
  readonly spansDropped: Counter;
  /** `flotilla_telemetry_spans_exported_total`. */
  readonly spansExported: Counter;
  /** `flotilla_telemetry_span_export_failures_total`: spans lost to failed exports. */
  readonly spanExportFailures: Counter;
}

/**
 * Registers the Flotilla instruments in `registry`.
 *
 * @example
 * ```ts
 * import { createFlotillaMetrics, Registry } from "@flotilla/telemetry";
 *
 * const metrics = createFlotillaMetrics(new Registry());
 * metrics.sagaOutcomes.inc({ saga: "checkout", outcome: "completed" });
 * ```
 */
export function createFlotillaMetrics(registry: Registry): FlotillaMetrics {
  return {
    serverRequests: registry.counter({
      name: "flotilla_server_requests_total",
      help: "Inbound calls handled, by outcome (ok or the error kind).",
      labelNames: ["service", "action", "transport", "outcome"],
    }),
    serverDuration: registry.histogram({
      name: "flotilla_server_request_duration_seconds",
      help: "Time to handle an inbound call, validation included.",
      labelNames: ["service", "action", "transport"],
      buckets: REQUEST_BUCKETS,
    }),
    serverInFlight: registry.gauge({
      name: "flotilla_server_in_flight_requests",
      help: "Inbound calls being handled now.",
      labelNames: ["service", "transport"],
    }),
    clientRequests: registry.counter({
      name: "flotilla_client_requests_total",
      help: "Outbound calls made through the pipeline, by outcome (ok or the error kind).",
      labelNames: ["peer", "action", "outcome"],
    }),
    clientDuration: registry.histogram({
      name: "flotilla_client_request_duration_seconds",
      help: "Time of an outbound call, every retry and backoff included.",
      labelNames: ["peer", "action"],
      buckets: REQUEST_BUCKETS,
    }),
    clientAttempts: registry.counter({
      name: "flotilla_client_attempts_total",
      help: "Attempts sent to a peer's endpoints, first tries and retries.",
      labelNames: ["peer", "action"],
    }),
    clientRetries: registry.counter({
      name: "flotilla_client_retries_total",
      help: "Retries of outbound calls.",
      labelNames: ["peer", "action"],
    }),
    retryBudgetExhausted: registry.counter({
      name: "flotilla_retry_budget_exhausted_total",
      help: "Retries refused because the peer's retry budget was spent.",
      labelNames: ["peer", "action"],
    }),
    breakerState: registry.gauge({
      name: "flotilla_circuit_breaker_state",
      help: "Circuit breaker state per endpoint: 0 closed, 1 half_open, 2 open.",
      labelNames: ["peer", "endpoint"],
    }),
    breakerTransitions: registry.counter({
      name: "flotilla_circuit_breaker_transitions_total",
      help: "Circuit breaker state changes, by the state entered.",
      labelNames: ["peer", "to"],
    }),
    clientRejections: registry.counter({
      name: "flotilla_client_rejections_total",
      help: "Calls or endpoints refused locally: circuit_open, bulkhead_full, ejected.",
      labelNames: ["peer", "reason"],
    }),
    busPublished: registry.counter({
      name: "flotilla_bus_published_events_total",
      help: "Events published to the bus, by outcome (ok, duplicate or the error kind).",
      labelNames: ["stream", "outcome"],
    }),
    busConsumed: registry.counter({
      name: "flotilla_bus_consumed_events_total",
      help: "Deliveries handled, by outcome (ok or the error kind).",
      labelNames: ["stream", "group", "outcome"],
    }),
    busConsumeDuration: registry.histogram({
      name: "flotilla_bus_consume_duration_seconds",
      help: "Time a consumer took to handle a delivery.",
      labelNames: ["stream", "group"],
      buckets: REQUEST_BUCKETS,
    }),
    busRedeliveries: registry.counter({
      name: "flotilla_bus_redeliveries_total",
      help: "Deliveries that were not the event's first.",
      labelNames: ["stream", "group"],
    }),
    busConsumerLag: registry.gauge({
      name: "flotilla_bus_consumer_lag_seconds",
      help: "Age of the last event delivered to the group (delivery time minus event time).",
      labelNames: ["stream", "group"],
    }),
    outboxBacklog: registry.gauge({
      name: "flotilla_outbox_backlog_events",
      help: "Outbox events not yet published.",
    }),
    outboxOldestAge: registry.gauge({
      name: "flotilla_outbox_oldest_age_seconds",
      help: "Age of the oldest unpublished outbox event.",
    }),
    outboxFailing: registry.gauge({
      name: "flotilla_outbox_failing_events",
      help: "Unpublished outbox events whose publishing failed at least once.",
    }),
    sagaOutcomes: registry.counter({
      name: "flotilla_saga_outcomes_total",
      help: "Sagas finished, by outcome (completed, compensated, failed).",
      labelNames: ["saga", "outcome"],
    }),
    sagaDuration: registry.histogram({
      name: "flotilla_saga_duration_seconds",
      help: "Time from a saga's start to its end.",
      labelNames: ["saga", "outcome"],
      buckets: SAGA_BUCKETS,
    }),
    spansDropped: registry.counter({
      name: "flotilla_telemetry_spans_dropped_total",
      help: "Spans dropped because the export queue was full.",
    }),
    spansExported: registry.counter({
      name: "flotilla_telemetry_spans_exported_total",
      help: "Spans exported to the OTLP collector.",
    }),
    spanExportFailures: registry.counter({
      name: "flotilla_telemetry_span_export_failures_total",
      help: "Spans lost because their export failed.",
    }),
  };
}

/** The `outcome` label of an error: its kind in lower case (`unavailable`…), `internal` otherwise. */
export function outcomeOf(error: unknown): string {
  if (error === undefined) return "ok";
  const kind = (error as { kind?: unknown } | null)?.kind;
  return typeof kind === "string" && /^[A-Z_]+$/.test(kind) ? kind.toLowerCase() : "internal";
}

/**
 * Counts one call of a bound series set by the outcome of `error`: the
 * series of each outcome is looked up in `counter` once and kept in
 * `outcomes`, so a call builds no label object.
 */
export function countOutcome<L extends string>(
  outcomes: Map<string, CounterChild>,
  counter: Counter<L | "outcome">,
  labels: { readonly [K in L]: string },
  error: unknown,
): void {
  const outcome = outcomeOf(error);
  let series = outcomes.get(outcome);
  if (!series) {
    series = counter.labels({ ...labels, outcome } as { [K in L | "outcome"]: string });
    outcomes.set(outcome, series);
  }
  series.inc();
}

/** Where an outbox's backlog is read: `SqliteOutbox` and `PostgresOutbox` fit. */
export interface OutboxStatsSource {
  /** The backlog now. */
  stats():
    | { backlog: number; oldestAgeMs: number; failing: number }
    | Promise<{ backlog: number; oldestAgeMs: number; failing: number }>;
}

/**
 * Refreshes the outbox gauges from `outbox.stats()` before each scrape;
 * returns a function that stops it.
 *
 * @example
 * ```ts ignore
 * const stop = watchOutbox(registry, metrics, outbox);
 * ```
 */
export function watchOutbox(
  registry: Registry,
  metrics: FlotillaMetrics,
  outbox: OutboxStatsSource,
): () => void {
  return registry.addCollector(async () => {
    const stats = await outbox.stats();
    metrics.outboxBacklog.set(undefined, stats.backlog);
    metrics.outboxOldestAge.set(undefined, stats.oldestAgeMs / 1000);
    metrics.outboxFailing.set(undefined, stats.failing);
  });
}
