/**
 * What a supervisor runs: a system of services, each a contract and the
 * module that serves it, and the order in which they start.
 *
 * @module
 */

import type { ServiceNeeds } from "@flotilla/core";

/**
 * The part of a service contract (`ServiceContract` of `@flotilla/core`)
 * the supervisor reads: the service's name and what it needs from its host.
 * Any contract made with `defineContract` fits.
 */
export interface SupervisedContract {
  /** Service name: lowercase letters, digits and dashes. */
  readonly name: string;
  /** What it needs from its host: port, data folder, variables, peers. */
  readonly needs?: ServiceNeeds | undefined;
  /** Events it emits and handles: a service with any is given the bus (`FLOTILLA_BUS`). */
  readonly events?: {
    readonly emits?: Readonly<Record<string, unknown>> | undefined;
    readonly handles?: Readonly<Record<string, unknown>> | undefined;
  } | undefined;
}

/** Whether a service emits or handles events, and so needs the bus. */
export function usesBus(contract: SupervisedContract): boolean {
  const events = contract.events;
  return Object.keys(events?.emits ?? {}).length + Object.keys(events?.handles ?? {}).length > 0;
}

/** One service of a system: its contract and the module that runs it. */
export interface ServicePlan {
  /** The service's contract; its `needs` decide the process's permissions. */
  contract: SupervisedContract;
  /**
   * The module to run with `deno run`. Prefer an absolute `URL`, e.g.
   * `new URL("./order/main.ts", import.meta.url)`; a string is passed to
   * `deno run` as is, so a relative path is relative to the supervisor's
   * working directory.
   */
  entry: string | URL;
  /**
   * Extra environment variables for the process, e.g. settings named in the
   * contract's `needs.env`. They override the supervisor's environment but
   * may not set the variables the supervisor manages (the port variable,
   * `FLOTILLA_HOST`, `FLOTILLA_DATA_DIR`, `FLOTILLA_PEER_*`,
   * `FLOTILLA_REGISTRY`, `FLOTILLA_REGISTRY_DIR`, `FLOTILLA_INSTANCE_ID`).
   */
  env?: Readonly<Record<string, string>>;
  /**
   * How many processes of the service to run, 1-{@link MAX_REPLICAS}. Each
   * listens on its own port with its own instance id (`<service>-<n>`) and
   * shares the service's data folder. In status the first is named
   * `<service>` and the others `<service>-<n>`. Of a public service, the
   * first keeps the public port and the others take free ports (found
   * through the registry). `FLOTILLA_REPLICAS_<SERVICE>` in the supervisor's
   * environment overrides it. @default {1}
   */
  replicas?: number;
  /**
   * The module of the service's read models, for `flotilla projections
   * rebuild`: it exports `readModels`, an array of
   * `{ database, projections }` (`ServiceReadModel` of
   * `@flotilla/eventstore`), e.g. `new URL("./order/read_models.ts", import.meta.url)`.
   */
  projections?: string | URL;
  /**
   * What the service needs with `FLOTILLA_TRANSPORT=grpc`: the files it
   * reads (its .proto files, or their folder), granted `--allow-read` then
   * and only then.
   */
  grpc?: { files: readonly (string | URL)[] };
}

/** A system: services that call each other, started and stopped together. */
export interface SystemPlan {
  /** The system's name, shown in messages: `shop`. */
  name: string;
  /** Its services, in the order they are listed in status output. */
  services: readonly ServicePlan[];
}

/** The most replicas a service may have. */
export const MAX_REPLICAS = 16;

const NAME = /^[a-z][a-z0-9-]{0,62}$/;
/** Names that would clash with the supervisor's own entries in the data folder. */
const RESERVED_NAMES: ReadonlySet<string> = new Set(["logs", "registry"]);
const MANAGED_ENV =
  /^(FLOTILLA_HOST|FLOTILLA_DATA_DIR|FLOTILLA_PEER_[A-Z0-9_]+_URL|FLOTILLA_REGISTRY|FLOTILLA_REGISTRY_DIR|FLOTILLA_INSTANCE_ID)$/;

/**
 * The name of replica `n` (1-based) of `service` in status and in control
 * requests: the service's own name for the first, `<service>-<n>` for the
 * others.
 *
 * @example
 * ```ts
 * replicaName("payment", 1); // "payment"
 * replicaName("payment", 2); // "payment-2"
 * ```
 */
export function replicaName(service: string, n: number): string {
  return n === 1 ? service : `${service}-${n}`;
}

/**
 * The instance id of replica `n` (1-based) of `service`, which it is given
 * as `FLOTILLA_INSTANCE_ID` and registers under: `<service>-<n>`.
 *
 * @example
 * ```ts
 * instanceId("payment", 1); // "payment-1"
 * ```
 */
export function instanceId(service: string, n: number): string {
  return `${service}-${n}`;
}

/**
 * Checks a plan and returns its services in start order: every service
 * comes after the peers it declares in `contract.needs.peers`, and services
 * otherwise keep the order of the plan. Stopping goes in reverse, so
 * dependents stop before the services they call.
 *
 * @example
 * ```ts
 * const order = startOrder(shop).map((service) => service.contract.name);
 * // ["inventory", "payment", "order", "gateway"]
 * ```
 *
 * @throws {RangeError} when a service name is invalid, reserved or
 * duplicated, a replica's name is another service's, `replicas` is not an
 * integer 1-16, a peer is unknown, peers form a cycle, or a service's `env`
 * sets a variable the supervisor manages.
 */
export function startOrder(plan: SystemPlan): ServicePlan[] {
  if (plan.services.length === 0) {
    throw new RangeError(
      `Cannot plan system "${plan.name}" as 'services' must list at least one service: current value is []`,
    );
  }
  const byName = new Map<string, ServicePlan>();
  for (const service of plan.services) {
    const name = service.contract.name;
    if (!NAME.test(name)) {
      throw new RangeError(
        `Cannot plan system "${plan.name}" as a service name must be lowercase letters, digits and dashes: current value is "${name}"`,
      );
    }
    if (RESERVED_NAMES.has(name)) {
      throw new RangeError(
        `Cannot plan system "${plan.name}" as service name "${name}" is reserved for the supervisor's own folder`,
      );
    }
    if (byName.has(name)) {
      throw new RangeError(
        `Cannot plan system "${plan.name}" as service "${name}" is listed twice`,
      );
    }
    checkEntry(plan.name, service);
    checkEnv(plan.name, service);
    checkReplicas(plan.name, service);
    byName.set(name, service);
  }
  for (const service of plan.services) {
    for (let n = 2; n <= (service.replicas ?? 1); n++) {
      const replica = replicaName(service.contract.name, n);
      if (byName.has(replica)) {
        throw new RangeError(
          `Cannot plan system "${plan.name}" as replica ${n} of "${service.contract.name}" would be named "${replica}", which is another service's name`,
        );
      }
    }
  }

  const ordered: ServicePlan[] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (service: ServicePlan): void => {
    const name = service.contract.name;
    if (done.has(name)) return;
    if (path.includes(name)) {
      const cycle = [...path.slice(path.indexOf(name)), name].join(" -> ");
      throw new RangeError(
        `Cannot plan system "${plan.name}" as its peers form a cycle: ${cycle}`,
      );
    }
    path.push(name);
    for (const peer of service.contract.needs?.peers ?? []) {
      const peerPlan = byName.get(peer);
      if (peerPlan === undefined) {
        throw new RangeError(
          `Cannot plan system "${plan.name}" as service "${name}" needs peer "${peer}", which is not in the plan`,
        );
      }
      visit(peerPlan);
    }
    path.pop();
    done.add(name);
    ordered.push(service);
  };
  for (const service of plan.services) visit(service);
  return ordered;
}

function checkEntry(system: string, service: ServicePlan): void {
  const entry: unknown = service.entry;
  if (!(entry instanceof URL) && (typeof entry !== "string" || entry === "")) {
    throw new RangeError(
      `Cannot plan system "${system}" as the 'entry' of "${service.contract.name}" must be a URL or a non-empty path: current value is ${
        JSON.stringify(entry)
      }`,
    );
  }
}

function checkEnv(system: string, service: ServicePlan): void {
  const portVariable = service.contract.needs?.port?.env ?? "PORT";
  for (const variable of Object.keys(service.env ?? {})) {
    if (variable === portVariable || MANAGED_ENV.test(variable)) {
      throw new RangeError(
        `Cannot plan system "${system}" as the 'env' of "${service.contract.name}" sets ${variable}, which the supervisor manages`,
      );
    }
  }
}

function checkReplicas(system: string, service: ServicePlan): void {
  const replicas: unknown = service.replicas;
  if (replicas === undefined) return;
  if (
    typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 1 ||
    replicas > MAX_REPLICAS
  ) {
    throw new RangeError(
      `Cannot plan system "${system}" as the 'replicas' of "${service.contract.name}" must be an integer 1-${MAX_REPLICAS}: current value is ${
        typeof replicas === "number" ? replicas : JSON.stringify(replicas)
      }`,
    );
  }
}
