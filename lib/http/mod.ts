/**
 * The HTTP transport of Flotilla: serve a service's contract as REST and RPC
 * routes with `/healthz`, `/readyz` and problem+json errors, and call peers
 * over HTTP with the deadline and trace propagated — through `fetch`, or
 * over the kept HTTP/1.1 connections of an {@link Http1Agent} (what the
 * call pipeline of `@flotilla/client` uses).
 *
 * @example
 * ```ts
 * import { serveService } from "@flotilla/http";
 * await serveService(service); // PORT, FLOTILLA_* from the environment
 * ```
 *
 * @module
 */

export { createHttpApp, type HttpApp, type HttpAppOptions } from "./app.ts";
export { httpTransport, type HttpTransportOptions } from "./transport.ts";
export { type ServeOptions, serveService } from "./serve.ts";
export {
  type HttpCaller,
  httpCaller,
  type HttpCallerOptions,
  httpCallHandler,
  type HttpCallOptions,
} from "./client.ts";
export {
  Http1Agent,
  type Http1AgentOptions,
  Http1Error,
  type Http1ErrorCode,
  type Http1Request,
  type Http1Response,
  type Http1Socket,
  type Http1Target,
} from "./http1_agent.ts";
export { problemResponse } from "./problem.ts";
export { HEADERS, isValidIdempotencyKey } from "./headers.ts";
