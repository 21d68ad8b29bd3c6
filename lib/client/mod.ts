/**
 * The call pipeline: every service-to-service call goes through deadline →
 * observer (tracing) → discovery → load balancer → per-endpoint circuit
 * breaker and bulkhead → retry → transport.
 *
 * @example
 * ```ts
 * import { Peers } from "@flotilla/client";
 * await using peers = new Peers({ caller: "order", registry, policies });
 * const payment = peers.client(paymentContract);
 * ```
 *
 * @module
 */

export { type PeerEndpoint, PeerEndpoints, type PeerEndpointsOptions } from "./endpoints.ts";
export {
  callPipeline,
  type EndpointSource,
  type EndpointTransport,
  type Pipeline,
  type PipelineOptions,
} from "./pipeline.ts";
export { logPipelineEvent, Peers, type PeersOptions } from "./peers.ts";
export type { AttemptInfo, CallObservation, CallObserver } from "./observer.ts";
export type { PipelineEvent } from "./events.ts";
