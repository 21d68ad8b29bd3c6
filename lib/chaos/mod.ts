/**
 * Fault injection for testing how Flotilla services behave when things go
 * wrong — on purpose, reproducibly.
 *
 * - **Rules** (`chaosConfigSchema`) are data: latency (fixed, uniform,
 *   normal, exponential), errors with an HTTP status or a Flotilla code,
 *   aborted connections, and dropped, duplicated or reordered bus messages,
 *   each scoped by service, peer, action, instance (globs) and side, with a
 *   percentage. They live in the dynamic configuration under `chaos` and
 *   switch on and off at runtime (`ChaosEngine.follow`).
 * - **ChaosEngine** decides with seeded PRNGs (mulberry32, one stream per
 *   rule): the same seed replays the same faults.
 * - **Middlewares** carry the plan out as real faults the pipeline
 *   classifies like real ones: `chaosCallHandler` / `chaosEndpointTransport`
 *   (client), `chaosInvoke` / `chaosService` (server), `chaosBus` (bus).
 * - **TcpProxy** injects faults into real TCP connections (latency,
 *   bandwidth, reset, black hole, slicing), Toxiproxy style.
 * - **NetLab** builds hosts as network namespaces and partitions them.
 *
 * @example
 * ```ts
 * import { ChaosEngine, chaosCallHandler, parseChaosConfig } from "@flotilla/chaos";
 * import { httpCallHandler } from "@flotilla/http";
 *
 * const engine = new ChaosEngine({
 *   service: "order",
 *   config: await parseChaosConfig({
 *     enabled: true,
 *     seed: 20240601,
 *     rules: [
 *       { id: "slow-inventory", peer: "inventory", side: "client",
 *         fault: { type: "latency", latency: { type: "normal", meanMs: 80, stdDevMs: 20 } } },
 *       { id: "payment-503", peer: "payment", action: "charge", percentage: 5,
 *         fault: { type: "error", status: 503 } },
 *     ],
 *   }),
 * });
 * const handler = chaosCallHandler(engine, httpCallHandler({ baseUrl: "http://127.0.0.1:7102" }));
 * ```
 *
 * @module
 */

export { deriveSeed, Prng } from "./prng.ts";
export { type LatencySpec, sampleLatency } from "./latency.ts";
export {
  CHAOS_SIDES,
  type ChaosConfig,
  chaosConfigSchema,
  type ChaosFault,
  type ChaosRule,
  type ChaosSide,
  KNOWN_CODE_KINDS,
  parseChaosConfig,
  sidesOf,
} from "./rules.ts";
export {
  type ChaosConfigFeed,
  ChaosEngine,
  type ChaosEngineOptions,
  type ChaosInjection,
  type ChaosPlan,
  type ChaosPoint,
  type ChaosRuleStats,
  NO_FAULT,
  type TerminalFault,
} from "./chaos_engine.ts";
export { chaosCallHandler, chaosEndpointTransport } from "./chaos_call_handler.ts";
export { chaosInvoke, chaosService, type Invoke } from "./chaos_invoke.ts";
export { type ChaosBus, chaosBus } from "./chaos_bus.ts";
export {
  type DirectionStats,
  TcpProxy,
  type TcpProxyOptions,
  type TcpProxyStats,
  type Toxic,
  type ToxicDirection,
  type ToxicInput,
  type ToxicSpec,
} from "./tcp_proxy.ts";
export { type ExecResult, type NetHost, NetLab, type NetLabOptions } from "./netns.ts";
export { ChaosError, type ChaosErrorCode } from "./errors.ts";
// Types of other packages that this package's public API refers to.
export type {
  Caller,
  CallHandler,
  Clock,
  ErrorKind,
  FieldIssue,
  FlotillaError,
  FlotillaErrorOptions,
  InboundMeta,
  InvokeResult,
  Logger,
  LogLevel,
  OutboundCall,
  SchemaIssue,
  SchemaResult,
  StandardSchema,
  StandardSchemaProps,
  TraceContext,
} from "@flotilla/core";
export type { Timers } from "@flotilla/resilience";
export type {
  Bus,
  CloudEvent,
  DeadLetter,
  Delivery,
  DeliveryHandler,
  PublishOptions,
  PublishReceipt,
  StartPosition,
  SubscribeOptions,
  Subscription,
} from "@flotilla/bus";
