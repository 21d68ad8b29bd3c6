/**
 * The inbound hook: a server span and RED metrics for every call a
 * `ServiceHost` handles.
 *
 * @module
 */

import type { Clock, InboundCall, InboundObservation, InboundObserver } from "@flotilla/core";
import type { CounterChild } from "./counter.ts";
import { countOutcome, type FlotillaMetrics } from "./flotilla_metrics.ts";
import type { GaugeChild } from "./gauge.ts";
import type { HistogramChild } from "./histogram.ts";
import { hrClock } from "./hr_clock.ts";
import type { Tracer } from "./tracer.ts";

/**
 * The host's hook, declared by `@flotilla/core` (`HostOptions.inbound`) so
 * the kernel depends on no telemetry; re-exported here.
 */
export type { InboundCall, InboundObservation, InboundObserver };

/** Options of {@link serverObserver}. */
export interface ServerObserverOptions {
  /** Starts the server spans. */
  tracer: Tracer;
  /** Where the RED metrics go. */
  metrics: FlotillaMetrics;
  /** Durations, and the start and end times of the spans (one reading serves both). @default {hrClock} */
  clock?: Clock;
}

interface Instruments {
  /** The span name, `<service>/<action>`. */
  readonly name: string;
  readonly duration: HistogramChild;
  readonly inFlight: GaugeChild;
  readonly outcomes: Map<string, CounterChild>;
  readonly labels: { service: string; action: string; transport: string };
}

/**
 * An {@link InboundObserver} that opens a `server` span named
 * `<service>/<action>` on the call's own trace context (attributes
 * `rpc.system`, `rpc.service`, `rpc.method`, `flotilla.transport`,
 * `flotilla.caller`) and records `flotilla_server_requests_total`,
 * `flotilla_server_request_duration_seconds` and
 * `flotilla_server_in_flight_requests`. A caller's mistake (4xx kinds) does
 * not mark the span as an error; it still counts under its outcome.
 *
 * @example
 * ```ts
 * import { newTrace } from "@flotilla/core";
 * import { createFlotillaMetrics, Registry, serverObserver, Tracer } from "@flotilla/telemetry";
 *
 * const observer = serverObserver({ tracer: new Tracer(), metrics: createFlotillaMetrics(new Registry()) });
 * const call = observer.start({ service: "order", action: "place", transport: "http", trace: newTrace() });
 * call.end(undefined);
 * ```
 */
export function serverObserver(options: ServerObserverOptions): InboundObserver {
  const { tracer, metrics } = options;
  const clock = options.clock ?? hrClock;
  // service → action → transport: nested maps, so no key string is built per call.
  const cache = new Map<string, Map<string, Map<string, Instruments>>>();
  const instrumentsOf = (call: InboundCall): Instruments => {
    let byAction = cache.get(call.service);
    if (!byAction) cache.set(call.service, byAction = new Map());
    let byTransport = byAction.get(call.action);
    if (!byTransport) byAction.set(call.action, byTransport = new Map());
    let found = byTransport.get(call.transport);
    if (!found) {
      const labels = { service: call.service, action: call.action, transport: call.transport };
      found = {
        name: `${call.service}/${call.action}`,
        duration: metrics.serverDuration.labels(labels),
        inFlight: metrics.serverInFlight.labels({
          service: call.service,
          transport: call.transport,
        }),
        outcomes: new Map(),
        labels,
      };
      byTransport.set(call.transport, found);
    }
    return found;
  };
  return {
    start(call) {
      const instruments = instrumentsOf(call);
      const start = clock.now();
      instruments.inFlight.inc();
      const span = tracer.startSpan(instruments.name, {
        kind: "server",
        trace: call.trace,
        attributes: call.caller === undefined
          ? {
            "rpc.system": "flotilla",
            "rpc.service": call.service,
            "rpc.method": call.action,
            "flotilla.transport": call.transport,
          }
          : {
            "rpc.system": "flotilla",
            "rpc.service": call.service,
            "rpc.method": call.action,
            "flotilla.transport": call.transport,
            "flotilla.caller": call.caller,
          },
        // One clock reading serves the span and the duration.
        startTimeMs: start,
      });
      let ended = false;
      return {
        trace: span.trace,
        end(error) {
          if (ended) return;
          ended = true;
          const now = clock.now();
          instruments.inFlight.dec();
          instruments.duration.observe((now - start) / 1000);
          countOutcome(instruments.outcomes, metrics.serverRequests, instruments.labels, error);
          if (error !== undefined) span.recordError(error);
          span.end(now);
        },
      };
    },
  };
}
