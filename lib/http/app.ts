/**
 * The HTTP face of a service, derived from its contract.
 *
 * @module
 */

import { Hono } from "hono";
import type { Context as HonoContext } from "hono";
import { bodyLimit } from "hono/body-limit";
import {
  type ActionSpec,
  type Caller,
  continueTrace,
  FlotillaError,
  formatTraceparent,
  type HttpRoute,
  type InboundMeta,
  type ServiceHost,
  type TraceContext,
  ValidationError,
} from "@flotilla/core";
import { HEADERS, isValidIdempotencyKey } from "./headers.ts";
import { problemResponse } from "./problem.ts";

/** Options of {@link createHttpApp}. */
export interface HttpAppOptions {
  /** Largest accepted request body in bytes; larger ones get 413. @default {1048576} */
  bodyLimit?: number;
  /**
   * Answers `GET /metrics` (Prometheus text format, e.g. `telemetry.metricsResponse`
   * of `@flotilla/telemetry`), outside `host.invoke`: a scrape is not a call and
   * is answered while draining too. @default {no /metrics route}
   */
  metrics?: () => Response | Promise<Response>;
  /**
   * Answers `GET /config` (the configuration in force, e.g. `configHandler`
   * of `@flotilla/config` behind a token check), outside `host.invoke`.
   * @default {no /config route}
   */
  config?: (request: Request) => Response | Promise<Response>;
}

/** The HTTP face of a service: a fetch handler, and `request()` for tests without a socket. */
export interface HttpApp {
  /** Answers one request. */
  fetch(request: Request): Response | Promise<Response>;
  /** Answers a request built from a path or URL, as `fetch` would. */
  request(input: string | URL | Request, init?: RequestInit): Response | Promise<Response>;
}

interface RequestState {
  trace: TraceContext;
  route: string;
}

/** The context variable holding a request's state. */
const STATE = "flotilla.request";

/**
 * Builds the Hono app that serves a host's service:
 *
 * - `GET /healthz` — 200 while the process lives;
 * - `GET /readyz` — 200 when ready, 503 while starting or draining;
 * - `GET /metrics` — the metrics, when `options.metrics` is given;
 * - `GET /config` — the configuration, when `options.config` is given;
 * - `POST /rpc/<action>` — every action, JSON in and out (what peers call);
 * - each action's REST route from its contract (`GET /orders/:id`…), whose
 *   input is the query, the JSON body and the path parameters merged.
 *
 * Errors are RFC 9457 problem+json: malformed JSON and schema violations 400
 * naming the field, unknown routes 404, wrong methods 405, bodies over the
 * limit 413. Drive it in tests with `app.request()`, no socket needed.
 */
export function createHttpApp(host: ServiceHost, options: HttpAppOptions = {}): HttpApp {
  const limit = options.bodyLimit ?? 1024 * 1024;
  if (!(Number.isInteger(limit) && limit > 0)) {
    throw new RangeError(
      `Cannot create the HTTP app as 'bodyLimit' must be a positive integer: current value is ${limit}`,
    );
  }
  const app = new Hono();
  // On the request's context, which the handlers, notFound and onError share: a WeakMap keyed by
  // the request would cost the garbage collector an ephemeron per request.
  const stateOf = (c: HonoContext): RequestState => {
    let state = c.get(STATE) as RequestState | undefined;
    if (!state) {
      state = {
        trace: continueTrace(c.req.header(HEADERS.traceparent), c.req.header(HEADERS.tracestate)),
        route: "(unmatched)",
      };
      c.set(STATE, state);
    }
    return state;
  };

  app.use(async function accessLog(c, next) {
    // Requests are logged at debug level and failures at warn: skip the work when nothing is written.
    const debug = host.logger.enabled("debug");
    const started = debug ? performance.now() : 0;
    await next();
    const status = c.res.status;
    if (!debug && status < 500) return;
    const state = stateOf(c);
    const log = host.logger.child({ trace_id: state.trace.traceId, span_id: state.trace.spanId });
    log.log(status >= 500 ? "warn" : "debug", "http request", {
      method: c.req.method,
      route: state.route,
      status,
      ...(debug ? { duration_ms: Math.round((performance.now() - started) * 100) / 100 } : {}),
    });
  });

  app.use(bodyLimit({
    maxSize: limit,
    onError: () => {
      throw new FlotillaError(
        "PAYLOAD_TOO_LARGE",
        `Request body exceeds the limit of ${limit} bytes`,
        {
          kind: "INVALID_ARGUMENT",
          httpStatus: 413,
          data: { limit },
        },
      );
    },
  }));

  app.get("/healthz", (c) => {
    stateOf(c).route = "/healthz";
    return c.json({ status: "ok", service: host.name, version: host.service.contract.version });
  });

  app.get("/readyz", async (c) => {
    stateOf(c).route = "/readyz";
    const readiness = await host.readiness();
    return c.json(
      {
        status: readiness.ready ? "ready" : readiness.state,
        service: host.name,
        checks: readiness.checks,
      },
      readiness.ready ? 200 : 503,
    );
  });

  const metrics = options.metrics;
  if (metrics) {
    app.get("/metrics", (c) => {
      stateOf(c).route = "/metrics";
      return metrics();
    });
  }
  const config = options.config;
  if (config) {
    app.get("/config", (c) => {
      stateOf(c).route = "/config";
      return config(c.req.raw);
    });
  }

  app.post("/rpc/:action", async (c) => {
    const action = c.req.param("action");
    stateOf(c).route = "/rpc/:action";
    if (!host.action(action)) {
      throw new FlotillaError(
        "UNKNOWN_ACTION",
        `Service "${host.name}" has no action "${action}"`,
        {
          kind: "NOT_FOUND",
        },
      );
    }
    const input = await readJsonBody(c);
    return await respond(c, host, action, input, stateOf(c), 200);
  });

  const restRoutes: Array<{ method: string; pattern: RegExp }> = [{
    method: "POST",
    pattern: /^\/rpc\/[^/]+$/,
  }];
  for (const [action, spec] of Object.entries<ActionSpec>(host.service.contract.actions)) {
    const route = spec.http;
    if (!route) continue;
    restRoutes.push({ method: route.method, pattern: routePattern(route.path) });
    app.on(route.method, route.path, async (c) => {
      stateOf(c).route = route.path;
      const input = await readRestInput(c, route);
      return await respond(c, host, action, input, stateOf(c), route.status ?? 200);
    });
  }

  app.notFound((c) => {
    const path = c.req.path;
    const allowed = restRoutes.filter((r) => r.pattern.test(path)).map((r) => r.method);
    if (
      path === "/healthz" || path === "/readyz" || (metrics && path === "/metrics") ||
      (config && path === "/config")
    ) {
      allowed.push("GET");
    }
    const state = stateOf(c);
    if (allowed.length > 0) {
      const error = new FlotillaError(
        "METHOD_NOT_ALLOWED",
        `${c.req.method} is not allowed on ${path}`,
        {
          kind: "INVALID_ARGUMENT",
          httpStatus: 405,
          data: { allowed },
        },
      );
      const response = problemResponse(error, { instance: path, traceId: state.trace.traceId });
      response.headers.set("allow", [...new Set(allowed)].join(", "));
      return response;
    }
    const error = new FlotillaError("ROUTE_NOT_FOUND", `No route for ${c.req.method} ${path}`, {
      kind: "NOT_FOUND",
    });
    return problemResponse(error, { instance: path, traceId: state.trace.traceId });
  });

  app.onError((error, c) => {
    const state = stateOf(c);
    if (!(error instanceof FlotillaError)) {
      host.logger.child({ trace_id: state.trace.traceId, span_id: state.trace.spanId })
        .error("unhandled error in HTTP transport", { error });
    }
    return problemResponse(error, { instance: c.req.path, traceId: state.trace.traceId });
  });

  return app;
}

async function respond(
  c: HonoContext,
  host: ServiceHost,
  action: string,
  input: unknown,
  state: RequestState,
  status: number,
): Promise<Response> {
  const { output, trace } = await host.invoke(action, input, inboundMeta(c, state.trace));
  // The host's trace carries the sampling decision taken for a root call.
  const headers = { [HEADERS.traceresponse]: formatTraceparent(trace) };
  if (output === undefined) return c.body(null, 204, headers);
  return c.json(output, status as 200, headers);
}

function inboundMeta(c: HonoContext, trace: TraceContext): InboundMeta & { trace: TraceContext } {
  const callerName = c.req.header(HEADERS.caller);
  const caller: Caller = callerName
    ? { kind: "service", service: callerName }
    : { kind: "external" };
  const key = c.req.header(HEADERS.idempotencyKey);
  if (key !== undefined && !isValidIdempotencyKey(key)) {
    throw new FlotillaError(
      "INVALID_IDEMPOTENCY_KEY",
      "Idempotency-Key must be 1 to 255 visible ASCII characters",
      { kind: "INVALID_ARGUMENT" },
    );
  }
  return {
    trace,
    transport: "http",
    timeoutMs: parseTimeout(c.req.header(HEADERS.timeout)),
    caller,
    idempotencyKey: key,
  };
}

function parseTimeout(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new FlotillaError(
      "INVALID_TIMEOUT",
      `${HEADERS.timeout} must be a positive number of milliseconds`,
      {
        kind: "INVALID_ARGUMENT",
      },
    );
  }
  return value;
}

async function readJsonBody(c: HonoContext): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ValidationError([{
      pointer: "",
      message: `the body is not valid JSON (${
        error instanceof Error ? error.message : String(error)
      })`,
    }], { code: "MALFORMED_JSON", cause: error });
  }
}

async function readRestInput(c: HonoContext, route: HttpRoute): Promise<unknown> {
  const params = c.req.param() as Record<string, string>;
  const query = c.req.query();
  const extra = { ...query, ...params };
  if (route.method === "GET" || route.method === "DELETE") return extra;
  const body = await readJsonBody(c);
  if (Object.keys(extra).length === 0) return body;
  if (body === undefined) return extra;
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ValidationError([{ pointer: "", message: "the body must be a JSON object" }]);
  }
  return { ...query, ...body, ...params };
}

function routePattern(path: string): RegExp {
  const source = path.split("/").map((part) =>
    part.startsWith(":") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  ).join("/");
  return new RegExp(`^${source}/?$`);
}
