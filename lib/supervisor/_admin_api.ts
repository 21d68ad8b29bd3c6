// Internal helper; not exported by mod.ts.

import { timingSafeEqual } from "node:crypto";
import { ServiceStartError, SupervisorNotRunningError, UnknownServiceError } from "./errors.ts";
import type { ServiceStatus } from "./status.ts";

/**
 * The file in the data root holding the control API's bearer token, readable
 * by the supervisor's user only. A client that can read it may control the
 * supervisor; one that cannot (another user, a web page) may not.
 */
export const ADMIN_TOKEN_FILE = "supervisor.token";

/** The actions of the control API on one service. */
export type ControlAction = "stop" | "start" | "restart";

/** What the control API drives: a supervisor. */
export interface AdminTarget {
  /** Every service process, in plan order. */
  services(): ServiceStatus[];
  /** Stops one and keeps it stopped. */
  stopService(name: string): Promise<ServiceStatus>;
  /** Starts one again and resolves once it is ready. */
  startService(name: string): Promise<ServiceStatus>;
  /** Stops one, then starts it again. */
  restartService(name: string): Promise<ServiceStatus>;
}

/** Options of {@link adminHandler}. */
export interface AdminHandlerOptions {
  /** The bearer token every request must carry. */
  token: string;
  /** Told about an unexpected error, answered as a bare 500. */
  onError?: (error: unknown) => void;
}

const ROUTE = /^\/api\/services(?:\/([^/]+)(?:\/(stop|start|restart))?)?\/?$/;
const encoder = new TextEncoder();

/**
 * The supervisor's control API as a fetch handler, so it can be tested
 * without a socket:
 *
 * | request | answer |
 * |---|---|
 * | `GET /api/services` | 200, every service process with url, instance, startedAt |
 * | `GET /api/services/<name>` | 200, that one |
 * | `POST /api/services/<name>/stop` | 200 once it stopped (SIGTERM); it stays stopped |
 * | `POST /api/services/<name>/start` | 200 once it is ready, 503 `SERVICE_NOT_READY` if it fails |
 * | `POST /api/services/<name>/restart` | as stop then start |
 *
 * Every request needs `Authorization: Bearer <token>` (401 otherwise).
 * Errors are problem+json with a stable `code`: 404 `SERVICE_NOT_FOUND` or
 * `NOT_FOUND`, 405 `METHOD_NOT_ALLOWED`, 409 `SUPERVISOR_NOT_RUNNING`, 500
 * `INTERNAL`.
 */
export function adminHandler(
  target: AdminTarget,
  options: AdminHandlerOptions,
): (request: Request) => Promise<Response> {
  const expected = encoder.encode(`Bearer ${options.token}`);
  const authorized = (request: Request): boolean => {
    const given = encoder.encode(request.headers.get("authorization") ?? "");
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  return async function handleAdminRequest(request: Request): Promise<Response> {
    try {
      const path = new URL(request.url).pathname;
      const match = ROUTE.exec(path);
      if (match === null) return problem(404, "NOT_FOUND", `There is no route ${path}`);
      if (!authorized(request)) {
        return problem(
          401,
          "UNAUTHORIZED",
          "The control API needs the bearer token of the supervisor's data folder",
          {},
          { "www-authenticate": 'Bearer realm="flotilla-supervisor"' },
        );
      }
      const [, rawName, action] = match;
      const allowed = action === undefined ? "GET" : "POST";
      if (request.method !== allowed && !(allowed === "GET" && request.method === "HEAD")) {
        return problem(
          405,
          "METHOD_NOT_ALLOWED",
          `${path} accepts ${allowed} only, not ${request.method}`,
          {},
          { allow: allowed === "GET" ? "GET, HEAD" : "POST" },
        );
      }
      await request.body?.cancel();
      if (rawName === undefined) return json(target.services());
      const name = decodeURIComponent(rawName);
      switch (action as ControlAction | undefined) {
        case undefined: {
          const found = target.services().find((s) => s.name === name || s.instance === name);
          if (found === undefined) {
            throw new UnknownServiceError(name, target.services().map((s) => s.name));
          }
          return json(found);
        }
        case "stop":
          return json(await target.stopService(name));
        case "start":
          return json(await target.startService(name));
        case "restart":
          return json(await target.restartService(name));
      }
      return problem(404, "NOT_FOUND", `There is no route ${path}`);
    } catch (error) {
      if (error instanceof UnknownServiceError) {
        return problem(404, error.code, error.message, { service: error.service });
      }
      if (error instanceof SupervisorNotRunningError) {
        return problem(409, error.code, error.message);
      }
      if (error instanceof ServiceStartError) {
        return problem(503, error.code, error.message, {
          service: error.service,
          logTail: error.logTail,
        });
      }
      options.onError?.(error);
      return problem(500, "INTERNAL", "The supervisor could not handle the request");
    }
  };
}

const TITLES: Readonly<Record<string, string>> = {
  NOT_FOUND: "Not found",
  UNAUTHORIZED: "Unauthorized",
  METHOD_NOT_ALLOWED: "Method not allowed",
  SERVICE_NOT_FOUND: "Service not found",
  SUPERVISOR_NOT_RUNNING: "Supervisor not running",
  SERVICE_NOT_READY: "Service not ready",
  INTERNAL: "Internal error",
};

/** The problem+json `type` of a code: `urn:flotilla:problem:service-not-found`. */
export function problemType(code: string): string {
  return `urn:flotilla:problem:${code.toLowerCase().replaceAll("_", "-")}`;
}

function problem(
  status: number,
  code: string,
  detail: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  const body = {
    type: problemType(code),
    title: TITLES[code] ?? code,
    status,
    detail,
    code,
    ...extra,
  };
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/problem+json", ...headers },
  });
}

function json(value: unknown): Response {
  return new Response(JSON.stringify(value), {
    headers: { "content-type": "application/json" },
  });
}
