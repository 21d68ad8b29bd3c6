/**
 * One call to run a service process over HTTP, configured from its
 * environment.
 *
 * @module
 */

import {
  type Announcer,
  type EnvReader,
  type InboundObserver,
  Logger,
  readServiceEnv,
  type RunningService,
  runService,
  type Service,
  type Transport,
} from "@flotilla/core";
import { httpTransport } from "./transport.ts";

/** Options of {@link serveService}. */
export interface ServeOptions {
  /** Where settings are read from. @default {Deno.env} */
  env?: EnvReader;
  /** The service's logger. @default {JSON lines on stdout, level from FLOTILLA_LOG_LEVEL} */
  logger?: Logger;
  /** Exit the process with code 0 once a signal has drained the service. @default {true} */
  exitOnStop?: boolean;
  /** Registers the service once ready and deregisters it before draining. */
  announcer?: Announcer;
  /**
   * Transports to serve on besides HTTP (gRPC, NATS), started after it and
   * drained with it. @default {none}
   */
  transports?: readonly Transport[];
  /** Tracing and metrics of inbound calls (`telemetry.inbound`). @default {none} */
  inbound?: InboundObserver;
  /** Answers `GET /metrics` (`telemetry.metricsResponse`). @default {no /metrics route} */
  metrics?: () => Response | Promise<Response>;
  /** Answers `GET /config` (see `HttpAppOptions.config`). @default {no /config route} */
  config?: (request: Request) => Response | Promise<Response>;
}

/**
 * Serves `service` over HTTP on the port and address of its environment
 * (`PORT`, `FLOTILLA_HOST`, `FLOTILLA_BODY_LIMIT`, `FLOTILLA_DRAIN_TIMEOUT_MS`,
 * `FLOTILLA_LOG_LEVEL`), and on SIGTERM or SIGINT drains in-flight work,
 * runs the service's `onStop` and exits 0.
 *
 * @example
 * ```ts
 * // main.ts of a service
 * await serveService(defineService(greeter, handlers));
 * ```
 */
export async function serveService(
  service: Service,
  options: ServeOptions = {},
): Promise<RunningService> {
  const env = readServiceEnv(service.contract, options.env);
  const logger = options.logger ??
    new Logger({ level: env.logLevel, fields: { service: service.contract.name } });
  let running: RunningService;
  try {
    running = await runService(service, {
      logger,
      drainTimeoutMs: env.drainTimeoutMs,
      ...(options.announcer ? { announcer: options.announcer } : {}),
      ...(options.inbound ? { inbound: options.inbound } : {}),
      transports: [
        httpTransport({
          port: env.port,
          hostname: env.hostname,
          bodyLimit: env.bodyLimit,
          ...(options.metrics ? { metrics: options.metrics } : {}),
          ...(options.config ? { config: options.config } : {}),
        }),
        ...(options.transports ?? []),
      ],
    });
  } catch (error) {
    logger.error("failed to start", { error });
    if (options.exitOnStop ?? true) Deno.exit(1);
    throw error;
  }
  if (options.exitOnStop ?? true) void running.finished.then(() => Deno.exit(0));
  return running;
}
