/**
 * Boots a service process: its settings, its logger, its registry, the
 * clients of its peers, and serving it.
 *
 * @module
 */

import {
  Logger,
  type Logger as CoreLogger,
  readServiceEnv,
  type RunningService,
  type Service,
  type ServiceContract,
  type ServiceEnv,
} from "@flotilla/core";
import { openRegistry, type Registry, registryAnnouncer } from "@flotilla/discovery";
import { Peers } from "@flotilla/client";
import { serveService } from "@flotilla/http";
import { parsePolicyConfig } from "@flotilla/resilience";

/** A booted service process. */
export interface ServiceNode {
  /** The settings read from the environment. */
  readonly env: ServiceEnv;
  /** The service's logger (JSON lines on stdout). */
  readonly logger: CoreLogger;
  /** The registry it registers in and discovers peers through (`FLOTILLA_REGISTRY`). */
  readonly registry: Registry;
  /** Clients of its peers, each behind the call pipeline. */
  readonly peers: Peers;
  /**
   * Serves the service over HTTP, registers it in the registry once ready,
   * and on SIGTERM deregisters it, drains it, and exits 0.
   */
  serve(service: Service): Promise<RunningService>;
}

/** Options of {@link bootService}. */
export interface BootOptions {
  /** Where settings are read from. @default {Deno.env} */
  env?: { get(name: string): string | undefined };
}

/**
 * Boots the process of the service described by `contract` from its
 * `FLOTILLA_*` environment.
 *
 * @example
 * ```ts
 * const node = await bootService(orderContract);
 * const payment = node.peers.client(paymentContract);
 * await node.serve(createOrderService({ payment }));
 * ```
 */
export async function bootService(
  contract: ServiceContract,
  options: BootOptions = {},
): Promise<ServiceNode> {
  const env = readServiceEnv(contract, options.env);
  const logger = new Logger({ level: env.logLevel, fields: { service: contract.name } });
  const policies = env.policies === undefined ? {} : parsePolicyConfig(env.policies);
  const registry = await openRegistry(env.registry, {
    ...(env.registryDir === undefined ? {} : { localDir: env.registryDir }),
    staticPeers: env.peers,
  });
  const peers = new Peers({ caller: contract.name, registry, policies, logger });
  return {
    env,
    logger,
    registry,
    peers,
    serve: (service) =>
      serveService(service, {
        logger,
        announcer: registryAnnouncer(registry, {
          instanceId: env.instanceId,
          ttlMs: env.registryTtlMs,
        }),
        ...(options.env ? { env: options.env } : {}),
      }),
  };
}
