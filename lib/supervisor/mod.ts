/**
 * The Flotilla supervisor: runs every service of a system as its own Deno
 * process with only the permissions its contract declares, waits until each
 * is ready, restarts a crashed one with backoff, stops them all gracefully,
 * publishes their status for `flotilla status`, and serves a control API
 * on the loopback to stop, start and restart them one by one.
 *
 * ```text
 * <dataRoot>/            FLOTILLA_DATA_DIR, default ./.flotilla
 *   <service>/           a service's data folder (when its contract needs one),
 *                        shared by its replicas
 *   registry/            the local service registry (FLOTILLA_REGISTRY=local)
 *   logs/<name>.log      a process's stdout and stderr, JSON lines
 *   supervisor.pid       the lock: one supervisor per data root
 *   supervisor.json      the status: pid, port, state, restarts of each process;
 *                        the control API's adminUrl
 *   supervisor.token     the control API's bearer token (owner-only)
 * ```
 *
 * Services find each other through the registry `FLOTILLA_REGISTRY` names
 * (default `local`): the supervisor gives each process `FLOTILLA_REGISTRY`,
 * `FLOTILLA_INSTANCE_ID` (`<service>-<n>`) and, for `local`,
 * `FLOTILLA_REGISTRY_DIR`; with `static`, the peers' URLs as
 * `FLOTILLA_PEER_<NAME>_URL` instead. A service may run as several
 * `replicas` (overridden by `FLOTILLA_REPLICAS_<SERVICE>`).
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

export {
  instanceId,
  MAX_REPLICAS,
  replicaName,
  type ServicePlan,
  startOrder,
  type SupervisedContract,
  type SystemPlan,
  usesBus,
} from "./plan.ts";
export {
  type Address,
  type BusAccess,
  type ConfigAccess,
  type EventStoreAccess,
  permissionFlags,
  type PermissionOptions,
  type RegistryAccess,
  type TelemetryAccess,
  type TransportAccess,
} from "./permissions.ts";
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
export {
  type ControlRequestOptions,
  SupervisorClient,
  type SupervisorClientOptions,
} from "./supervisor_client.ts";
export {
  DataRootLockedError,
  InvalidSettingError,
  ServiceStartError,
  SupervisorNotRunningError,
  UnknownServiceError,
} from "./errors.ts";
/** Re-exported from `@flotilla/core`: what a contract says a service needs. */
export type { PortNeed, ServiceNeeds } from "@flotilla/core";
