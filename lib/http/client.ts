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

/** Options of {@link httpCallHandler}. */
export interface HttpCallOptions {
  /** Base URL of the callee, or a function giving it for each call (discovery plugs in here). */
  baseUrl: string | ((call: OutboundCall) => string | Promise<string>);
  /** The fetch to use. @default {globalThis.fetch} */
  fetch?: typeof fetch;
}

/**
 * A {@link CallHandler} that POSTs each call to `<baseUrl>/rpc/<action>`,
 * propagating the deadline (`flotilla-timeout-ms`), the trace
 * (`traceparent`, `tracestate`), the caller and the idempotency key, and
 * rebuilding the callee's problem+json errors as {@link FlotillaError}s.
 *
 * A connection failure becomes `UNAVAILABLE` (`CONNECTION_FAILED`), the
 * deadline passing `DEADLINE_EXCEEDED`.
 *
 * @example
 * ```ts
 * const inventory = createClient(inventoryContract, httpCallHandler({ baseUrl: "http://127.0.0.1:7102" }), {
 *   caller: "order",
 * });
 * ```
 */
export function httpCallHandler(options: HttpCallOptions): CallHandler {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  return async (call) => {
    const base = typeof options.baseUrl === "string"
      ? options.baseUrl
      : await options.baseUrl(call);
    const url = `${base.replace(/\/$/, "")}/rpc/${encodeURIComponent(call.action)}`;
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: "application/json, application/problem+json",
      [HEADERS.traceparent]: formatTraceparent(call.trace),
      [HEADERS.timeout]: String(Math.max(1, Math.ceil(call.deadline - call.clock.now()))),
      [HEADERS.caller]: call.caller,
    };
    if (call.trace.tracestate) headers[HEADERS.tracestate] = call.trace.tracestate;
    if (call.idempotencyKey !== undefined) headers[HEADERS.idempotencyKey] = call.idempotencyKey;
    let response: Response;
    let text: string;
    try {
      response = await fetchImpl(url, {
        method: "POST",
        headers,
        body: JSON.stringify(call.input ?? {}),
        signal: call.signal,
      });
      text = await response.text();
    } catch (error) {
      if (call.signal.aborted) throw abortError(call, call.signal.reason);
      throw new UnavailableError(`Cannot reach ${call.service} at ${base}`, {
        code: "CONNECTION_FAILED",
        cause: error,
        data: { service: call.service },
      });
    }
    if (!response.ok) throw fromProblem(parseJson(text), response.status);
    return text === "" ? undefined : parseJsonOrThrow(text, call);
  };
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

function parseJsonOrThrow(text: string, call: OutboundCall): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new FlotillaError(
      "BAD_RESPONSE",
      `${call.service}.${call.action} replied with invalid JSON`,
      {
        kind: "INTERNAL",
        cause: error,
      },
    );
  }
}
