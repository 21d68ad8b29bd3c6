/**
 * What the pipeline reports about its resilience machinery.
 *
 * @module
 */

/** Something the pipeline did or saw, discriminated on `type`. */
export type PipelineEvent =
  | {
    /** An endpoint's circuit breaker changed state. */
    type: "breaker";
    /** The peer. */
    service: string;
    /** The endpoint id. */
    endpoint: string;
    /** Previous state. */
    from: string;
    /** New state. */
    to: string;
  }
  | {
    /** A failed attempt is retried. */
    type: "retry";
    /** The peer. */
    service: string;
    /** The action. */
    action: string;
    /** Number of the attempt about to be made. */
    attempt: number;
    /** Backoff before it, ms. */
    delayMs: number;
    /** The failure that caused it. */
    error: unknown;
  }
  | {
    /** A retry was refused because the retry budget is spent. */
    type: "retry_budget_exhausted";
    /** The peer. */
    service: string;
    /** The action. */
    action: string;
  }
  | {
    /** An endpoint left the rotation after consecutive failures. */
    type: "ejected";
    /** The peer. */
    service: string;
    /** The endpoint id. */
    endpoint: string;
  }
  | {
    /** A call found every eligible endpoint's breaker open. */
    type: "circuit_open";
    /** The peer. */
    service: string;
  }
  | {
    /**
     * An endpoint left discovery: its breaker, bulkhead and latency estimate
     * are dropped (metrics keyed by it should be too).
     */
    type: "endpoint_removed";
    /** The peer. */
    service: string;
    /** The endpoint id. */
    endpoint: string;
  }
  | {
    /** An endpoint's bulkhead refused a call. */
    type: "bulkhead_full";
    /** The peer. */
    service: string;
    /** The endpoint id. */
    endpoint: string;
  };
