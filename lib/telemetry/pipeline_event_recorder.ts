/**
 * Metrics of the client pipeline's resilience events: breaker states,
 * retries, the retry budget, rejections.
 *
 * @module
 */

import type { PipelineEvent } from "@flotilla/client";
import { BREAKER_STATE_VALUE, type FlotillaMetrics } from "./flotilla_metrics.ts";

/**
 * A `PipelineOptions.onEvent` handler that records
 * `flotilla_circuit_breaker_state{peer,endpoint}` (0 closed, 1 half_open,
 * 2 open), `flotilla_circuit_breaker_transitions_total{peer,to}`,
 * `flotilla_client_retries_total`, `flotilla_retry_budget_exhausted_total`
 * and `flotilla_client_rejections_total{peer,reason}`; drops an endpoint's
 * breaker state when it leaves discovery. Chain it with any
 * other handler: `(e) => { record(e); log(e); }`.
 *
 * @example
 * ```ts
 * import { createFlotillaMetrics, pipelineEventRecorder, Registry } from "@flotilla/telemetry";
 *
 * const metrics = createFlotillaMetrics(new Registry());
 * const onEvent = pipelineEventRecorder(metrics);
 * onEvent({ type: "breaker", service: "inventory", endpoint: "inventory-1", from: "closed", to: "open" });
 * metrics.breakerState.get({ peer: "inventory", endpoint: "inventory-1" }); // 2
 * ```
 */
export function pipelineEventRecorder(metrics: FlotillaMetrics): (event: PipelineEvent) => void {
  return (event) => {
    switch (event.type) {
      case "breaker":
        metrics.breakerState.set(
          { peer: event.service, endpoint: event.endpoint },
          BREAKER_STATE_VALUE[event.to] ?? -1,
        );
        metrics.breakerTransitions.inc({ peer: event.service, to: event.to });
        break;
      case "retry":
        metrics.clientRetries.inc({ peer: event.service, action: event.action });
        break;
      case "retry_budget_exhausted":
        metrics.retryBudgetExhausted.inc({ peer: event.service, action: event.action });
        break;
      case "ejected":
        metrics.clientRejections.inc({ peer: event.service, reason: "ejected" });
        break;
      case "circuit_open":
        metrics.clientRejections.inc({ peer: event.service, reason: "circuit_open" });
        break;
      case "bulkhead_full":
        metrics.clientRejections.inc({ peer: event.service, reason: "bulkhead_full" });
        break;
      case "endpoint_removed":
        // A process that comes back is new: its breaker starts closed, and unseen until it moves.
        metrics.breakerState.remove({ peer: event.service, endpoint: event.endpoint });
        break;
    }
  };
}
