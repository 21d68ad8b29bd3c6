/**
 * Chaos rules as data, validated by a schema so they can live in a
 * service's dynamic configuration under a `chaos` key.
 *
 * @module
 */

import { z } from "zod";
import { type ErrorKind, parseInput, type StandardSchema } from "@flotilla/core";
import type { LatencySpec } from "./latency.ts";

/** Where a fault is injected. */
export type ChaosSide = "client" | "server" | "bus-publish" | "bus-consume";

/** Every side, in a stable order. */
export const CHAOS_SIDES: readonly ChaosSide[] = ["client", "server", "bus-publish", "bus-consume"];

/** What a rule does when it fires. */
export type ChaosFault =
  | {
    /** Delay the call or message. */
    readonly type: "latency";
    /** How long. */
    readonly latency: LatencySpec;
  }
  | {
    /**
     * Fail with a {@link FlotillaError}: give `status` (its kind follows,
     * e.g. 503 → UNAVAILABLE), or `code` — a kind's name, a transport code
     * (`CONNECTION_REFUSED`, `CONNECTION_FAILED`…) or any code with `kind`.
     */
    readonly type: "error";
    /** HTTP status to answer with (400–599). */
    readonly status?: number | undefined;
    /** The error's code. @default {the kind} */
    readonly code?: string | undefined;
    /** The error's kind. @default {from status or code} */
    readonly kind?: ErrorKind | undefined;
    /** Override of whether a retry may help. @default {from the kind} */
    readonly retryable?: boolean | undefined;
    /** The message. @default {names the rule} */
    readonly message?: string | undefined;
  }
  | {
    /**
     * Cut the connection. `before_send`: the request never left
     * (`CONNECTION_REFUSED` on the client). `after_send`: the request was
     * delivered and handled, the answer lost (`CONNECTION_FAILED`, outcome
     * unknown).
     */
    readonly type: "abort";
    /** When the connection dies. */
    readonly phase: "before_send" | "after_send";
  }
  | {
    /** Lose the message (bus sides). */
    readonly type: "drop";
  }
  | {
    /** Deliver or publish the message `copies` extra times (bus sides). */
    readonly type: "duplicate";
    /** Extra copies. */
    readonly copies: number;
  }
  | {
    /**
     * Let later messages overtake this one: it is acknowledged (or its
     * publish resolves) at once and handled (published) after the delay
     * (bus sides). A failure then is lost, as a lost message would be.
     */
    readonly type: "reorder";
    /** How long it is held. */
    readonly latency: LatencySpec;
  };

/** One fault-injection rule. */
export interface ChaosRule {
  /** Unique name, shown in injected errors and logs; seeds the rule's own random stream. */
  readonly id: string;
  /** Off without removing it. */
  readonly enabled: boolean;
  /** Glob on this process's service (`order`, `pay*`, `a|b`). */
  readonly service: string;
  /** Glob on the other party: the callee (client), the caller (server), the stream (bus). */
  readonly peer: string;
  /** Glob on the action (calls) or event type (bus). */
  readonly action: string;
  /** Glob on the endpoint id the client side is calling (one bad instance). */
  readonly instance: string;
  /** The sides it applies to. @default {every side its fault applies to} */
  readonly side?: readonly ChaosSide[] | undefined;
  /** Chance of firing for each matching call or message, 0–100. */
  readonly percentage: number;
  /** What it does. */
  readonly fault: ChaosFault;
}

/** The `chaos` block of a configuration. */
export interface ChaosConfig {
  /** The master switch. */
  readonly enabled: boolean;
  /** The seed every rule's random stream derives from; log it, replay with it. */
  readonly seed: number;
  /** The rules, in order: latencies add up, the first error, abort or drop wins. */
  readonly rules: readonly ChaosRule[];
}

const FAULT_SIDES: Readonly<Record<ChaosFault["type"], readonly ChaosSide[]>> = {
  latency: CHAOS_SIDES,
  error: CHAOS_SIDES,
  abort: ["client", "server"],
  drop: ["bus-publish", "bus-consume"],
  duplicate: ["bus-publish", "bus-consume"],
  reorder: ["bus-publish", "bus-consume"],
};

/** The sides a fault type can be injected on. */
export function sidesOf(fault: ChaosFault["type"]): readonly ChaosSide[] {
  return FAULT_SIDES[fault];
}

const ERROR_KINDS = [
  "INVALID_ARGUMENT",
  "FAILED_PRECONDITION",
  "OUT_OF_RANGE",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "ABORTED",
  "UNAUTHENTICATED",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "CANCELLED",
  "DEADLINE_EXCEEDED",
  "UNAVAILABLE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNKNOWN",
] as const;

/** Codes whose kind is known without a `kind`: the kinds themselves and the transports' codes. */
export const KNOWN_CODE_KINDS: Readonly<Record<string, ErrorKind>> = {
  ...Object.fromEntries(ERROR_KINDS.map((kind) => [kind, kind])),
  CONNECTION_REFUSED: "UNAVAILABLE",
  CONNECTION_FAILED: "UNAVAILABLE",
  CONNECTION_RESET: "UNAVAILABLE",
  ATTEMPT_TIMEOUT: "UNAVAILABLE",
  SERVICE_NOT_READY: "UNAVAILABLE",
  SHUTTING_DOWN: "UNAVAILABLE",
  BULKHEAD_FULL: "RESOURCE_EXHAUSTED",
  RATE_LIMITED: "RESOURCE_EXHAUSTED",
};

const ms = z.number().finite().min(0).max(3_600_000);
const latencySchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("fixed"), ms }).strict(),
  z.object({ type: z.literal("uniform"), minMs: ms, maxMs: ms }).strict(),
  z.object({
    type: z.literal("normal"),
    meanMs: ms,
    stdDevMs: ms,
    maxMs: ms.optional(),
  }).strict(),
  z.object({
    type: z.literal("exponential"),
    meanMs: ms.positive(),
    maxMs: ms.optional(),
  }).strict(),
]);

const faultSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("latency"), latency: latencySchema }).strict(),
  z.object({
    type: z.literal("error"),
    status: z.number().int().min(400).max(599).optional(),
    code: z.string().regex(/^[A-Z][A-Z0-9_]*$/, "must be UPPER_SNAKE_CASE").optional(),
    kind: z.enum(ERROR_KINDS).optional(),
    retryable: z.boolean().optional(),
    message: z.string().max(500).optional(),
  }).strict(),
  z.object({
    type: z.literal("abort"),
    phase: z.enum(["before_send", "after_send"]).default("after_send"),
  }).strict(),
  z.object({ type: z.literal("drop") }).strict(),
  z.object({ type: z.literal("duplicate"), copies: z.number().int().min(1).max(10).default(1) })
    .strict(),
  z.object({ type: z.literal("reorder"), latency: latencySchema }).strict(),
]);

const glob = z.string().min(1).max(200).default("*");
const sideSchema = z.enum(CHAOS_SIDES as [ChaosSide, ...ChaosSide[]]);

const ruleSchema = z.object({
  id: z.string().min(1).max(100),
  enabled: z.boolean().default(true),
  service: glob,
  peer: glob,
  action: glob,
  instance: glob,
  side: z.union([sideSchema.transform((side) => [side]), z.array(sideSchema).min(1)]).optional(),
  percentage: z.number().min(0).max(100).default(100),
  fault: faultSchema,
}).strict().superRefine((rule, ctx) => {
  const fault = rule.fault;
  const allowed = FAULT_SIDES[fault.type];
  for (const side of rule.side ?? []) {
    if (!allowed.includes(side)) {
      ctx.addIssue({
        code: "custom",
        path: ["side"],
        message: `a ${fault.type} fault cannot be injected on the ${side} side (only ${
          allowed.join(", ")
        })`,
      });
    }
  }
  if (fault.type === "error") {
    if (fault.status === undefined && fault.code === undefined) {
      ctx.addIssue({ code: "custom", path: ["fault"], message: "give a status or a code" });
    }
    if (
      fault.code !== undefined && fault.status === undefined && fault.kind === undefined &&
      !(fault.code in KNOWN_CODE_KINDS)
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["fault", "kind"],
        message: `give the kind of code ${fault.code} (or a status)`,
      });
    }
  }
  const latency = fault.type === "latency" || fault.type === "reorder" ? fault.latency : undefined;
  if (latency?.type === "uniform" && latency.minMs > latency.maxMs) {
    ctx.addIssue({
      code: "custom",
      path: ["fault", "latency", "maxMs"],
      message: "must be >= minMs",
    });
  }
});

/**
 * The Standard Schema of the `chaos` block: `{ enabled = false, seed = 1,
 * rules = [] }`, each rule `{ id, enabled = true, service = "*", peer = "*",
 * action = "*", instance = "*", side?, percentage = 100, fault }`. Give it
 * to a `ConfigStore` as the `chaos` section, so rules are validated with
 * every reload (an invalid rule rejects the version) and can be changed at
 * runtime.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { ConfigStore } from "@flotilla/config";
 * import { chaosConfigSchema } from "@flotilla/chaos";
 *
 * const config = await ConfigStore.open(z.object({ pool: z.number() }), {
 *   defaults: { pool: 4 },
 *   sections: { chaos: chaosConfigSchema },
 * });
 * config.current.values.chaos; // undefined until a layer sets `chaos`
 * ```
 */
export const chaosConfigSchema: StandardSchema<unknown, ChaosConfig> = z.object({
  enabled: z.boolean().default(false),
  seed: z.number().int().min(0).max(0xffff_ffff).default(1),
  rules: z.array(ruleSchema).max(1_000).default([]),
}).strict().superRefine((config, ctx) => {
  const seen = new Set<string>();
  config.rules.forEach((rule, index) => {
    if (seen.has(rule.id)) {
      ctx.addIssue({
        code: "custom",
        path: ["rules", index, "id"],
        message: `duplicate rule id ${rule.id}`,
      });
    }
    seen.add(rule.id);
  });
});

/**
 * Validates a `chaos` block, applying its defaults.
 *
 * @example
 * ```ts
 * import { parseChaosConfig } from "@flotilla/chaos";
 *
 * const config = await parseChaosConfig({
 *   enabled: true,
 *   rules: [{ id: "slow", fault: { type: "latency", latency: { type: "fixed", ms: 50 } } }],
 * });
 * config.rules[0]!.percentage; // 100
 * ```
 *
 * @throws {ValidationError} naming each offending field.
 */
export function parseChaosConfig(value: unknown): Promise<ChaosConfig> {
  return parseInput(chaosConfigSchema, value);
}
