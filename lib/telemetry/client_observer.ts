/**
 * The outbound hook: a client span and RED metrics for every call through
 * the `@flotilla/client` pipeline.
 *
 * @module
 */

import type { Clock, OutboundCall } from "@flotilla/core";
import type { AttemptInfo, CallObservation, CallObserver } from "@flotilla/client";
import type { CounterChild } from "./counter.ts";
import { countOutcome, type FlotillaMetrics } from "./flotilla_metrics.ts";
import type { HistogramChild } from "./histogram.ts";
import { hrClock } from "./hr_clock.ts";
import type { Span } from "./span.ts";
import type { Tracer } from "./tracer.ts";

// Calls in flight whose spans `attempt()` can still annotate.
const MAX_IN_FLIGHT = 100_000;

/** Options of {@link clientObserver}. */
export interface ClientObserverOptions {
  /** Starts the client spans. */
  tracer: Tracer;
  /** Where the RED metrics go. */
  metrics: FlotillaMetrics;
  /** The transport calls go through, set as `flotilla.transport`. @default {"http"} */
  transport?: string;
  /** Durations, and the start and end times of the spans (one reading serves both). @default {hrClock} */
  clock?: Clock;
}

interface Instruments {
  /** The span name, `<peer>/<action>`. */
  readonly name: string;
  readonly duration: HistogramChild;
  readonly attempts: CounterChild;
  readonly outcomes: Map<string, CounterChild>;
  readonly labels: { peer: string; action: string };
}

/**
 * A `CallObserver` for the client pipeline: a `client` span named
 * `<peer>/<action>` on the call's own trace context (`call.trace`, whose
 * span id the transport sends as the callee's parent), one `attempt` event
 * per try with the endpoint, `server.address` and `server.port` of the last
 * try, and `flotilla_client_requests_total`,
 * `flotilla_client_request_duration_seconds` and
 * `flotilla_client_attempts_total`.
 *
 * @example
 * ```ts ignore
 * const peers = new Peers({ ..., observer: clientObserver({ tracer, metrics }) });
 * ```
 */
export function clientObserver(options: ClientObserverOptions): CallObserver {
  const { tracer, metrics } = options;
  const clock = options.clock ?? hrClock;
  const transport = options.transport ?? "http";
  // peer → action: nested maps, so no key string is built per call.
  const cache = new Map<string, Map<string, Instruments>>();
  // The recording span of each call in flight, for `attempt()`. A Map whose entries `end()`
  // deletes, not a WeakMap: a WeakMap entry per call costs the garbage collector far more
  // (ephemerons are traced at every scavenge) than a set and a delete.
  // Keyed by span id: the pipeline sends attempts with the trace this observer decided, which
  // for a root call may be another object than the call it started with.
  const spans = new Map<string, Span>();
  const addresses = new Map<string, { address: string; port: number | undefined }>();
  const instrumentsOf = (call: OutboundCall): Instruments => {
    let byAction = cache.get(call.service);
    if (!byAction) cache.set(call.service, byAction = new Map());
    let found = byAction.get(call.action);
    if (!found) {
      const labels = { peer: call.service, action: call.action };
      found = {
        name: `${call.service}/${call.action}`,
        duration: metrics.clientDuration.labels(labels),
        attempts: metrics.clientAttempts.labels(labels),
        outcomes: new Map(),
        labels,
      };
      byAction.set(call.action, found);
    }
    return found;
  };
  const addressOf = (id: string, url: string) => {
    let found = addresses.get(id);
    if (!found) {
      try {
        const parsed = new URL(url);
        found = {
          address: parsed.hostname,
          port: parsed.port === "" ? undefined : Number(parsed.port),
        };
      } catch {
        found = { address: url, port: undefined };
      }
      if (addresses.size > 10_000) addresses.clear();
      addresses.set(id, found);
    }
    return found;
  };
  return {
    start(call: OutboundCall): CallObservation {
      const instruments = instrumentsOf(call);
      const start = clock.now();
      const span = tracer.startSpan(instruments.name, {
        kind: "client",
        trace: call.trace,
        attributes: {
          "rpc.system": "flotilla",
          "rpc.service": call.service,
          "rpc.method": call.action,
          "flotilla.transport": transport,
          "flotilla.caller": call.caller,
          "flotilla.idempotent": call.idempotent,
        },
        // One clock reading serves the span and the duration.
        startTimeMs: start,
      });
      const recording = span.recording;
      if (recording) {
        // A call whose end() never comes must not pin spans forever.
        if (spans.size >= MAX_IN_FLIGHT) spans.clear();
        spans.set(span.trace.spanId, span);
      }
      let ended = false;
      return {
        trace: span.trace,
        end(error) {
          if (ended) return;
          ended = true;
          if (recording) spans.delete(span.trace.spanId);
          const now = clock.now();
          instruments.duration.observe((now - start) / 1000);
          countOutcome(instruments.outcomes, metrics.clientRequests, instruments.labels, error);
          if (error !== undefined) span.recordError(error);
          span.end(now);
        },
      };
    },
    attempt(call: OutboundCall, info: AttemptInfo): void {
      instrumentsOf(call).attempts.inc();
      const span = spans.get(call.trace.spanId);
      if (!span) return;
      const { address, port } = addressOf(info.endpoint.id, info.endpoint.url);
      span.addEvent("attempt", {
        "flotilla.attempt": info.attempt,
        "flotilla.endpoint": info.endpoint.id,
      });
      span.setAttribute("server.address", address);
      span.setAttribute("server.port", port);
      span.setAttribute("flotilla.endpoint", info.endpoint.id);
      if (info.attempt > 1) span.setAttribute("flotilla.attempts", info.attempt);
    },
  };
}
