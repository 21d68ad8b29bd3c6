/**
 * Typed clients of a service's peers, each behind its own call pipeline.
 *
 * @module
 */

import {
  type Clock,
  createClient,
  type Logger,
  type ServiceClient,
  type ServiceContract,
  systemClock,
} from "@flotilla/core";
import type { Registry } from "@flotilla/discovery";
import { httpCaller } from "@flotilla/http";
import { type PolicyConfig, resolvePolicy } from "@flotilla/resilience";
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
  /** Timeouts, retries, breakers, bulkheads, outlier ejection and balancers per peer and action. */
  policies?: PolicyConfig;
  /** Sends one attempt to one endpoint. @default {HTTP} */
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
  readonly #pipelines = new Map<string, Pipeline>();
  readonly #transport: EndpointTransport;

  /** Creates the peers; nothing is watched until a client is made. */
  constructor(options: PeersOptions) {
    this.#options = options;
    const send = httpCaller();
    this.#transport = options.transport ?? ((endpoint, call) => send(endpoint.url, call));
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

  /** The pipeline of calls to `service`. */
  pipeline(service: string): Pipeline {
    let pipeline = this.#pipelines.get(service);
    if (!pipeline) {
      const options = this.#options;
      const logger = options.logger;
      const endpoints = new PeerEndpoints(options.registry, service, logger ? { logger } : {});
      this.#endpoints.set(service, endpoints);
      const config = options.policies ?? {};
      pipeline = callPipeline({
        service,
        endpoints,
        transport: this.#transport,
        policy: memoize((action) => resolvePolicy(config, service, action)),
        ...(options.clock ? { clock: options.clock } : {}),
        ...(options.observer ? { observer: options.observer } : {}),
        onEvent: options.onEvent ?? ((event) => logEvent(logger, event)),
        ...(logger ? { logger } : {}),
      });
      this.#pipelines.set(service, pipeline);
    }
    return pipeline;
  }

  /** Stops every discovery watch. */
  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all([...this.#endpoints.values()].map((e) => e[Symbol.asyncDispose]()));
    this.#endpoints.clear();
    this.#pipelines.clear();
  }
}

function memoize<T>(compute: (key: string) => T): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => {
    let value = cache.get(key);
    if (value === undefined) cache.set(key, value = compute(key));
    return value;
  };
}

function logEvent(logger: Logger | undefined, event: PipelineEvent): void {
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
