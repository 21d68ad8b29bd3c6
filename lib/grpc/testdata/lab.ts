/**
 * The service of the gRPC transport's tests: a counter (to prove that bad
 * requests change nothing), a handler that fails with any kind, one that
 * waits for its call to be aborted, one that echoes what its context knows,
 * and two streams.
 *
 * @module
 */

import { z } from "zod";
import {
  type Context,
  defineContract,
  defineService,
  type ErrorKind,
  FlotillaError,
  Logger,
  MemorySink,
  type RunningService,
  runService,
  type Service,
} from "@flotilla/core";
import type { PeerEndpoint } from "@flotilla/client";
import {
  type GrpcBinding,
  grpcBinding,
  grpcTransport,
  type GrpcTransportOptions,
  streamOf,
} from "../mod.ts";

/** The lab contract. */
export const labContract = defineContract({
  name: "lab",
  version: "1.0.0",
  actions: {
    greet: {
      input: z.strictObject({ name: z.string().min(1) }),
      output: z.object({ text: z.string() }),
      idempotent: true,
    },
    add: {
      input: z.strictObject({
        amount: z.number().int().min(1),
        tags: z.array(z.strictObject({ label: z.string(), weight: z.number().int().min(0) })),
      }),
      output: z.object({ total: z.number().int() }),
    },
    fail: {
      input: z.strictObject({ kind: z.string(), code: z.string() }),
      output: z.record(z.string(), z.unknown()),
    },
    slow: {
      input: z.strictObject({}),
      output: z.object({ done: z.boolean() }),
    },
    whoAmI: {
      input: z.strictObject({}),
      output: z.object({
        caller: z.string(),
        key: z.string().optional(),
        traceId: z.string(),
        remainingMs: z.number().int(),
      }),
    },
    history: {
      input: z.strictObject({}),
      output: z.array(z.number().int()),
      idempotent: true,
    },
    ticks: {
      input: z.strictObject({ count: z.number().int().min(0).max(1000) }),
      output: streamOf(z.object({ n: z.number().int(), kind: z.enum(["EVEN", "ODD"]) })),
    },
    feed: {
      input: z.strictObject({}),
      output: streamOf(z.object({ n: z.number().int(), kind: z.enum(["EVEN", "ODD"]) })),
    },
  },
});

/** The lab contract bound to `flotilla.lab.v1.LabService` of `lab.proto`. */
export function labBinding(): GrpcBinding<typeof labContract> {
  return grpcBinding(labContract, {
    proto: new URL("./lab.proto", import.meta.url),
    service: "flotilla.lab.v1.LabService",
    methods: { whoAmI: "WhoAmI" },
  });
}

/** What the lab's handlers saw, for assertions. */
export interface LabState {
  /** The counter's totals, one per successful `add`. */
  totals: number[];
  /** Calls of `add` that reached the handler. */
  adds: number;
  /** Resolves with the abort reason once a `slow` call's context is aborted. */
  slowAborted: Promise<unknown>;
  /** Resolves once a `slow` call has started. */
  slowStarted: Promise<void>;
  /** Lets a `slow` call answer. */
  releaseSlow(): void;
  /** Resolves with the abort reason once a `feed` stream's context is aborted. */
  feedAborted: Promise<unknown>;
}

/** A lab service and the state it records. */
export function createLab(): { service: Service<typeof labContract>; state: LabState } {
  let total = 0;
  let slowAborted!: (reason: unknown) => void;
  let slowStarted!: () => void;
  let releaseSlow!: () => void;
  let feedAborted!: (reason: unknown) => void;
  const state: LabState = {
    totals: [],
    adds: 0,
    slowAborted: new Promise((resolve) => slowAborted = resolve),
    slowStarted: new Promise((resolve) => slowStarted = resolve),
    releaseSlow: () => releaseSlow(),
    feedAborted: new Promise((resolve) => feedAborted = resolve),
  };
  const released = new Promise<void>((resolve) => releaseSlow = resolve);
  const service = defineService(labContract, {
    greet: ({ name }) => ({ text: `Hello, ${name}` }),
    add: ({ amount }) => {
      state.adds++;
      total += amount;
      state.totals.push(total);
      return { total };
    },
    fail: ({ kind, code }) => {
      if (kind === "PLAIN") throw new Error(`a secret detail: ${code}`);
      throw new FlotillaError(code, `failing with ${kind}`, {
        kind: kind as ErrorKind,
        data: { asked: kind },
        ...(kind === "INVALID_ARGUMENT"
          ? { issues: [{ pointer: "/items/0/sku", message: "unknown sku" }] }
          : {}),
      });
    },
    slow: async (_input, ctx: Context) => {
      slowStarted();
      ctx.signal.addEventListener("abort", () => slowAborted(ctx.signal.reason), { once: true });
      await Promise.race([
        released,
        new Promise((_, reject) =>
          ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true })
        ),
      ]);
      return { done: true };
    },
    whoAmI: (_input, ctx) => ({
      caller: ctx.caller.service ?? ctx.caller.kind,
      ...(ctx.idempotencyKey === undefined ? {} : { key: ctx.idempotencyKey }),
      traceId: ctx.trace.traceId,
      remainingMs: Math.round(ctx.remaining() === Infinity ? -1 : ctx.remaining()),
    }),
    history: () => [...state.totals],
    ticks: async function* ({ count }) {
      for (let n = 0; n < count; n++) {
        yield { n, kind: n % 2 === 0 ? "EVEN" as const : "ODD" as const };
      }
    },
    feed: async function* (_input, ctx) {
      ctx.signal.addEventListener("abort", () => feedAborted(ctx.signal.reason), { once: true });
      for (let n = 0;; n++) {
        yield { n, kind: n % 2 === 0 ? "EVEN" as const : "ODD" as const };
        // A live feed: the next item comes when something happens, here never after the third.
        if (n >= 2) {
          await new Promise((resolve) =>
            ctx.signal.addEventListener("abort", resolve, { once: true })
          );
          return;
        }
      }
    },
  });
  return { service, state };
}

/** A running lab service on a gRPC transport, disposed with `await using`. */
export interface RunningLab extends AsyncDisposable {
  /** The service. */
  readonly running: RunningService;
  /** What its handlers saw. */
  readonly state: LabState;
  /** Its gRPC port. */
  readonly port: number;
  /** A pipeline endpoint of it. */
  readonly endpoint: PeerEndpoint;
}

/** Starts a lab service on a free port. */
export async function startLab(
  options: Partial<GrpcTransportOptions> = {},
): Promise<RunningLab> {
  const { service, state } = createLab();
  const running = await runService(service, {
    logger: new Logger({ sink: new MemorySink() }),
    transports: [grpcTransport({ port: 0, binding: labBinding(), ...options })],
    signals: [],
  });
  const port = running.addresses.grpc!.port;
  return {
    running,
    state,
    port,
    endpoint: endpointAt(port),
    [Symbol.asyncDispose]: () => running.stop(),
  };
}

/** A pipeline endpoint for a gRPC server on 127.0.0.1. */
export function endpointAt(port: number, id = `lab-${port}`): PeerEndpoint {
  return {
    id,
    url: `grpc://127.0.0.1:${port}`,
    instance: { service: "lab", id, address: "127.0.0.1", port, metadata: { protocol: "grpc" } },
  };
}
