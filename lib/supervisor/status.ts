/**
 * The status a supervisor publishes in `<dataRoot>/supervisor.json`, and how
 * to read it back from another process.
 *
 * @module
 */

import { join } from "node:path";
import { lockHolder } from "./lock.ts";

/** Where a supervised service is in its life. */
export type ServiceState =
  | "starting"
  | "running"
  | "restarting"
  | "stopping"
  | "stopped"
  | "failed";

const STATES: ReadonlySet<string> = new Set<ServiceState>([
  "starting",
  "running",
  "restarting",
  "stopping",
  "stopped",
  "failed",
]);

/** One service process (a replica) as the supervisor sees it. */
export interface ServiceStatus {
  /**
   * Its name in status and control requests: the service's name, or
   * `<service>-<n>` for its n-th replica (n >= 2).
   */
  name: string;
  /** The service it runs. */
  service: string;
  /** Its instance id, `<service>-<n>`, given as `FLOTILLA_INSTANCE_ID`. */
  instance: string;
  /** Pid of its current process, or null when none runs. */
  pid: number | null;
  /** Port it listens on; kept across restarts. */
  port: number;
  /** Where it is in its life. */
  state: ServiceState;
  /** How many times it was started again after its process exited. */
  restarts: number;
  /** Its base URL. */
  url: string;
  /** When its current (or last) process started, ISO-8601; null if never. */
  startedAt: string | null;
  /** The port it serves gRPC on, with `FLOTILLA_TRANSPORT=grpc` (absent otherwise). */
  grpcPort?: number;
}

/** The content of `supervisor.json`. */
export interface SupervisorStatus {
  /** Pid of the supervisor that wrote it. */
  pid: number;
  /** Name of the system it runs. */
  system: string;
  /** When the supervisor started, ISO-8601. */
  startedAt: string;
  /**
   * Base URL of its control API on the loopback (`GET /api/services`,
   * `POST /api/services/<name>/stop|start|restart`), or null when none serves.
   */
  adminUrl: string | null;
  /** Every service process, in plan order, replicas after the first. */
  services: ServiceStatus[];
}

/** The status file in the data root. */
export const STATUS_FILE = "supervisor.json";

/** Options of {@link readStatus}. */
export interface ReadStatusOptions {
  /**
   * Whether the supervisor with `pid` still runs.
   * @default {whether it holds the data root's lock ({@link lockHolder})}
   */
  isAlive?: (pid: number) => boolean | Promise<boolean>;
}

/**
 * Reads the status a supervisor wrote in `dataRoot`, or `undefined` when
 * there is none. If the supervisor that wrote it no longer runs — it no
 * longer holds the data root's lock — every service is reported `stopped`
 * with no pid, whatever the file says. Needs only read access.
 *
 * @example
 * ```ts
 * const status = await readStatus(resolveDataRoot());
 * for (const service of status?.services ?? []) console.log(service.name, service.state);
 * ```
 *
 * @throws {SyntaxError} when the file is not a status document.
 */
export async function readStatus(
  dataRoot: string,
  options: ReadStatusOptions = {},
): Promise<SupervisorStatus | undefined> {
  const path = join(dataRoot, STATUS_FILE);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  const status = parseStatus(text, path);
  const isAlive = options.isAlive ?? (async (pid) => (await lockHolder(dataRoot)) === pid);
  if (await isAlive(status.pid)) return status;
  return {
    ...status,
    adminUrl: null,
    services: status.services.map((service) => ({ ...service, pid: null, state: "stopped" })),
  };
}

function parseStatus(text: string, path: string): SupervisorStatus {
  const fail = (why: string): never => {
    throw new SyntaxError(`Cannot read the status in "${path}" as ${why}`);
  };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return fail(`it is not JSON: ${(error as Error).message}`);
  }
  if (!isRecord(value) || !isPid(value.pid) || !Array.isArray(value.services)) {
    return fail("it lacks 'pid' or 'services'");
  }
  const services = value.services.map((item: unknown, index: number): ServiceStatus => {
    if (
      !isRecord(item) || typeof item.name !== "string" ||
      !(item.pid === null || isPid(item.pid)) || typeof item.port !== "number" ||
      typeof item.state !== "string" || !STATES.has(item.state) ||
      typeof item.restarts !== "number"
    ) {
      return fail(`service ${index} is malformed`);
    }
    return {
      name: item.name,
      service: typeof item.service === "string" ? item.service : item.name,
      instance: typeof item.instance === "string" ? item.instance : item.name,
      pid: item.pid,
      port: item.port,
      state: item.state as ServiceState,
      restarts: item.restarts,
      url: typeof item.url === "string" ? item.url : "",
      startedAt: typeof item.startedAt === "string" ? item.startedAt : null,
      ...(typeof item.grpcPort === "number" ? { grpcPort: item.grpcPort } : {}),
    };
  });
  return {
    pid: value.pid,
    system: typeof value.system === "string" ? value.system : "",
    startedAt: typeof value.startedAt === "string" ? value.startedAt : "",
    adminUrl: typeof value.adminUrl === "string" ? value.adminUrl : null,
    services,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isPid(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value > 0;
}
