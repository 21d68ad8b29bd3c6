/**
 * Fixtures of the NATS RPC tests (private): a contract with actions that
 * echo, fail, wait for their deadline, report their context or wait for a
 * gate; a way to run it on a NATS transport; endpoints and calls.
 *
 * @module
 */

import { z } from "zod";
import {
  type Context,
  defineContract,
  defineService,
  FlotillaError,
  Logger,
  MemorySink,
  newTrace,
  NotFoundError,
  type OutboundCall,
  type RunningService,
  runService,
  systemClock,
  type TraceContext,
} from "@flotilla/core";
import type { PeerEndpoint } from "@flotilla/client";
import { type NatsRpcTransport, natsRpcTransport } from "./nats_rpc_transport.ts";

/** The contract of the test service `calc`. */
export const calcContract = defineContract({
  name: "calc",
  version: "1.0.0",
  actions: {
    add: {
      input: z.object({ a: z.number().int(), b: z.number().int() }),
      output: z.object({ sum: z.number().int(), by: z.string() }),
    },
    fail: {
      input: z.object({ mode: z.enum(["not_found", "precondition", "crash", "too_large"]) }),
      output: z.object({}),
    },
    slow: { input: z.object({}), output: z.object({}) },
    context: {
      input: z.object({}),
      output: z.object({
        traceId: z.string(),
        parentSpanId: z.string().optional(),
        tracestate: z.string().optional(),
        sampled: z.boolean(),
        caller: z.string().optional(),
        idempotencyKey: z.string().optional(),
        hasDeadline: z.boolean(),
      }),
    },
    gate: { input: z.object({ id: z.number().int() }), output: z.object({ id: z.number().int() }) },
    nothing: { input: z.object({}), output: z.undefined() },
  },
});

/** What the handlers of one instance saw. */
export interface Probe {
  /** Inputs of `add` handled, by this instance. */
  added: Array<{ a: number; b: number }>;
  /** Resolved with the reason once a `slow` call's signal aborts. */
  slowAborted: Promise<unknown>;
  /** Resolved once a `gate` call has started. */
  gateEntered: Promise<number>;
  /** Lets every `gate` call finish. */
  openGate(): void;
}

/** The `calc` service, recording into a fresh {@link Probe}. */
export function calcService(name: string): { service: ReturnType<typeof build>; probe: Probe } {
  let resolveAborted!: (reason: unknown) => void;
  let resolveEntered!: (id: number) => void;
  let openGate!: () => void;
  const gate = new Promise<void>((resolve) => openGate = resolve);
  const probe: Probe = {
    added: [],
    slowAborted: new Promise((resolve) => resolveAborted = resolve),
    gateEntered: new Promise((resolve) => resolveEntered = resolve),
    openGate,
  };
  const service = build(name, probe, resolveAborted, resolveEntered, gate);
  return { service, probe };
}

function build(
  name: string,
  probe: Probe,
  aborted: (reason: unknown) => void,
  entered: (id: number) => void,
  gate: Promise<void>,
) {
  return defineService(calcContract, {
    add: ({ a, b }) => {
      probe.added.push({ a, b });
      return { sum: a + b, by: name };
    },
    fail: ({ mode }) => {
      switch (mode) {
        case "not_found":
          throw new NotFoundError("ORDER_NOT_FOUND", "No order o-404", { orderId: "o-404" });
        case "precondition":
          throw new FlotillaError("OUT_OF_STOCK", "Not enough TEA-01", {
            kind: "FAILED_PRECONDITION",
            data: { sku: "TEA-01", available: 2 },
          });
        case "too_large":
          throw new FlotillaError("PAYLOAD_TOO_LARGE", "Too big", {
            kind: "INVALID_ARGUMENT",
            httpStatus: 413,
          });
        default:
          throw new Error("secret database password in a stack trace");
      }
    },
    slow: (_input, ctx: Context) =>
      new Promise((_resolve, reject) => {
        ctx.signal.addEventListener("abort", () => {
          aborted(ctx.signal.reason);
          reject(ctx.signal.reason);
        }, { once: true });
      }),
    context: (_input, ctx: Context) => ({
      traceId: ctx.trace.traceId,
      ...(ctx.trace.parentSpanId === undefined ? {} : { parentSpanId: ctx.trace.parentSpanId }),
      ...(ctx.trace.tracestate === undefined ? {} : { tracestate: ctx.trace.tracestate }),
      sampled: ctx.trace.sampled,
      ...(ctx.caller.service === undefined ? {} : { caller: ctx.caller.service }),
      ...(ctx.idempotencyKey === undefined ? {} : { idempotencyKey: ctx.idempotencyKey }),
      hasDeadline: ctx.deadline !== undefined,
    }),
    gate: async ({ id }) => {
      entered(id);
      await gate;
      return { id };
    },
    nothing: () => undefined,
  });
}

/** A running `calc` instance on NATS. */
export interface CalcInstance extends AsyncDisposable {
  /** The running service. */
  running: RunningService;
  /** Its transport. */
  transport: NatsRpcTransport;
  /** What its handlers saw. */
  probe: Probe;
  /** Its log records. */
  logs: MemorySink;
}

/** Runs `calc` on a NATS transport connected to `servers`, as instance `instanceId`. */
export async function startCalc(
  servers: string,
  instanceId: string,
  options: { drainTimeoutMs?: number } = {},
): Promise<CalcInstance> {
  const { service, probe } = calcService(instanceId);
  const transport = natsRpcTransport({ servers, instanceId });
  const logs = new MemorySink();
  const running = await runService(service, {
    transports: [transport],
    signals: [],
    logger: new Logger({ sink: logs, level: "debug" }),
    ...(options.drainTimeoutMs === undefined ? {} : { drainTimeoutMs: options.drainTimeoutMs }),
  });
  return { running, transport, probe, logs, [Symbol.asyncDispose]: () => running.stop() };
}

/** An endpoint of `calc` instance `id`, as discovery would give it. */
export function endpoint(id: string, url = `http://127.0.0.1:1`): PeerEndpoint {
  return {
    id,
    url,
    instance: { service: "calc", id, address: "127.0.0.1", port: 1, metadata: {} },
  };
}

/** One outbound call to `calc`, as the typed client would make it. */
export function outboundCall(
  action: string,
  input: unknown,
  extra: Partial<OutboundCall> = {},
): OutboundCall {
  return {
    service: "calc",
    action,
    input,
    idempotent: false,
    deadline: Date.now() + 10_000,
    trace: newTrace() as TraceContext,
    caller: "tester",
    idempotencyKey: undefined,
    signal: new AbortController().signal,
    clock: systemClock,
    ...extra,
  };
}
