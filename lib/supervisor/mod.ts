/**
 * The Flotilla supervisor: runs every service of a system as its own Deno
 * process with only the permissions its contract declares, waits until each
 * is ready, restarts a crashed one with backoff, stops them all gracefully,
 * and publishes their status for `flotilla status`.
 *
 * ```text
 * <dataRoot>/            FLOTILLA_DATA_DIR, default ./.flotilla
 *   <service>/           a service's data folder (when its contract needs one)
 *   logs/<service>.log   its stdout and stderr, JSON lines
 *   supervisor.pid       the lock: one supervisor per data root
 *   supervisor.json      the status: pid, port, state, restarts of each service
 * ```
 *
 * @example
 * ```ts
 * import { Supervisor, type SystemPlan } from "@flotilla/supervisor";
 * import { gatewayContract, orderContract } from "./contracts/mod.ts";
 *
 * const shop: SystemPlan = {
 *   name: "shop",
 *   services: [
 *     { contract: gatewayContract, entry: new URL("./gateway/main.ts", import.meta.url) },
 *     { contract: orderContract, entry: new URL("./order/main.ts", import.meta.url) },
 *   ],
 * };
 * await using supervisor = new Supervisor(shop);
 * await supervisor.start();
 * ```
 *
 * @module
 */

export { type ServicePlan, startOrder, type SupervisedContract, type SystemPlan } from "./plan.ts";
export { type Address, permissionFlags, type PermissionOptions } from "./permissions.ts";
export { Backoff, type BackoffOptions } from "./backoff.ts";
export { assignPorts, type AssignPortsOptions, freePort, isPortFree } from "./ports.ts";
export { DEFAULT_DATA_ROOT, resolveDataRoot } from "./data_root.ts";
export {
  type DataRootLock,
  LOCK_FILE,
  lockDataRoot,
  type LockDataRootOptions,
  lockHolder,
} from "./lock.ts";
export {
  readStatus,
  type ReadStatusOptions,
  type ServiceState,
  type ServiceStatus,
  STATUS_FILE,
  type SupervisorStatus,
} from "./status.ts";
export { formatStatusJson, formatStatusTable, type StatusEntry } from "./format_status.ts";
export {
  Supervisor,
  type SupervisorEvent,
  type SupervisorOptions,
  type SupervisorState,
} from "./supervisor.ts";
export { DataRootLockedError, ServiceStartError } from "./errors.ts";
/** Re-exported from `@flotilla/core`: what a contract says a service needs. */
export type { PortNeed, ServiceNeeds } from "@flotilla/core";
