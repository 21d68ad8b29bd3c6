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
  type TraceContext,
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
import { logPipelineEvent, Peers } from "@flotilla/client";
import {
  createTelemetry,
  deliveryTrace,
  type OutboxStatsSource,
  type Telemetry,
  watchOutbox,
} from "@flotilla/telemetry";
import { serveService } from "@flotilla/http";
import { parsePolicyConfig } from "@flotilla/resilience";
import { CrashPoints } from "./crash_points.ts";
import { otelEnv } from "./_otel_env.ts";
import type { ConfigStore } from "@flotilla/config";
import { type ChaosEngine, chaosService } from "@flotilla/chaos";
import { openDynamicConfig } from "./_dynamic_config.ts";
import type { RuntimeConfig } from "./runtime_config.ts";

/** A booted service process. */
export interface ServiceNode {
  /** The settings read from the environment. */
  readonly env: ServiceEnv;
  /** The service's logger (JSON lines on stdout). */
  readonly logger: CoreLogger;
  /** Its `FLOTILLA_CRASH_AT` points, for crash suites (`serve` arms its handlers'). */
  readonly crashPoints: CrashPoints;
  /** The registry it registers in and discovers peers through (`FLOTILLA_REGISTRY`). */
  readonly registry: Registry;
  /**
   * Its metrics and traces (`OTEL_*` variables): `GET /metrics`, server,
   * client, producer and consumer spans; flushed on stop.
   */
  readonly telemetry: Telemetry;
  /** Clients of its peers, each behind the call pipeline. */
  readonly peers: Peers;
  /**
   * Its live configuration (`FLOTILLA_CONFIG`): `logLevel`, `policies`,
   * `featureFlags`, `chaos` and the app's own keys, hot-reloaded; served
   * as `GET /config` to the holder of `FLOTILLA_CONFIG_TOKEN`.
   */
  readonly config: ConfigStore<RuntimeConfig>;
  /** Its fault injector, following the `chaos` section of {@link ServiceNode.config}. */
  readonly chaos: ChaosEngine;
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
    work: (delivery: Delivery, context: ConsumeContext) => void,
    options: Omit<SubscribeOptions, "signal">,
  ): void;
  /**
   * Serves the service over HTTP, registers it in the registry once ready,
   * starts its outbox relays and consumers, and on SIGTERM deregisters it,
   * stops them, drains it, and exits 0.
   */
  serve(service: Service): Promise<RunningService>;
}

/** What the `work` of {@link ServiceNode.consume} gets besides the delivery. */
export interface ConsumeContext {
  /** The consumer span's trace, continuing the producer's (undefined without telemetry). */
  readonly trace: TraceContext | undefined;
  /** The service's logger with the span's `trace_id` and `span_id`. */
  readonly logger: CoreLogger;
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
  const crashPoints = CrashPoints.parse(
    (options.env ?? Deno.env).get("FLOTILLA_CRASH_AT"),
    contract.name,
    env.dataDir,
  );
  if (crashPoints.armed) {
    logger.warn("FLOTILLA_CRASH_AT is set: this process will crash on purpose");
  }
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
  const telemetry = createTelemetry({
    service: contract.name,
    instance: env.instanceId,
    transport: nats === undefined ? env.transport : "nats",
    env: otelEnv(options.env ?? Deno.env),
  });
  // Level, policies and chaos rules follow FLOTILLA_CONFIG from now on.
  const dynamic = await openDynamicConfig({
    service: contract.name,
    config: env.config,
    dataDir: env.dataDir,
    token: env.configToken,
    defaults: { logLevel: env.logLevel, policies },
    logger,
  });
  const peers = new Peers({
    caller: contract.name,
    registry,
    policies: dynamic.store.current.values.policies ?? policies,
    logger,
    observer: telemetry.callObserver,
    onEvent: (event) => {
      telemetry.onPipelineEvent(event);
      logPipelineEvent(logger, event);
    },
    transport: dynamic.transport(rpc?.caller),
  });
  dynamic.followPolicies((next) => peers.setPolicies(next));
  const catalog = EventCatalog.fromContract(contract, { include: "all" });
  let bus: Promise<Bus> | undefined;
  const openNodeBus = () =>
    bus ??= dynamic.chaosBus(async () => {
      if (env.bus === undefined) {
        logger.warn("FLOTILLA_BUS is unset: events stay in this process (memory bus)");
        return telemetry.instrumentBus(await openBus("memory"));
      }
      // Producer spans for what the relays publish, consumer spans for every delivery.
      return telemetry.instrumentBus(
        await openBus(env.bus, env.busDir ? { sqlitePath: join(env.busDir, "bus.db") } : {}),
      );
    });
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
    crashPoints,
    registry,
    telemetry,
    peers,
    config: dynamic.store,
    chaos: dynamic.chaos,
    bus: openNodeBus,
    outbox(db, { stream }) {
      const outbox = new SqliteOutbox(db);
      watchOutbox(telemetry.registry, telemetry.metrics, outbox);
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
      const stats = sqlite ?? outbox;
      if (stats !== undefined && "stats" in stats) {
        watchOutbox(telemetry.registry, telemetry.metrics, stats as OutboxStatsSource);
      }
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
        const handler: DeliveryHandler = inbox.handler((delivery) => {
          // The consumer span of the instrumented bus: the work's logs carry its ids.
          const trace = deliveryTrace(delivery);
          work(delivery, {
            trace,
            logger: trace === undefined
              ? logger
              : logger.child({ trace_id: trace.traceId, span_id: trace.spanId }),
          });
        });
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
        ...dynamic.rateLimited(chaosService(dynamic.chaos, crashPoints.wrap(service))),
        onStop: async () => {
          await stopAll();
          await onStop?.();
          // The service may call its peers until its own onStop is done.
          await rpc?.caller[Symbol.asyncDispose]();
          // Every span has ended: export what is queued.
          await telemetry.shutdown().catch((error) =>
            logger.warn("could not flush the telemetry", { error })
          );
          await dynamic[Symbol.asyncDispose]();
        },
      };
      const running = await serveService(wrapped, {
        logger,
        inbound: telemetry.inbound,
        metrics: () => telemetry.metricsResponse(),
        config: dynamic.handler,
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
