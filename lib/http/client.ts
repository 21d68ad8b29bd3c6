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

/** Options of {@link httpCaller}. */
export interface HttpCallerOptions {
  /** The fetch to use. @default {globalThis.fetch} */
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
  return async (baseUrl, call) => {
    const url = urlOf(baseUrl, call.action);
    const headers: Record<string, string> = {
      "content-type": "application/json",
      [HEADERS.traceparent]: formatTraceparent(call.trace),
      [HEADERS.timeout]: String(Math.max(1, Math.ceil(call.deadline - call.clock.now()))),
      [HEADERS.caller]: call.caller,
    };
    if (call.trace.tracestate) headers[HEADERS.tracestate] = call.trace.tracestate;
    if (call.idempotencyKey !== undefined) headers[HEADERS.idempotencyKey] = call.idempotencyKey;
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
      if (error instanceof SyntaxError) {
        throw new FlotillaError(
          "BAD_RESPONSE",
          `${call.service}.${call.action} replied with invalid JSON`,
          {
            kind: "INTERNAL",
            cause: error,
          },
        );
      }
      throw connectionError(call, baseUrl, error);
    }
  };
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
