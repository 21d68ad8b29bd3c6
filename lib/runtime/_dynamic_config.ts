// Internal helper of bootService; not exported by mod.ts.

import { timingSafeEqual } from "node:crypto";
import { join } from "node:path";
import {
  type Context,
  type Logger,
  type LogLevel,
  PROBLEM_CONTENT_TYPE,
  type Service,
} from "@flotilla/core";
import {
  configHandler,
  type ConfigSource,
  ConfigStore,
  openConfigSource,
  parseConfigUrl,
} from "@flotilla/config";
import { chaosBus, chaosConfigSchema, chaosEndpointTransport, ChaosEngine } from "@flotilla/chaos";
import type { Bus } from "@flotilla/bus";
import type { EndpointTransport } from "@flotilla/client";
import { httpCaller } from "@flotilla/http";
import { type PolicyConfig, RateLimiter } from "@flotilla/resilience";
import { type RuntimeConfig, runtimeConfigSchema } from "./runtime_config.ts";

/** What {@link openDynamicConfig} needs. */
export interface DynamicConfigOptions {
  /** The service's name. */
  service: string;
  /** `FLOTILLA_CONFIG`. */
  config: string;
  /** The data folder, where a bare `file` source lives (`<dataDir>/config.json`). */
  dataDir: string | undefined;
  /** `FLOTILLA_CONFIG_TOKEN`: the bearer token of `GET /config`; unset, it is not served. */
  token: string | undefined;
  /** The level and policies the environment sets: the lowest layer. */
  defaults: { logLevel: LogLevel; policies: PolicyConfig };
  /** The service's logger: its level follows `logLevel`. */
  logger: Logger;
  /** The source to follow, instead of the one `config` names (tests). */
  source?: ConfigSource;
  /** Debounce of the file watch. @default {100} */
  debounceMs?: number;
}

/** A service's live configuration and the chaos engine that follows it. */
export interface DynamicConfig extends AsyncDisposable {
  /** The store. */
  readonly store: ConfigStore<RuntimeConfig>;
  /** The chaos engine following the `chaos` section. */
  readonly chaos: ChaosEngine;
  /** `GET /config`, behind the bearer token. */
  readonly handler: (request: Request) => Response;
  /** Makes `apply` follow `policies` (with the environment's under them), from now on. */
  followPolicies(apply: (policies: PolicyConfig) => void): void;
  /** The pipeline's per-attempt transport (`base`, else HTTP) with the client-side chaos rules. */
  transport(base?: EndpointTransport): EndpointTransport;
  /** Opens the bus with `open` and wraps it with the bus-side chaos rules. */
  chaosBus(open: () => Promise<Bus>): Promise<Bus>;
  /** `service` with its handlers refused beyond the `rateLimit` in force (`RATE_LIMITED`). */
  rateLimited<S extends Service>(service: S): S;
}

/**
 * Opens the dynamic configuration of a service: the environment's level and
 * policies as defaults, under the source `FLOTILLA_CONFIG` names — a bare
 * `file` is `<dataDir>/config.json`, or nothing for a service without a
 * data folder — with the `chaos` section; the log level follows it at once.
 */
export async function openDynamicConfig(options: DynamicConfigOptions): Promise<DynamicConfig> {
  const { logger, service } = options;
  let source = options.source;
  if (source === undefined) {
    const url = parseConfigUrl(options.config);
    const defaultPath = options.dataDir === undefined
      ? undefined
      : join(options.dataDir, "config.json");
    if (url.type === "etcd" || url.path !== undefined || defaultPath !== undefined) {
      source = openConfigSource(url, {
        service,
        ...(defaultPath === undefined ? {} : { defaultPath }),
        ...(options.debounceMs === undefined ? {} : { debounceMs: options.debounceMs }),
      });
    } else {
      logger.debug("no dynamic configuration: FLOTILLA_CONFIG is file and there is no data folder");
    }
  }
  const store = await ConfigStore.open(runtimeConfigSchema, {
    defaults: options.defaults,
    sections: { chaos: chaosConfigSchema },
    service,
    logger,
    ...(source === undefined ? {} : { source }),
  }) as unknown as ConfigStore<RuntimeConfig>;
  const subscriptions: Disposable[] = [];
  subscriptions.push(store.subscribe((c) => c.logLevel, (level) => {
    const next = level ?? options.defaults.logLevel;
    if (next !== logger.level) {
      logger.info("log level changed", { from: logger.level, to: next });
      logger.setLevel(next);
    }
  }, { immediate: true }));
  const chaos = new ChaosEngine({ service, logger });
  subscriptions.push(chaos.follow(store, (c) => c.chaos));
  store.onEvent((event) => {
    if (event.type === "reloaded") {
      logger.info("configuration reloaded", {
        version: event.snapshot.version,
        source: event.snapshot.source,
      });
    }
  });
  // The inbound rate limit follows `rateLimit`: one bucket, its limits updated in place.
  let limiter: RateLimiter | undefined;
  subscriptions.push(store.subscribe((c) => c.rateLimit, (limit) => {
    if (limit === undefined) {
      if (limiter) logger.info("rate limit lifted");
      limiter = undefined;
      return;
    }
    if (limiter) limiter.update(limit);
    else limiter = new RateLimiter({ ...limit, name: service });
    logger.info("rate limit set", { ...limiter.limit });
  }, { immediate: true }));
  const describe = configHandler(store);
  return {
    store,
    chaos,
    handler: tokenGuard(options.token, describe),
    followPolicies(apply) {
      subscriptions.push(store.subscribe((c) => c.policies, (policies) => {
        try {
          apply(policies ?? {});
          logger.info("call policies changed");
        } catch (error) {
          logger.error("could not apply the new call policies", { error });
        }
      }));
    },
    transport(base) {
      if (base === undefined) {
        const send = httpCaller();
        base = (endpoint, call) => send(endpoint.url, call);
      }
      return chaosEndpointTransport(chaos, base);
    },
    async chaosBus(open) {
      return chaosBus(await open(), chaos);
    },
    rateLimited(target) {
      const handlers: Record<string, (input: unknown, ctx: Context) => unknown> = {};
      for (
        const [action, handler] of Object.entries(
          target.handlers as Record<string, (input: unknown, ctx: Context) => unknown>,
        )
      ) {
        handlers[action] = (input, ctx) => {
          limiter?.acquire();
          return handler(input, ctx);
        };
      }
      return { ...target, handlers } as typeof target;
    },
    async [Symbol.asyncDispose]() {
      for (const subscription of subscriptions.splice(0)) subscription[Symbol.dispose]();
      await store[Symbol.asyncDispose]();
    },
  };
}

const encoder = new TextEncoder();

/**
 * `GET /config` for the holder of `token` only: the service's port is
 * public (the gateway's is the shop's front door), and the configuration —
 * secrets hidden or not — tells an attacker how the system is tuned. No
 * token configured: 404, as if there were no such route.
 */
export function tokenGuard(
  token: string | undefined,
  handler: (request: Request) => Response,
): (request: Request) => Response {
  const expected = token === undefined ? undefined : encoder.encode(`Bearer ${token}`);
  return function guardedConfig(request) {
    if (expected === undefined) {
      return problem(404, "NOT_FOUND", "GET /config is not served: FLOTILLA_CONFIG_TOKEN is unset");
    }
    const given = encoder.encode(request.headers.get("authorization") ?? "");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return problem(401, "UNAUTHENTICATED", "GET /config needs the configuration bearer token", {
        "www-authenticate": 'Bearer realm="flotilla-config"',
      });
    }
    return handler(request);
  };
}

function problem(
  status: number,
  code: string,
  detail: string,
  headers: Record<string, string> = {},
): Response {
  const type = `urn:flotilla:problem:${code.toLowerCase().replaceAll("_", "-")}`;
  return new Response(JSON.stringify({ type, title: code, status, detail, code }), {
    status,
    headers: { "content-type": PROBLEM_CONTENT_TYPE, ...headers },
  });
}
