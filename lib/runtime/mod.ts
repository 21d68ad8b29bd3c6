/**
 * The process side of a Flotilla service: `bootService()` reads the
 * `FLOTILLA_*` environment, opens the registry, builds the peers' clients
 * behind the call pipeline, and serves the service with registration and
 * graceful stop.
 *
 * @example
 * ```ts
 * import { bootService } from "@flotilla/runtime";
 * const node = await bootService(orderContract);
 * await node.serve(createOrderService({ payment: node.peers.client(paymentContract) }));
 * ```
 *
 * @module
 */

export { type BootOptions, bootService, type ConsumeContext, type ServiceNode } from "./boot.ts";
export { CrashPoints } from "./crash_points.ts";
export { type RuntimeConfig, runtimeConfigSchema } from "./runtime_config.ts";
