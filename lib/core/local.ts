/**
 * Calls to a service in the same process, through its real host.
 *
 * @module
 */

import type { CallHandler } from "./client.ts";
import { fromProblem, toProblem } from "./errors.ts";
import { ServiceHost } from "./host.ts";
import { Logger, MemorySink } from "./logger.ts";
import type { Service } from "./service.ts";
import { formatTraceparent, type TraceContext } from "./trace.ts";

/** Options of {@link localCallHandler}. */
export interface LocalCallOptions {
  /**
   * Round-trip input, output and errors through JSON and problem+json as a
   * network transport would, so tests see exactly what a remote caller sees.
   * @default {true}
   */
  wire?: boolean;
}

/** A call handler served by a service in this process. */
export interface LocalCallHandler extends CallHandler {
  /** The host that runs the service. */
  readonly host: ServiceHost;
  /** The trace context of each call, in order. */
  readonly traces: TraceContext[];
}

/**
 * Serves calls with a service (or a host) in this process: the real
 * {@link ServiceHost} validates, builds the context and enforces the
 * deadline, with no socket in between. Handy in tests, and for services
 * deployed together.
 *
 * @example
 * ```ts
 * const payment = createClient(paymentContract, localCallHandler(paymentService), { caller: "order" });
 * ```
 */
export function localCallHandler(
  target: Service | ServiceHost,
  options: LocalCallOptions = {},
): LocalCallHandler {
  const host = target instanceof ServiceHost
    ? target
    : new ServiceHost(target, { logger: new Logger({ sink: new MemorySink() }) });
  host.markReady();
  const wire = options.wire ?? true;
  const pass = <T>(value: T): T =>
    wire && value !== undefined ? JSON.parse(JSON.stringify(value)) : value;
  const traces: TraceContext[] = [];
  const handler: CallHandler = async (call) => {
    traces.push(call.trace);
    try {
      const { output } = await host.invoke(call.action, pass(call.input), {
        traceparent: formatTraceparent(call.trace),
        tracestate: call.trace.tracestate,
        timeoutMs: Math.max(1, call.deadline - call.clock.now()),
        caller: { kind: "service", service: call.caller },
        idempotencyKey: call.idempotencyKey,
        signal: call.signal,
      });
      return pass(output);
    } catch (error) {
      if (!wire) throw error;
      const problem = toProblem(error);
      throw fromProblem(pass(problem), problem.status);
    }
  };
  return Object.assign(handler, { host, traces });
}
