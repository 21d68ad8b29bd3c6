/**
 * Typed clients of a service's peers, each behind its own call pipeline.
 *
 * @module
 */

import {
  type Clock,
  createClient,
  type Logger,
  type OutboundCall,
  type ServiceClient,
  type ServiceContract,
  systemClock,
} from "@flotilla/core";
import type { Registry } from "@flotilla/discovery";
import { Http1Agent, httpCaller } from "@flotilla/http";
import { parsePolicyConfig, type PolicyConfig, resolvePolicy } from "@flotilla/resilience";
import { PeerEndpoints } from "./endpoints.ts";
import type { PipelineEvent } from "./events.ts";
import type { CallObserver } from "./observer.ts";
import { callPipeline, type EndpointTransport, type Pipeline } from "./pipeline.ts";

/** Options of {@link Peers}. */
export interface PeersOptions {
  /** Name of the calling service, sent to every callee. */
  caller: string;
  /** Where peers are discovered. */
  registry: Registry;
  /**
   * Timeouts, retries, breakers, bulkheads, outlier ejection and balancers
   * per peer and action; replaced at runtime with {@link Peers.setPolicies}.
   */
  policies?: PolicyConfig;
  /**
   * Sends one attempt to one endpoint. @default {HTTP: `http:` endpoints over
   * kept HTTP/1.1 connections the peers own, others through `fetch`}
   */
  transport?: EndpointTransport;
  /** Clock of deadlines, breakers and budgets. @default {systemClock} */
  clock?: Clock;
  /** Tracing and metrics hook. */
  observer?: CallObserver;
  /** Receives the pipelines' events (breaker transitions, retries, ejections). */
  onEvent?: (event: PipelineEvent) => void;
  /** Logger for discovery problems and, by default, for pipeline events. */
  logger?: Logger;
}

/**
 * The peers of one service: one discovery watch and one pipeline per peer,
 * shared by every client of that peer.
 *
 * @example
 * ```ts
 * await using peers = new Peers({ caller: "order", registry, policies });
 * const payment = peers.client(paymentContract);
 * await payment.call("charge", { orderId, customerId, amount }, { ctx });
 * ```
 */
export class Peers implements AsyncDisposable {
  readonly #options: PeersOptions;
  readonly #endpoints = new Map<string, PeerEndpoints>();
  /** The stable pipeline handed out per peer: it forwards each call to the current one. */
  readonly #pipelines = new Map<string, Pipeline>();
  /** The pipeline in force per peer, and the policy slice it was built from. */
  readonly #current = new Map<string, { pipeline: Pipeline; slice: string }>();
  readonly #transport: EndpointTransport;
  /** The HTTP connections of the default transport, closed with the peers. */
  readonly #agent: Http1Agent | undefined;
  #policies: PolicyConfig;

  /** Creates the peers; nothing is watched until a client is made. */
  constructor(options: PeersOptions) {
    this.#options = options;
    this.#policies = options.policies ?? {};
    if (options.transport) {
      this.#transport = options.transport;
    } else {
      const agent = this.#agent = new Http1Agent();
      const send = httpCaller({ agent });
      this.#transport = (endpoint, call) => send(endpoint.url, call);
    }
  }

  /** A typed client of the service described by `contract`. */
  client<C extends ServiceContract>(
    contract: C,
    options: { defaultTimeoutMs?: number } = {},
  ): ServiceClient<C> {
    return createClient(contract, this.pipeline(contract.name), {
      caller: this.#options.caller,
      clock: this.#options.clock ?? systemClock,
      ...(options.defaultTimeoutMs === undefined
        ? {}
        : { defaultTimeoutMs: options.defaultTimeoutMs }),
    });
  }

  /** The policies in force (those given, or the last {@link Peers.setPolicies}). */
  get policies(): PolicyConfig {
    return this.#policies;
  }

  /**
   * Replaces the policies without a restart. Every call that starts
   * afterwards runs under the new ones; a call in flight finishes under the
   * policies it started with, so each call sees one consistent version. A
   * peer whose policy (the `defaults`, or its entry in `peers`) changed gets
   * a fresh pipeline — its breakers, bulkheads, outlier ejections, retry
   * budget and latency estimates start clean, as after a restart, sized by
   * the new policy; the pipelines of the other peers are kept as they are.
   *
   * @example
   * ```ts ignore
   * peers.setPolicies({ peers: { payment: { timeoutMs: 2_000, breaker: false } } });
   * ```
   *
   * @throws {ValidationError} `INVALID_POLICY` when `policies` is invalid (nothing changes).
   */
  setPolicies(policies: PolicyConfig): void {
    const checked = parsePolicyConfig(policies);
    this.#policies = checked;
    for (const [service, current] of this.#current) {
      if (sliceOf(checked, service) !== current.slice) this.#build(service);
    }
  }

  /**
   * The pipeline of calls to `service`. It stays the same object for the
   * life of the peers: after {@link Peers.setPolicies} it forwards new calls
   * to a pipeline built from the new policies.
   */
  pipeline(service: string): Pipeline {
    let pipeline = this.#pipelines.get(service);
    if (!pipeline) {
      this.#build(service);
      const currentOf = () => this.#current.get(service)!.pipeline;
      pipeline = Object.assign((call: OutboundCall) => currentOf()(call), {
        breakers: () => currentOf().breakers(),
      });
      this.#pipelines.set(service, pipeline);
    }
    return pipeline;
  }

  #build(service: string): void {
    const options = this.#options;
    const logger = options.logger;
    let endpoints = this.#endpoints.get(service);
    if (endpoints === undefined) {
      endpoints = new PeerEndpoints(options.registry, service, logger ? { logger } : {});
      this.#endpoints.set(service, endpoints);
    }
    const config = this.#policies;
    const pipeline = callPipeline({
      service,
      endpoints,
      transport: this.#transport,
      policy: memoize((action) => resolvePolicy(config, service, action)),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.observer ? { observer: options.observer } : {}),
      onEvent: options.onEvent ?? ((event) => logPipelineEvent(logger, event)),
      ...(logger ? { logger } : {}),
    });
    this.#current.set(service, { pipeline, slice: sliceOf(config, service) });
  }

  /** Stops every discovery watch and closes the default transport's connections. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#agent?.close();
    await Promise.all([...this.#endpoints.values()].map((e) => e[Symbol.asyncDispose]()));
    this.#endpoints.clear();
    this.#pipelines.clear();
  }
}

/** What the resolved policies of `service`'s actions depend on. */
function sliceOf(config: PolicyConfig, service: string): string {
  return JSON.stringify([config.defaults ?? null, config.peers?.[service] ?? null]);
}

function memoize<T>(compute: (key: string) => T): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => {
    let value = cache.get(key);
    if (value === undefined) cache.set(key, value = compute(key));
    return value;
  };
}

/**
 * Logs a pipeline event the way {@link Peers} does when no `onEvent` is
 * given: breaker changes, ejections and a spent retry budget at warn, the
 * rest at debug. Chain it when passing an `onEvent` of your own.
 *
 * @example
 * ```ts ignore
 * new Peers({ caller, registry, onEvent: (e) => { record(e); logPipelineEvent(logger, e); } });
 * ```
 */
export function logPipelineEvent(logger: Logger | undefined, event: PipelineEvent): void {
  if (!logger) return;
  switch (event.type) {
    case "breaker":
      logger.warn("circuit breaker changed state", {
        peer: event.service,
        endpoint: event.endpoint,
        from: event.from,
        to: event.to,
      });
      return;
    case "ejected":
      logger.warn("endpoint ejected after consecutive failures", {
        peer: event.service,
        endpoint: event.endpoint,
      });
      return;
    case "retry_budget_exhausted":
      logger.warn("retry budget exhausted; not retrying", {
        peer: event.service,
        action: event.action,
      });
      return;
    case "retry":
      logger.debug("retrying call", {
        peer: event.service,
        action: event.action,
        attempt: event.attempt,
        delay_ms: Math.round(event.delayMs),
        error: event.error instanceof Error ? event.error.message : String(event.error),
      });
      return;
    default:
      logger.debug(event.type, { peer: event.service });
  }
}
