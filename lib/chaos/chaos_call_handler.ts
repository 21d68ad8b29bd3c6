/**
 * Client-side fault injection: around a core `CallHandler`, or around the
 * call pipeline's per-attempt transport.
 *
 * @module
 */

import { type CallHandler, type OutboundCall, UnavailableError } from "@flotilla/core";
import type { ChaosEngine, ChaosPoint } from "./chaos_engine.ts";

/**
 * Wraps a {@link CallHandler} (a transport, or a whole pipeline) so the
 * engine's client-side rules apply to each call: `peer` is the callee,
 * `action` its action. Latency waits first (aborted with the call); an
 * `error` fault throws its {@link FlotillaError}; `abort` before sending
 * throws `CONNECTION_REFUSED` (never sent: the pipeline may retry anywhere);
 * `abort` after sending really sends the call, lets the callee act, then
 * throws `CONNECTION_FAILED` (the outcome is unknown, as after a reset).
 *
 * @example
 * ```ts
 * import { createClient } from "@flotilla/core";
 * import { httpCallHandler } from "@flotilla/http";
 * import { ChaosEngine, chaosCallHandler } from "@flotilla/chaos";
 *
 * const engine = new ChaosEngine({ service: "order" });
 * const handler = chaosCallHandler(engine, httpCallHandler({ baseUrl: "http://127.0.0.1:7102" }));
 * // createClient(inventoryContract, handler, { caller: "order" });
 * ```
 */
export function chaosCallHandler(engine: ChaosEngine, handler: CallHandler): CallHandler {
  return function chaosCall(call) {
    return injectClient(
      engine,
      { side: "client", peer: call.service, action: call.action },
      call,
      undefined,
      () => handler(call),
    );
  };
}

/**
 * Wraps the call pipeline's per-attempt transport (an `EndpointTransport` of
 * `@flotilla/client`): like {@link chaosCallHandler}, per attempt, and rules
 * can target one instance with `instance` (the endpoint's id) — so breakers,
 * outlier ejection and retries react to injected faults as to real ones.
 *
 * @example
 * ```ts
 * import { Peers } from "@flotilla/client";
 * import { httpCaller } from "@flotilla/http";
 * import { ChaosEngine, chaosEndpointTransport } from "@flotilla/chaos";
 *
 * const engine = new ChaosEngine({ service: "order" });
 * const send = httpCaller();
 * const transport = chaosEndpointTransport(engine, (endpoint: { id: string; url: string }, call) =>
 *   send(endpoint.url, call)
 * );
 * // new Peers({ caller: "order", registry, transport });
 * ```
 */
export function chaosEndpointTransport<E extends { readonly id: string }>(
  engine: ChaosEngine,
  transport: (endpoint: E, call: OutboundCall) => Promise<unknown>,
): (endpoint: E, call: OutboundCall) => Promise<unknown> {
  return function chaosAttempt(endpoint, call) {
    return injectClient(
      engine,
      { side: "client", peer: call.service, action: call.action, instance: endpoint.id },
      call,
      endpoint.id,
      () => transport(endpoint, call),
    );
  };
}

async function injectClient(
  engine: ChaosEngine,
  point: ChaosPoint,
  call: OutboundCall,
  endpoint: string | undefined,
  send: () => Promise<unknown>,
): Promise<unknown> {
  const plan = engine.plan(point);
  if (plan.fired.length === 0) return await send();
  await engine.delay(plan.delayMs, call.signal);
  const terminal = plan.terminal;
  if (terminal === undefined) return await send();
  const data = {
    service: call.service,
    ...(endpoint === undefined ? {} : { endpoint }),
    chaos: { rule: terminal.rule, side: "client" },
  };
  switch (terminal.fault.type) {
    case "error":
      throw engine.error(terminal.fault, terminal.rule, point);
    case "abort":
      if (terminal.fault.phase === "before_send") {
        throw new UnavailableError(
          `Cannot reach ${call.service}${
            endpoint ? ` at ${endpoint}` : ""
          }: connection refused (chaos rule "${terminal.rule}")`,
          { code: "CONNECTION_REFUSED", data },
        );
      }
      // The request goes out and is handled; only the answer is lost.
      await send().catch(() => {});
      throw new UnavailableError(
        `Lost the connection to ${call.service}${
          endpoint ? ` at ${endpoint}` : ""
        } after sending ${call.action}: connection reset (chaos rule "${terminal.rule}")`,
        { code: "CONNECTION_FAILED", data },
      );
    default:
      return await send(); // drop applies to bus messages only
  }
}
