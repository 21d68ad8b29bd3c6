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
import type { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import {
  type Bus,
  type Delivery,
  type DeliveryHandler,
  EventCatalog,
  type EventEmitter,
  openBus,
  outboxEmitter,
  OutboxRelay,
  parseBusUrl,
  SqliteInbox,
  SqliteOutbox,
  type SubscribeOptions,
  validatedBus,
} from "@flotilla/bus";
import { type EventStore, openEventStore, parseEventStoreUrl } from "@flotilla/eventstore";
import type { GrpcBinding } from "@flotilla/grpc";
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
   * The message bus named by `FLOTILLA_BUS`, opened on first use (an
   * in-process memory bus, with a warning, when the variable is unset).
   */
  bus(): Promise<Bus>;
  /**
   * The transactional outbox of `db`: returns an emitter to call inside the
   * transactions that make the changes the events announce. From `serve()`
   * on, a relay publishes the committed events to the bus; on stop it
   * finishes its batch before the service's own `onStop` closes `db`.
   */
  outbox(db: DatabaseSync, options: { stream: string }): EventEmitter;
  /**
   * The event store named by `FLOTILLA_EVENTSTORE` (for a contract that
   * needs one): SQLite in `db` (the default), or PostgreSQL. Every event
   * appended is also written, in the append's transaction, to an outbox
   * (`db`'s, or the PostgreSQL schema's) that a relay publishes to `stream`
   * from `serve()` on, each event once; the relay stops before the
   * service's own `onStop`, which must dispose the store (after its
   * projectors) and then close `db`.
   */
  eventStore(db: DatabaseSync, options: { stream: string }): Promise<EventStore>;
  /**
   * Consumes `stream` from `serve()` on, each event processed once: `work`
   * runs synchronously in one transaction with the inbox record on `db`.
   * Stopped before the service's own `onStop`.
   */
  consume(
    db: DatabaseSync,
    stream: string,
    work: (delivery: Delivery) => void,
    options: Omit<SubscribeOptions, "signal">,
  ): void;
  /**
   * Serves the service over HTTP, registers it in the registry once ready,
   * starts its outbox relays and consumers, and on SIGTERM deregisters it,
   * stops them, drains it, and exits 0.
   */
  serve(service: Service): Promise<RunningService>;
}

/** Options of {@link bootService}. */
export interface BootOptions {
  /** Where settings are read from. @default {Deno.env} */
  env?: { get(name: string): string | undefined };
  /** Exit the process once a signal has stopped the service (tests turn it off). @default {true} */
  exitOnStop?: boolean;
  /**
   * The .proto bindings used with `FLOTILLA_TRANSPORT=grpc` (asked for only
   * then, so that a service on another transport never loads grpc-js): this
   * service's, and its peers'. A service or peer without one is served and
   * called over the JSON service of `@flotilla/grpc`.
   */
  grpc?: {
    binding?: () => GrpcBinding | Promise<GrpcBinding>;
    peers?: () => readonly GrpcBinding[] | Promise<readonly GrpcBinding[]>;
  };
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
  const configured = env.policies === undefined ? {} : parsePolicyConfig(env.policies);
  const registry = await openRegistry(env.registry, {
    ...(env.registryDir === undefined ? {} : { localDir: env.registryDir }),
    staticPeers: env.peers,
  });
  // Calls between services go over FLOTILLA_TRANSPORT; every service serves HTTP as well.
  const nats = env.transport.startsWith("nats://") ? await natsTransports(env) : undefined;
  const grpc = env.transport === "grpc" ? await grpcTransports(env, options.grpc) : undefined;
  const rpc = nats ?? grpc;
  // Over a broker a callee that died says nothing: a per-try timeout turns its lost requests
  // into retries elsewhere (FLOTILLA_POLICIES may set another, or `false`).
  const policies = nats === undefined ? configured : {
    ...configured,
    defaults: { attemptTimeoutMs: NATS_ATTEMPT_TIMEOUT_MS, ...configured.defaults },
  };
  const peers = new Peers({
    caller: contract.name,
    registry,
    policies,
    logger,
    ...(rpc === undefined ? {} : { transport: rpc.caller }),
  });
  const catalog = EventCatalog.fromContract(contract, { include: "all" });
  let bus: Promise<Bus> | undefined;
  const openNodeBus = () =>
    bus ??= (async () => {
      if (env.bus === undefined) {
        logger.warn("FLOTILLA_BUS is unset: events stay in this process (memory bus)");
        return await openBus("memory");
      }
      return await openBus(env.bus, env.busDir ? { sqlitePath: join(env.busDir, "bus.db") } : {});
    })();
  const starters: Array<() => Promise<AsyncDisposable>> = [];
  const started: AsyncDisposable[] = [];

  const stopAll = async () => {
    // Consumers and relays stop (finishing what is in flight) before the service closes its databases.
    for (const item of started.splice(0).reverse()) {
      try {
        await item[Symbol.asyncDispose]();
      } catch (error) {
        logger.error("could not stop a relay or consumer", { error });
      }
    }
    try {
      if (bus) await (await bus)[Symbol.asyncDispose]();
    } catch (error) {
      logger.error("could not close the bus", { error });
    }
  };

  return {
    env,
    logger,
    registry,
    peers,
    bus: openNodeBus,
    outbox(db, { stream }) {
      const outbox = new SqliteOutbox(db);
      let relay: OutboxRelay | undefined;
      starters.push(async () => {
        relay = new OutboxRelay({
          outbox,
          bus: await openNodeBus(),
          logger,
          owner: env.instanceId,
        });
        relay.notify();
        return relay;
      });
      return outboxEmitter(outbox, {
        stream,
        source: `/flotilla/${contract.name}`,
        catalog,
        // Called inside the writer's transaction: the relay reads once it has committed.
        onEmit: () => queueMicrotask(() => relay?.notify()),
      });
    },
    async eventStore(db, { stream }) {
      let relay: OutboxRelay | undefined;
      const sqlite = parseEventStoreUrl(env.eventStore).type === "sqlite"
        ? new SqliteOutbox(db)
        : undefined;
      const { store, outbox } = await openEventStore(env.eventStore, {
        db,
        outbox: {
          stream,
          source: `/flotilla/${contract.name}`,
          catalog,
          onWrite: () => relay?.notify(),
          ...(sqlite === undefined ? {} : { sqlite }),
        },
      });
      starters.push(async () => {
        relay = new OutboxRelay({
          outbox: outbox!,
          bus: await openNodeBus(),
          logger,
          owner: env.instanceId,
        });
        relay.notify();
        return relay;
      });
      return store;
    },
    consume(db, stream, work, subscribe) {
      starters.push(async () => {
        const inbox = new SqliteInbox(db, {
          group: subscribe.group,
          retentionMs: 7 * 24 * 3_600_000,
          ...(subscribe.ackWaitMs === undefined ? {} : { ackWaitMs: subscribe.ackWaitMs }),
          ...(subscribe.maxDeliver === undefined ? {} : { maxDeliver: subscribe.maxDeliver }),
          ...(subscribe.backoffMs === undefined ? {} : { backoffMs: subscribe.backoffMs }),
          logger,
        });
        const handler: DeliveryHandler = inbox.handler(work);
        // Payloads are checked against the contract's schemas on receipt too: an invalid event
        // is dead-lettered with the reason instead of reaching `work`.
        return await validatedBus(await openNodeBus(), catalog).subscribe(stream, handler, {
          consumer: env.instanceId,
          ...subscribe,
        });
      });
    },
    async serve(service) {
      const onStop = service.onStop;
      const wrapped: Service = {
        ...service,
        onStop: async () => {
          await stopAll();
          await onStop?.();
          // The service may call its peers until its own onStop is done.
          await rpc?.caller[Symbol.asyncDispose]();
        },
      };
      const running = await serveService(wrapped, {
        logger,
        announcer: registryAnnouncer(registry, {
          instanceId: env.instanceId,
          ttlMs: env.registryTtlMs,
        }),
        ...(options.env ? { env: options.env } : {}),
        ...(options.exitOnStop === undefined ? {} : { exitOnStop: options.exitOnStop }),
        ...(rpc === undefined ? {} : { transports: [rpc.transport()] }),
      });
      for (const start of starters) started.push(await start());
      return running;
    },
  };
}

/**
 * The gRPC server and caller of `FLOTILLA_TRANSPORT=grpc`, loaded on demand:
 * actions are served and called over their .proto bindings, or the JSON
 * service of `@flotilla/grpc` (`flotilla.json.v1.Json`) without one.
 */
async function grpcTransports(env: ServiceEnv, bindings: BootOptions["grpc"] = {}) {
  const { grpcCaller, grpcTransport } = await import("@flotilla/grpc");
  const binding = await bindings.binding?.();
  const peers = await bindings.peers?.() ?? [];
  return {
    caller: grpcCaller({ bindings: peers }),
    transport: () =>
      grpcTransport({
        port: env.grpcPort,
        hostname: env.hostname,
        ...(binding === undefined ? {} : { binding }),
      }),
  };
}

/** The per-try timeout of calls over NATS unless FLOTILLA_POLICIES sets one. */
const NATS_ATTEMPT_TIMEOUT_MS = 2_000;

/** The NATS request/reply transport and caller of `FLOTILLA_TRANSPORT=nats://…`, loaded on demand. */
async function natsTransports(env: ServiceEnv) {
  const parsed = parseBusUrl(env.transport);
  if (parsed.type !== "nats") {
    throw new RangeError(`Cannot use FLOTILLA_TRANSPORT "${env.transport}" as a NATS URL`);
  }
  const { natsRpcCaller, natsRpcTransport } = await import("@flotilla/natsrpc");
  return {
    caller: natsRpcCaller({ servers: parsed.servers }),
    // Its instance id is the announcer's, so callers address the instance they discovered.
    transport: () => natsRpcTransport({ servers: parsed.servers, instanceId: env.instanceId }),
  };
}
