/**
 * Test support: a {@link CallHandler} that runs calls on a service in this
 * process, through the real {@link ServiceHost} (validation, context,
 * deadline), with the input, output and errors round-tripped through JSON
 * and problem+json as a transport would. No sockets.
 *
 * @module
 */

import {
  type CallHandler,
  fromProblem,
  Logger,
  MemorySink,
  type Service,
  ServiceHost,
  toProblem,
  type TraceContext,
} from "@flotilla/core";

/** A call handler served by one in-process service. */
export interface InProcessCallHandler extends CallHandler {
  /** The host that runs the service. */
  readonly host: ServiceHost;
  /** The trace context each call carried, in order. */
  readonly traces: TraceContext[];
}

/** Serves `service` in this process as a {@link CallHandler}. */
export function inProcessCallHandler(service: Service): InProcessCallHandler {
  const host = new ServiceHost(service, { logger: new Logger({ sink: new MemorySink() }) });
  host.markReady();
  const traces: TraceContext[] = [];
  const handler: CallHandler = async (call) => {
    traces.push(call.trace);
    try {
      const { output } = await host.invoke(call.action, wire(call.input), {
        traceparent: `00-${call.trace.traceId}-${call.trace.spanId}-01`,
        timeoutMs: Math.max(1, call.deadline - call.clock.now()),
        caller: { kind: "service", service: call.caller },
        idempotencyKey: call.idempotencyKey,
        signal: call.signal,
      });
      return wire(output);
    } catch (error) {
      const problem = toProblem(error);
      throw fromProblem(wire(problem), problem.status);
    }
  };
  return Object.assign(handler, { host, traces });
}

function wire<T>(value: T): T {
  return value === undefined ? value : JSON.parse(JSON.stringify(value));
}
