/**
 * The Flotilla service kernel: contracts, services, the call context, typed
 * errors, structured logs, trace context and the host that runs a service
 * and drains it on SIGTERM.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { defineContract, defineService } from "@flotilla/core";
 *
 * const greeter = defineContract({
 *   name: "greeter",
 *   version: "1.0.0",
 *   actions: {
 *     greet: { input: z.object({ name: z.string() }), output: z.object({ text: z.string() }) },
 *   },
 * });
 * export const service = defineService(greeter, {
 *   greet: ({ name }, ctx) => {
 *     ctx.logger.info("greeting", { name });
 *     return { text: `Hello, ${name}` };
 *   },
 * });
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./trace.ts";
export * from "./clock.ts";
export * from "./logger.ts";
export * from "./contract.ts";
export * from "./context.ts";
export * from "./schema.ts";
export * from "./service.ts";
export * from "./host.ts";
export * from "./client.ts";
export * from "./deadline_sweeper.ts";
export * from "./env.ts";
export * from "./local.ts";
export * from "./redact.ts";
export * from "./stream_of.ts";
