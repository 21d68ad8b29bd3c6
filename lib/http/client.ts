/**
 * The HTTP transport of outbound calls.
 *
 * @module
 */

import {
  type CallHandler,
  DeadlineExceededError,
  FlotillaError,
  formatTraceparent,
  fromProblem,
  type OutboundCall,
  UnavailableError,
} from "@flotilla/core";
import { HEADERS } from "./headers.ts";
import { type Http1Agent, Http1Error, type Http1Target } from "./http1_agent.ts";

/** Options of {@link httpCaller}. */
export interface HttpCallerOptions {
  /**
   * Sends `http:` calls over this agent's kept HTTP/1.1 connections, at
   * about a quarter of `fetch`'s CPU per call; its owner closes it. Without
   * one, and for `https:` endpoints, calls go through `fetch`.
   */
  agent?: Http1Agent;
  /** The fetch to use when there is no agent, or for `https:`. @default {globalThis.fetch} */
  fetch?: typeof fetch;
}

/** Sends one call to one endpoint (a base URL such as `http://127.0.0.1:7102`). */
export type HttpCaller = (baseUrl: string, call: OutboundCall) => Promise<unknown>;

/**
 * The HTTP transport of outbound calls: POSTs a call to
 * `<baseUrl>/rpc/<action>`, propagating the deadline (`flotilla-timeout-ms`),
 * the trace (`traceparent`, `tracestate`), the caller and the idempotency
 * key, and rebuilding the callee's problem+json errors as
 * {@link FlotillaError}s.
 *
 * Failures are told apart because retries depend on it: a connection that
 * could not be opened is `CONNECTION_REFUSED` (the request was never sent, so
 * any call may be retried elsewhere); a connection lost after sending is
 * `CONNECTION_FAILED` (the callee may have acted); the deadline passing is
 * `DEADLINE_EXCEEDED`. The call pipeline (`@flotilla/client`) picks the
 * endpoint; this only carries the bytes.
 */
export function httpCaller(options: HttpCallerOptions = {}): HttpCaller {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const agent = options.agent;
  return async (baseUrl, call) => {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      [HEADERS.traceparent]: formatTraceparent(call.trace),
      [HEADERS.timeout]: String(Math.max(1, Math.ceil(call.deadline - call.clock.now()))),
      [HEADERS.caller]: call.caller,
    };
    if (call.trace.tracestate) headers[HEADERS.tracestate] = call.trace.tracestate;
    if (call.idempotencyKey !== undefined) headers[HEADERS.idempotencyKey] = call.idempotencyKey;
    const endpoint = agent ? endpointOf(baseUrl) : undefined;
    if (endpoint) return await sendOverAgent(agent!, endpoint, baseUrl, call, headers);
    const url = urlOf(baseUrl, call.action);
    let response: Response;
    try {
      response = await fetchImpl(url, {
        method: "POST",
        headers,
        body: JSON.stringify(call.input ?? {}),
        signal: call.signal,
      });
    } catch (error) {
      if (call.signal.aborted) throw abortError(call, call.signal.reason);
      throw connectionError(call, baseUrl, error);
    }
    try {
      if (response.ok) {
        // json() parses straight from the bytes: measurably cheaper than text() + JSON.parse.
        if (response.status === 204) {
          await response.body?.cancel();
          return undefined;
        }
        return await response.json();
      }
      const text = await response.text();
      throw fromProblem(parseJson(text), response.status);
    } catch (error) {
      if (error instanceof FlotillaError) throw error;
      if (call.signal.aborted) throw abortError(call, call.signal.reason);
      if (error instanceof SyntaxError) throw badResponse(call, error);
      throw connectionError(call, baseUrl, error);
    }
  };
}

/** An `http:` base URL taken apart once: where to connect, and the path in front of `/rpc/`. */
interface AgentEndpoint {
  readonly target: Http1Target;
  readonly pathPrefix: string;
  /** `/rpc/<action>` paths, built once per action. */
  readonly paths: Map<string, string>;
}

const endpoints = new Map<string, AgentEndpoint | null>();

/** The agent endpoint of `baseUrl`, or null when it is not plain `http:` (then fetch it). */
function endpointOf(baseUrl: string): AgentEndpoint | null {
  let endpoint = endpoints.get(baseUrl);
  if (endpoint === undefined) {
    endpoint = null;
    const url = URL.parse(baseUrl);
    if (url?.protocol === "http:" && !url.username && !url.password) {
      endpoint = {
        target: {
          hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"),
          port: Number(url.port || 80),
        },
        pathPrefix: url.pathname.replace(/\/$/, ""),
        paths: new Map(),
      };
    }
    if (endpoints.size > 10_000) endpoints.clear();
    endpoints.set(baseUrl, endpoint);
  }
  return endpoint;
}

async function sendOverAgent(
  agent: Http1Agent,
  endpoint: AgentEndpoint,
  baseUrl: string,
  call: OutboundCall,
  headers: Record<string, string>,
): Promise<unknown> {
  let path = endpoint.paths.get(call.action);
  if (path === undefined) {
    path = `${endpoint.pathPrefix}/rpc/${encodeURIComponent(call.action)}`;
    endpoint.paths.set(call.action, path);
  }
  let status: number;
  let body: Uint8Array;
  try {
    ({ status, body } = await agent.request(endpoint.target, {
      method: "POST",
      path,
      headers,
      body: JSON.stringify(call.input ?? {}),
      signal: call.signal,
      replayable: call.idempotent || call.idempotencyKey !== undefined,
    }));
  } catch (error) {
    if (call.signal.aborted) throw abortError(call, call.signal.reason);
    throw agentError(call, baseUrl, error);
  }
  const text = decoder.decode(body);
  if (status >= 200 && status < 300) {
    if (status === 204) return undefined;
    try {
      return JSON.parse(text);
    } catch (error) {
      throw badResponse(call, error);
    }
  }
  throw fromProblem(parseJson(text), status);
}

const decoder = new TextDecoder();

function agentError(call: OutboundCall, baseUrl: string, error: unknown): FlotillaError {
  if (!(error instanceof Http1Error)) return connectionError(call, baseUrl, error);
  if (error.code === "INVALID_REQUEST") {
    return new FlotillaError("INVALID_HEADER", error.message, {
      kind: "INVALID_ARGUMENT",
      cause: error,
    });
  }
  if (error.code === "PROTOCOL") return badResponse(call, error);
  return new UnavailableError(`Cannot reach ${call.service} at ${baseUrl}`, {
    // Nothing was sent when no connection could be opened: any call may go elsewhere.
    code: error.code === "CONNECT" ? "CONNECTION_REFUSED" : "CONNECTION_FAILED",
    cause: error,
    data: { service: call.service, endpoint: baseUrl },
  });
}

function badResponse(call: OutboundCall, cause: unknown): FlotillaError {
  return new FlotillaError(
    "BAD_RESPONSE",
    `${call.service}.${call.action} replied with ${
      cause instanceof SyntaxError ? "invalid JSON" : "an invalid HTTP answer"
    }`,
    { kind: "INTERNAL", cause },
  );
}

/** Options of {@link httpCallHandler}. */
export interface HttpCallOptions extends HttpCallerOptions {
  /** Base URL of the callee, or a function giving it for each call. */
  baseUrl: string | ((call: OutboundCall) => string | Promise<string>);
}

/**
 * A {@link CallHandler} that sends every call to one base URL with
 * {@link httpCaller} — no discovery, balancing or retries. For a single
 * known peer and for tests; services use the call pipeline of
 * `@flotilla/client`.
 *
 * @example
 * ```ts
 * const inventory = createClient(inventoryContract, httpCallHandler({ baseUrl: "http://127.0.0.1:7102" }), {
 *   caller: "order",
 * });
 * ```
 */
export function httpCallHandler(options: HttpCallOptions): CallHandler {
  const send = httpCaller(options);
  return async (call) => {
    const base = typeof options.baseUrl === "string"
      ? options.baseUrl
      : await options.baseUrl(call);
    return await send(base, call);
  };
}

const urls = new Map<string, string>();

/** `<baseUrl>/rpc/<action>`, built once per endpoint and action. */
function urlOf(baseUrl: string, action: string): string {
  const key = `${baseUrl} ${action}`;
  let url = urls.get(key);
  if (url === undefined) {
    url = `${baseUrl.replace(/\/$/, "")}/rpc/${encodeURIComponent(action)}`;
    if (urls.size > 10_000) urls.clear();
    urls.set(key, url);
  }
  return url;
}

function connectionError(call: OutboundCall, baseUrl: string, error: unknown): FlotillaError {
  // Deno reports a failed connect as "client error (Connect)": nothing was sent.
  const detail = `${error instanceof Error ? error.message : ""} ${
    String((error as { cause?: unknown })?.cause ?? "")
  }`;
  const refused = /\(Connect\)|tcp connect error|Connection refused|dns error/i.test(detail);
  return new UnavailableError(`Cannot reach ${call.service} at ${baseUrl}`, {
    code: refused ? "CONNECTION_REFUSED" : "CONNECTION_FAILED",
    cause: error,
    data: { service: call.service, endpoint: baseUrl },
  });
}

function abortError(call: OutboundCall, reason: unknown): FlotillaError {
  if (reason instanceof FlotillaError) return reason;
  if (reason instanceof DOMException && reason.name === "TimeoutError") {
    return new DeadlineExceededError(`${call.service}.${call.action} did not answer in time`, {
      cause: reason,
    });
  }
  return new FlotillaError("CANCELLED", `${call.service}.${call.action} was cancelled`, {
    kind: "CANCELLED",
    cause: reason,
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
