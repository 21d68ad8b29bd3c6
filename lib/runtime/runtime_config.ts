/**
 * The keys of a service's dynamic configuration that the runtime itself
 * follows (see `ServiceNode.config`).
 *
 * @module
 */

import { z } from "zod";
import { type LogLevel, type StandardSchema, ValidationError } from "@flotilla/core";
import type { ChaosConfig } from "@flotilla/chaos";
import { parsePolicyConfig, type PolicyConfig } from "@flotilla/resilience";

/** The runtime's own keys of a service's dynamic configuration (other keys are kept for the app). */
export interface RuntimeConfig {
  /** The lowest log level written, hot: over `FLOTILLA_LOG_LEVEL`. */
  readonly logLevel?: LogLevel | undefined;
  /** Call policies, the shape of `FLOTILLA_POLICIES`, hot: new calls use them. */
  readonly policies?: PolicyConfig | undefined;
  /** Feature flags by name, for the application to read. */
  readonly featureFlags?: Readonly<Record<string, boolean>> | undefined;
  /** Fault-injection rules (`@flotilla/chaos`), hot. */
  readonly chaos?: ChaosConfig | undefined;
  /**
   * The service's inbound rate limit, hot: calls beyond it are refused with
   * `RATE_LIMITED` (429) before their handler runs; unset, none.
   */
  readonly rateLimit?: { readonly ratePerSecond: number; readonly burst?: number } | undefined;
  /** Any other key, for the application. */
  readonly [key: string]: unknown;
}

const policiesSchema = z.unknown().transform((value, ctx) => {
  try {
    return parsePolicyConfig(value);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    for (const issue of error.issues) {
      ctx.addIssue({ code: "custom", message: issue.message, path: pathOf(issue.pointer) });
    }
    return z.NEVER;
  }
});

/**
 * The schema of {@link RuntimeConfig} without its `chaos` section (a
 * section of its own, validated by `chaosConfigSchema`): `logLevel`,
 * `policies` (checked by `parsePolicyConfig`, issues at their paths),
 * `featureFlags`, `rateLimit`; other keys pass through for the application.
 *
 * @example
 * ```ts
 * import { ConfigStore } from "@flotilla/config";
 * import { runtimeConfigSchema } from "@flotilla/runtime";
 *
 * const config = await ConfigStore.open(runtimeConfigSchema, { defaults: { logLevel: "info" } });
 * ```
 */
export const runtimeConfigSchema: StandardSchema = z.looseObject({
  logLevel: z.enum(["debug", "info", "warn", "error"]).optional(),
  policies: policiesSchema.optional(),
  featureFlags: z.record(z.string(), z.boolean()).optional(),
  rateLimit: z.strictObject({
    ratePerSecond: z.number().positive(),
    burst: z.number().min(1).optional(),
  }).optional(),
});

function pathOf(pointer: string): (string | number)[] {
  if (pointer === "" || pointer === "/") return [];
  return pointer.slice(1).split("/").map((part) =>
    part.replaceAll("~1", "/").replaceAll("~0", "~")
  );
}
