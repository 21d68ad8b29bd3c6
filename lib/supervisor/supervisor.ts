/**
 * The supervisor: runs every service of a system as its own least-privilege
 * Deno process, restarts the ones that crash, lets an operator stop and
 * start them one by one, and stops them all gracefully.
 *
 * @module
 */

import { join, resolve } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { connectHost, httpUrl } from "./_address.ts";
import { ADMIN_TOKEN_FILE, adminHandler } from "./_admin_api.ts";
import { childEnv } from "./_child_env.ts";
import { delay } from "./_delay.ts";
import { LogFile } from "./_log_file.ts";
import { stopOrphans } from "./_orphans.ts";
import { waitUntilReady } from "./_readiness.ts";
import { type RegistrySetting, registrySetting } from "./_registry.ts";
import { type BusSetting, busSetting } from "./_bus.ts";
import { telemetryAccess } from "./_telemetry.ts";
import { CONFIG_TOKEN_FILE, type ConfigSetting, configSetting } from "./_config.ts";
import { type EventStoreSetting, eventStoreSetting } from "./_eventstore.ts";
import { type TransportSetting, transportSetting } from "./_transport.ts";
import { StatusWriter } from "./_status_writer.ts";
import { Backoff, type BackoffOptions } from "./backoff.ts";
import { resolveDataRoot } from "./data_root.ts";
import {
  InvalidSettingError,
  ServiceStartError,
  SupervisorNotRunningError,
  UnknownServiceError,
} from "./errors.ts";
import { type DataRootLock, lockDataRoot } from "./lock.ts";
import {
  type Address,
  type BusAccess,
  permissionFlags,
  type RegistryAccess,
  type TelemetryAccess,
} from "./permissions.ts";
import {
  instanceId,
  MAX_REPLICAS,
  replicaName,
  type ServicePlan,
  startOrder,
  type SystemPlan,
  usesBus,
} from "./plan.ts";
import { assignPorts } from "./ports.ts";
import {
  readStatus,
  type ServiceState,
  type ServiceStatus,
  type SupervisorStatus,
} from "./status.ts";

/** Where a supervisor is in its life. */
export type SupervisorState = "idle" | "starting" | "running" | "stopping" | "stopped";

/**
 * Something that happened to a supervised service process, discriminated on
 * `type`. Its `service` is the process's name in status: the service's name,
 * or `<service>-<n>` for its n-th replica.
 */
export type SupervisorEvent =
  | {
    /** A process of the service was started. */
    type: "spawned";
    /** Service (replica) name. */
    service: string;
    /** Pid of the new process. */
    pid: number;
    /** Restarts so far, this one included. */
    restarts: number;
  }
  | {
    /** The service answered `/readyz` with 200. */
    type: "ready";
    /** Service (replica) name. */
    service: string;
    /** Pid of its process. */
    pid: number;
    /** Its base URL. */
    url: string;
    /** Restarts so far. */
    restarts: number;
  }
  | {
    /** The process exited without being asked to, or never became ready; it will be restarted. */
    type: "crashed";
    /** Service (replica) name. */
    service: string;
    /** Pid of the process that ended. */
    pid: number;
    /** Its exit code. */
    code: number;
    /** The signal that ended it, if any. */
    signal: Deno.Signal | null;
    /** `exited` on its own, or killed as `not-ready` within the start timeout. */
    reason: "exited" | "not-ready";
    /** Milliseconds until the restart. */
    restartInMs: number;
  }
  | {
    /** The service could not be started; the supervisor gives up on it. */
    type: "failed";
    /** Service (replica) name. */
    service: string;
    /** Why, with the last lines of its log. */
    error: ServiceStartError;
  }
  | {
    /** The process was stopped by the supervisor. */
    type: "stopped";
    /** Service (replica) name. */
    service: string;
    /** Pid of the process. */
    pid: number;
    /** Its exit code. */
    code: number;
    /** The signal that ended it, if any. */
    signal: Deno.Signal | null;
    /** Whether it had to be killed with SIGKILL after the stop timeout. */
    forced: boolean;
    /**
     * Whether it was stopped on its own, by a control request
     * ({@link Supervisor.stopService}, `flotilla stop`), rather than with the
     * whole system.
     */
    requested: boolean;
  }
  | {
    /** Something went wrong that does not stop the system. */
    type: "warning";
    /** What happened. */
    message: string;
    /** The underlying error, if any. */
    cause?: unknown;
  };

/** Options of {@link Supervisor}. */
export interface SupervisorOptions {
  /**
   * Folder for the services' data, their logs (`logs/`), the local registry
   * (`registry/`), the lock and the status file.
   * @default {FLOTILLA_DATA_DIR of `env`, else `./.flotilla`, made absolute}
   */
  dataRoot?: string;
  /** Address every service binds. @default {FLOTILLA_HOST of `env`, else "127.0.0.1"} */
  hostname?: string;
  /**
   * The supervisor's environment: where the public service's port variable,
   * `FLOTILLA_*` settings and `FLOTILLA_REPLICAS_<SERVICE>` overrides are
   * read, and the base environment of every service process.
   * @default {Deno.env.toObject()}
   */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * The service registry the services use, given to each as
   * `FLOTILLA_REGISTRY`: `local` (embedded, in `<dataRoot>/registry/`),
   * `static` (peers' URLs as `FLOTILLA_PEER_<NAME>_URL`), `etcd://host:port`,
   * `dns://ip:port` or `consul://host:port`.
   * @default {FLOTILLA_REGISTRY of `env`, else "local"}
   */
  registry?: string;
  /**
   * The message bus of the services that emit or handle events, given to
   * each as `FLOTILLA_BUS`: `sqlite` (embedded, in `<dataRoot>/bus/`),
   * `redis://host:port` or `nats://host:port`.
   * @default {FLOTILLA_BUS of `env`, else "sqlite"}
   */
  bus?: string;
  /**
   * The event store of the services whose contract needs one, given to each
   * as `FLOTILLA_EVENTSTORE`: `sqlite` (in the service's data folder) or
   * `postgres://user[:password]@host:port/db[?schema=name]`.
   * @default {FLOTILLA_EVENTSTORE of `env`, else "sqlite"}
   */
  eventStore?: string;
  /**
   * The transport of calls between the services, given to each as
   * `FLOTILLA_TRANSPORT`: `http`, `grpc` (each instance also gets a gRPC
   * port, `FLOTILLA_GRPC_PORT`) or `nats://host:port` (NATS request/reply).
   * @default {FLOTILLA_TRANSPORT of `env`, else "http"}
   */
  transport?: string;
  /**
   * Port of the control API on 127.0.0.1; 0 takes any free port.
   * @default {FLOTILLA_ADMIN_PORT of `env`, else 0}
   */
  adminPort?: number;
  /** How long a service may take to answer `/readyz` with 200 after it starts. @default {30_000} */
  startTimeoutMs?: number;
  /** How long a service may take to exit after SIGTERM before it is killed. @default {15_000} */
  stopTimeoutMs?: number;
  /** Policy of the delay before restarting a crashed service. @default {{}} */
  backoff?: BackoffOptions;
  /** Called on every {@link SupervisorEvent}; must not throw. */
  onEvent?: (event: SupervisorEvent) => void;
}

interface Proc {
  readonly child: Deno.ChildProcess;
  readonly pid: number;
  exited: boolean;
  readonly exitSignal: AbortSignal;
  readonly status: Promise<Deno.CommandStatus>;
  readonly pumps: Promise<unknown>;
}

/** One supervision of a slot: from a start until it stops or is given up on. */
interface Run {
  readonly abort: AbortController;
  /** Resolves once the run's first process is ready; rejects when it fails or is stopped first. */
  readonly ready: Promise<void>;
  /** Resolves when the run is over. */
  done: Promise<void>;
}

/** One process of a service: the service itself, or one of its replicas. */
interface Slot {
  readonly name: string;
  readonly service: string;
  readonly instance: string;
  readonly entry: string;
  readonly host: string;
  readonly port: number;
  readonly grpcPort: number | undefined;
  readonly url: string;
  readonly flags: readonly string[];
  readonly env: Record<string, string>;
  readonly log: LogFile;
  state: ServiceState;
  pid: number | null;
  restarts: number;
  startedAt: string | null;
  process: Proc | undefined;
  run: Run | undefined;
  stopping: Promise<void> | undefined;
  /** The tail of the control requests on this slot, which run one at a time. */
  control: Promise<unknown>;
}

/**
 * Runs a {@link SystemPlan}: each service as its own `deno run` process (or
 * several: its `replicas`) with only the permissions its contract declares,
 * peers before dependents, each started once the previous one answers
 * `/readyz`. A process that exits unexpectedly is restarted on the same port
 * after an exponential backoff. `stop()` sends SIGTERM to every process,
 * dependents first, and SIGKILL to any that outlives the stop timeout. Every
 * change of state is written to `<dataRoot>/supervisor.json`, which
 * `flotilla status` reads.
 *
 * While it runs, it serves a control API on 127.0.0.1 (its URL is
 * `adminUrl` in `supervisor.json`; `flotilla stop|start|restart <name>` use
 * it) that stops, starts and restarts one process at a time — also
 * available as {@link stopService}, {@link startService} and
 * {@link restartService}.
 *
 * @example
 * ```ts
 * await using supervisor = new Supervisor(shop);
 * await supervisor.start();
 * for (const service of supervisor.services()) console.log(service.name, service.url);
 * await supervisor.restartService("payment");
 * ```
 */
export class Supervisor implements AsyncDisposable {
  /** The system it runs. */
  readonly plan: SystemPlan;
  /** Absolute path of the data root. */
  readonly dataRoot: string;
  /** Address the services bind. */
  readonly hostname: string;
  /** The registry the services use, as given to them in `FLOTILLA_REGISTRY`. */
  readonly registry: string;
  readonly #registry: RegistrySetting;
  readonly #bus: BusSetting;
  readonly #eventStore: EventStoreSetting;
  readonly #transport: TransportSetting;
  readonly #telemetry: TelemetryAccess;
  readonly #config: ConfigSetting;
  #configToken: string | undefined;
  readonly #replicas: ReadonlyMap<string, number>;
  readonly #adminPort: number;
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #startTimeoutMs: number;
  readonly #stopTimeoutMs: number;
  readonly #backoff: BackoffOptions;
  readonly #onEvent: (event: SupervisorEvent) => void;
  readonly #order: readonly ServicePlan[];
  readonly #abort = new AbortController();
  readonly #waiters = new Set<() => void>();
  #state: SupervisorState = "idle";
  #startedAt = "";
  #slots: Slot[] = [];
  #lock: DataRootLock | undefined;
  #status: StatusWriter | undefined;
  #stopping: Promise<void> | undefined;
  #admin: Deno.HttpServer<Deno.NetAddr> | undefined;
  #adminUrl: string | null = null;
  #tokenPath: string | undefined;

  /**
   * Creates a supervisor of `plan`; nothing runs until {@link start}.
   *
   * @throws {InvalidSettingError} (a `RangeError`) when `FLOTILLA_REGISTRY`,
   * `FLOTILLA_ADMIN_PORT` or a `FLOTILLA_REPLICAS_<SERVICE>` of `env` is
   * invalid.
   * @throws {RangeError} when the plan is invalid (see {@link startOrder}) or
   * an option is out of range.
   */
  constructor(plan: SystemPlan, options: SupervisorOptions = {}) {
    this.plan = plan;
    this.#order = startOrder(plan);
    this.#env = options.env ?? Deno.env.toObject();
    this.#replicas = replicaCounts(plan, this.#env);
    if ([...this.#replicas].some(([name, n]) => n !== replicasOf(plan, name))) {
      // Check the names the overridden replicas take.
      startOrder({
        ...plan,
        services: plan.services.map((s) => ({
          ...s,
          replicas: this.#replicas.get(s.contract.name)!,
        })),
      });
    }
    this.#registry = registrySetting(options.registry ?? this.#env.FLOTILLA_REGISTRY);
    this.registry = this.#registry.value;
    this.#bus = busSetting(options.bus ?? this.#env.FLOTILLA_BUS);
    this.#eventStore = eventStoreSetting(options.eventStore ?? this.#env.FLOTILLA_EVENTSTORE);
    this.#transport = transportSetting(options.transport ?? this.#env.FLOTILLA_TRANSPORT);
    this.#telemetry = telemetryAccess(this.#env);
    this.#adminPort = options.adminPort === undefined
      ? adminPortOf(this.#env)
      : portNumber("adminPort", options.adminPort);
    this.dataRoot = resolveDataRoot(
      options.dataRoot === undefined ? this.#env : { FLOTILLA_DATA_DIR: options.dataRoot },
    );
    this.hostname = options.hostname ?? (this.#env.FLOTILLA_HOST || "127.0.0.1");
    this.#config = configSetting(this.#env.FLOTILLA_CONFIG, this.dataRoot);
    this.#startTimeoutMs = positive("startTimeoutMs", options.startTimeoutMs ?? 30_000);
    this.#stopTimeoutMs = positive("stopTimeoutMs", options.stopTimeoutMs ?? 15_000);
    this.#backoff = options.backoff ?? {};
    new Backoff(this.#backoff); // Checks the options now rather than at the first crash.
    const onEvent = options.onEvent ?? (() => {});
    this.#onEvent = (event) => {
      try {
        onEvent(event);
      } catch {
        // A listener's bug must not take the system down.
      }
    };
  }

  /** Where the supervisor is in its life. */
  get state(): SupervisorState {
    return this.#state;
  }

  /** Folder of the services' log files, `<dataRoot>/logs`. */
  get logDir(): string {
    return join(this.dataRoot, "logs");
  }

  /** Base URL of the control API while it serves (from {@link start} to {@link stop}), else null. */
  get adminUrl(): string | null {
    return this.#adminUrl;
  }

  /**
   * A snapshot of every service process, in plan order, each service's
   * replicas after it; empty before {@link start}.
   */
  services(): ServiceStatus[] {
    return this.#slots.map((slot) => this.#row(slot));
  }

  /**
   * Takes the data root's lock, serves the control API, assigns ports, then
   * starts the services in start order — all replicas of a service at once
   * — each once its peers are ready. Resolves when every process is ready.
   * On failure (or a `stop()` meanwhile) it stops what it started and
   * rejects.
   *
   * @throws {DataRootLockedError} when another supervisor runs on the data root.
   * @throws {ServiceStartError} when a service is not ready within the start timeout.
   * @throws {DOMException} named `AbortError` when stopped before every service was ready.
   */
  async start(): Promise<void> {
    if (this.#state !== "idle") {
      throw new Error(`Cannot start the supervisor as it is ${this.#state}`);
    }
    this.#state = "starting";
    this.#startedAt = new Date().toISOString();
    try {
      await Deno.mkdir(this.logDir, { recursive: true });
      this.#lock = await lockDataRoot(this.dataRoot);
      await this.#stopOrphans();
      this.#status = new StatusWriter(
        this.dataRoot,
        (cause) =>
          this.#onEvent({ type: "warning", message: "Cannot write the status file", cause }),
      );
      await this.#serveAdmin();
      await this.#prepareConfig();
      let registryDir: string | undefined;
      if (this.#registry.type === "local") {
        registryDir = join(this.dataRoot, "registry");
        await Deno.mkdir(registryDir, { recursive: true });
      }
      let busDir: string | undefined;
      if (this.#bus.type === "sqlite") {
        busDir = join(this.dataRoot, "bus");
        await Deno.mkdir(busDir, { recursive: true });
      }
      const instances = this.plan.services.flatMap((service) =>
        Array.from({ length: this.#replicas.get(service.contract.name)! }, (_, i) => ({
          service,
          n: i + 1,
        }))
      );
      const ports = await assignPorts(
        [
          ...instances.map(({ service, n }) =>
            n === 1 ? service.contract : { name: replicaName(service.contract.name, n) }
          ),
          // With gRPC between the services, every instance also serves it, on a port of its own.
          ...(this.#transport.type === "grpc"
            ? instances.map(({ service, n }) => ({
              name: grpcPortKey(replicaName(service.contract.name, n)),
            }))
            : []),
        ],
        { hostname: this.hostname, env: this.#env },
      );
      for (const { service, n } of instances) {
        this.#slots.push(await this.#prepare(service, n, ports, registryDir, busDir));
      }
      this.#publish();
      for (const service of this.#order) {
        if (this.#abort.signal.aborted) throw stoppedError();
        await Promise.all(this.#group(service).map((slot) => this.#launch(slot).ready));
      }
      await this.#status?.flush(); // So `flotilla status` shows them running once this resolves.
    } catch (error) {
      await this.#shutdown();
      throw error;
    }
    if (this.#state === "starting") this.#state = "running";
  }

  /**
   * Stops every service, dependents first (the replicas of a service
   * together): SIGTERM, then SIGKILL after the stop timeout. No service is
   * restarted once this is called. Closes the control API, writes the final
   * status and releases the data root. Idempotent.
   */
  stop(): Promise<void> {
    if (this.#state === "idle") {
      this.#state = "stopped";
      return Promise.resolve();
    }
    return this.#shutdown();
  }

  /** Same as {@link stop}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /**
   * Stops one service process gracefully (SIGTERM, then SIGKILL after the
   * stop timeout) and keeps it stopped: its state turns `stopped` and it is
   * not restarted until {@link startService}. `name` is its name in status
   * (`payment`, `payment-2`) or its instance id (`payment-1`). Resolves to
   * its status once it stopped; stopping a stopped one does nothing.
   *
   * @throws {UnknownServiceError} when no process has that name.
   * @throws {SupervisorNotRunningError} unless the supervisor is running.
   */
  stopService(name: string): Promise<ServiceStatus> {
    return this.#control(name, async (slot) => {
      await this.#stopSlot(slot, true);
    });
  }

  /**
   * Starts one service process again, on the same port, and resolves to its
   * status once it answers `/readyz`. One that runs is left as it is; one
   * that its supervision is restarting is waited for.
   *
   * @throws {UnknownServiceError} when no process has that name.
   * @throws {SupervisorNotRunningError} unless the supervisor is running.
   * @throws {ServiceStartError} when it is not ready within the start
   * timeout; it is then `failed` and left stopped.
   */
  startService(name: string): Promise<ServiceStatus> {
    return this.#control(name, (slot) => this.#startSlot(slot));
  }

  /**
   * Stops one service process gracefully, then starts it again on the same
   * port; resolves to its status once it is ready.
   *
   * @throws {UnknownServiceError} when no process has that name.
   * @throws {SupervisorNotRunningError} unless the supervisor is running.
   * @throws {ServiceStartError} when it is not ready within the start timeout.
   */
  restartService(name: string): Promise<ServiceStatus> {
    return this.#control(name, async (slot) => {
      await this.#stopSlot(slot, true);
      this.#checkRunning();
      await this.#startSlot(slot);
    });
  }

  async #control(name: string, action: (slot: Slot) => Promise<void>): Promise<ServiceStatus> {
    this.#checkRunning();
    const slot = this.#slots.find((s) => s.name === name) ??
      this.#slots.find((s) => s.instance === name);
    if (slot === undefined) throw new UnknownServiceError(name, this.#slots.map((s) => s.name));
    const operation = async () => {
      this.#checkRunning();
      try {
        await action(slot);
      } finally {
        // So that `flotilla status` shows the outcome once the request is answered.
        await this.#status?.flush();
      }
      return this.#row(slot);
    };
    const result = slot.control.then(operation, operation);
    slot.control = result.catch(() => {});
    return await result;
  }

  #checkRunning(): void {
    if (this.#state !== "running") {
      throw new SupervisorNotRunningError(
        `Cannot control the services of "${this.plan.name}" as its supervisor is ${this.#state}`,
      );
    }
  }

  async #startSlot(slot: Slot): Promise<void> {
    if (slot.run !== undefined) {
      // Already supervised: running, or being restarted after a crash.
      const deadline = Date.now() + this.#startTimeoutMs;
      await this.#until(() => slot.state === "running" || slot.run === undefined, deadline);
      if (slot.state === "running") return;
      if (slot.run !== undefined) {
        throw new ServiceStartError(
          slot.name,
          `it was not ready within ${this.#startTimeoutMs} ms; the supervisor keeps restarting it (log: ${slot.log.path})`,
          { logTail: await slot.log.tail(10) },
        );
      }
    }
    if (slot.startedAt !== null) slot.restarts++;
    try {
      await this.#launch(slot).ready;
    } catch (error) {
      if (this.#abort.signal.aborted) {
        throw new SupervisorNotRunningError(
          `Cannot start "${slot.name}" as the supervisor of "${this.plan.name}" is stopping`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  /** Resolves once `condition` holds (checked at every change of state) or at `deadline`. */
  #until(condition: () => boolean, deadline: number): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const check = () => {
        if (condition()) done();
      };
      const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
      this.#waiters.add(check);
    });
  }

  /**
   * The folder of the services' configuration files, and the token of their
   * `GET /config` in `<dataRoot>/config.token` (owner only), which
   * `flotilla config get` reads.
   */
  async #prepareConfig(): Promise<void> {
    if (this.#config.access.dir !== undefined) {
      await Deno.mkdir(this.#config.access.dir, { recursive: true });
    }
    const token = Array.from(crypto.getRandomValues(new Uint8Array(32)))
      .map((byte) => byte.toString(16).padStart(2, "0")).join("");
    const tokenPath = join(this.dataRoot, CONFIG_TOKEN_FILE);
    await Deno.remove(tokenPath).catch(() => {});
    await Deno.writeTextFile(tokenPath, token + "\n", { createNew: true, mode: 0o600 });
    this.#configToken = token;
  }

  async #serveAdmin(): Promise<void> {
    const token = Array.from(crypto.getRandomValues(new Uint8Array(32)))
      .map((byte) => byte.toString(16).padStart(2, "0")).join("");
    const tokenPath = join(this.dataRoot, ADMIN_TOKEN_FILE);
    // A new file, so that its mode is the owner's only whatever was there.
    await Deno.remove(tokenPath).catch(() => {});
    await Deno.writeTextFile(tokenPath, token + "\n", { createNew: true, mode: 0o600 });
    this.#tokenPath = tokenPath;
    const onError = (cause: unknown) =>
      this.#onEvent({ type: "warning", message: "The control API failed", cause });
    try {
      this.#admin = Deno.serve({
        hostname: "127.0.0.1",
        port: this.#adminPort,
        onListen: () => {},
        onError: (error) => {
          onError(error);
          return new Response(null, { status: 500 });
        },
      }, adminHandler(this, { token, onError }));
    } catch (error) {
      if (error instanceof Deno.errors.AddrInUse) {
        throw new Error(
          `Cannot serve the supervisor's control API on 127.0.0.1:${this.#adminPort} as the port is in use: set FLOTILLA_ADMIN_PORT to a free port, or unset it to take any`,
          { cause: error },
        );
      }
      throw error;
    }
    this.#adminUrl = httpUrl("127.0.0.1", this.#admin.addr.port);
  }

  async #prepare(
    service: ServicePlan,
    n: number,
    ports: ReadonlyMap<string, number>,
    registryDir: string | undefined,
    busDir: string | undefined,
  ): Promise<Slot> {
    const contract = service.contract;
    const name = replicaName(contract.name, n);
    const host = connectHost(this.hostname);
    const port = ports.get(name)!;
    const peerAddresses: Record<string, Address[]> = {};
    const peerUrls: Record<string, string[]> = {};
    const peerGrpc: Record<string, Address[]> = {};
    for (const peer of contract.needs?.peers ?? []) {
      const peerPorts = Array.from(
        { length: this.#replicas.get(peer)! },
        (_, i) => ports.get(replicaName(peer, i + 1))!,
      );
      peerAddresses[peer] = peerPorts.map((peerPort) => ({ hostname: host, port: peerPort }));
      peerUrls[peer] = peerPorts.map((peerPort) => httpUrl(host, peerPort));
      if (this.#transport.type === "grpc") {
        peerGrpc[peer] = Array.from({ length: this.#replicas.get(peer)! }, (_, i) => ({
          hostname: host,
          port: ports.get(grpcPortKey(replicaName(peer, i + 1)))!,
        }));
      }
    }
    const grpcPort = this.#transport.type === "grpc" ? ports.get(grpcPortKey(name)) : undefined;
    let dataDir: string | undefined;
    if (contract.needs?.dataDir) {
      dataDir = join(this.dataRoot, contract.name); // Shared by the replicas.
      await Deno.mkdir(dataDir, { recursive: true });
    }
    const registry: RegistryAccess = {};
    if (registryDir !== undefined) registry.dir = registryDir;
    if (this.#registry.address !== undefined) registry.address = this.#registry.address;
    const bus: BusAccess = {};
    const onBus = usesBus(contract);
    if (onBus) {
      if (busDir !== undefined) bus.dir = busDir;
      if (this.#bus.addresses.length > 0) bus.addresses = this.#bus.addresses;
    }
    const keepsEvents = contract.needs?.eventStore === true;
    const flags = permissionFlags(contract, {
      listen: { hostname: this.hostname, port },
      peers: peerAddresses,
      ...(dataDir === undefined ? {} : { dataDir }),
      registry,
      bus,
      telemetry: this.#telemetry,
      config: this.#config.access,
      transport: {
        addresses: this.#transport.addresses,
        envPrefixes: this.#transport.envPrefixes,
        ...(grpcPort === undefined ? {} : {
          listen: { hostname: this.hostname, port: grpcPort },
          peers: peerGrpc,
          read: (service.grpc?.files ?? []).map((file) =>
            file instanceof URL ? fromFileUrl(file) : resolve(file)
          ),
        }),
      },
      ...(keepsEvents
        ? {
          eventStore: {
            addresses: this.#eventStore.addresses,
            envPrefixes: this.#eventStore.envPrefixes,
          },
        }
        : {}),
    });
    const env = childEnv(service, {
      base: this.#env,
      portVariables: this.plan.services.map((s) => s.contract.needs?.port?.env ?? "PORT"),
      hostname: this.hostname,
      port,
      dataDir,
      instanceId: instanceId(contract.name, n),
      registry: this.#registry.value,
      registryDir,
      registryHost: this.#registry.address?.hostname,
      ...(onBus ? { bus: this.#bus.value, busDir } : {}),
      ...(keepsEvents ? { eventStore: this.#eventStore.value } : {}),
      transport: this.#transport.value,
      grpcPort,
      config: this.#config.valueFor(contract.name),
      configToken: this.#configToken,
      // With any other registry, peers are found through it.
      peers: this.#registry.type === "static" ? peerUrls : {},
    });
    return {
      name,
      service: contract.name,
      instance: instanceId(contract.name, n),
      entry: service.entry instanceof URL ? service.entry.href : service.entry,
      host,
      port,
      grpcPort,
      url: httpUrl(host, port),
      flags,
      env,
      log: await LogFile.open(join(this.logDir, `${name}.log`)),
      state: "starting",
      pid: null,
      restarts: 0,
      startedAt: null,
      process: undefined,
      run: undefined,
      stopping: undefined,
      control: Promise.resolve(),
    };
  }

  /** Starts supervising `slot`: spawns its process and restarts it until stopped or given up. */
  #launch(slot: Slot): Run {
    const abort = new AbortController();
    const ready = Promise.withResolvers<void>();
    ready.promise.catch(() => {}); // Awaited by whoever launched it, if anyone.
    const run: Run = { abort, ready: ready.promise, done: Promise.resolve() };
    slot.run = run;
    run.done = this.#run(slot, abort.signal, ready)
      .catch((cause) =>
        this.#onEvent({ type: "warning", message: `Supervision of "${slot.name}" failed`, cause })
      )
      .finally(() => {
        if (slot.run === run) slot.run = undefined;
        this.#publish();
      });
    return run;
  }

  /** Runs one service process until it is stopped or the supervisor gives up on it. */
  async #run(slot: Slot, signal: AbortSignal, ready: PromiseWithResolvers<void>): Promise<void> {
    const stopping = AbortSignal.any([this.#abort.signal, signal]);
    const backoff = new Backoff(this.#backoff);
    const firstDeadline = Date.now() + this.#startTimeoutMs;
    let initial = true;
    let lastExit: string | undefined;
    while (!stopping.aborted) {
      let proc: Proc;
      try {
        proc = this.#spawn(slot);
      } catch (error) {
        await this.#fail(
          slot,
          ready,
          `its process could not be spawned: ${errorMessage(error)}`,
          error,
        );
        return;
      }
      slot.process = proc;
      slot.pid = proc.pid;
      slot.startedAt = new Date().toISOString();
      slot.state = initial ? "starting" : "restarting";
      this.#publish();
      this.#onEvent({
        type: "spawned",
        service: slot.name,
        pid: proc.pid,
        restarts: slot.restarts,
      });

      const deadline = initial ? firstDeadline : Date.now() + this.#startTimeoutMs;
      const readiness = await waitUntilReady(slot.host, slot.port, {
        deadline,
        signal: AbortSignal.any([stopping, proc.exitSignal]),
      });
      let uptimeMs = 0;
      if (readiness === "ready" && !stopping.aborted) {
        const readyAt = Date.now();
        slot.state = "running";
        this.#publish();
        this.#onEvent({
          type: "ready",
          service: slot.name,
          pid: proc.pid,
          url: slot.url,
          restarts: slot.restarts,
        });
        if (initial) {
          initial = false;
          ready.resolve();
        }
        await proc.status;
        uptimeMs = Date.now() - readyAt;
      } else if (readiness === "timeout" && !stopping.aborted) {
        kill(proc, "SIGKILL");
      }
      const status = await proc.status;
      await proc.pumps;
      if (stopping.aborted) break; // The stop owns the process and the state now.

      slot.process = undefined;
      slot.pid = null;
      const reason = readiness === "timeout" ? "not-ready" : "exited";
      const what = reason === "not-ready"
        ? `it was not ready within ${this.#startTimeoutMs} ms${
          lastExit === undefined ? "" : `; its process last exited with ${lastExit}`
        }`
        : `its process exited with ${describeExit(status)}${initial ? " before it was ready" : ""}`;
      if (reason === "exited") lastExit = describeExit(status);
      slot.log.note(
        slot.name,
        "error",
        reason === "not-ready" ? "process not ready in time; killed" : "process exited",
        {
          pid: proc.pid,
          code: status.code,
          signal: status.signal,
        },
      );
      const restartInMs = backoff.next(uptimeMs);
      if (initial && (reason === "not-ready" || Date.now() + restartInMs >= firstDeadline)) {
        await this.#fail(slot, ready, `${what} (log: ${slot.log.path})`);
        return;
      }
      slot.state = "restarting";
      this.#publish();
      this.#onEvent({
        type: "crashed",
        service: slot.name,
        pid: proc.pid,
        code: status.code,
        signal: status.signal,
        reason,
        restartInMs,
      });
      await delay(restartInMs, stopping);
      if (stopping.aborted) break;
      slot.restarts++;
    }
    if (initial) ready.reject(stoppedError());
  }

  #spawn(slot: Slot): Proc {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...slot.flags, slot.entry],
      env: slot.env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      // Its own session: a Ctrl-C in the terminal reaches the supervisor
      // only, which then stops the services in order.
      detached: true,
    }).spawn();
    const exited = new AbortController();
    const proc: Proc = {
      child,
      pid: child.pid,
      exited: false,
      exitSignal: exited.signal,
      status: child.status.then((status) => {
        proc.exited = true;
        exited.abort();
        return status;
      }),
      pumps: Promise.all([slot.log.pump(child.stdout), slot.log.pump(child.stderr)]),
    };
    slot.log.note(slot.name, "info", "process started", {
      pid: child.pid,
      port: slot.port,
      restarts: slot.restarts,
    });
    return proc;
  }

  async #fail(
    slot: Slot,
    ready: PromiseWithResolvers<void>,
    reason: string,
    cause?: unknown,
  ): Promise<void> {
    const logTail = await slot.log.tail(10);
    const error = new ServiceStartError(slot.name, reason, { logTail, cause });
    slot.state = "failed";
    slot.pid = null;
    slot.process = undefined;
    this.#publish();
    this.#onEvent({ type: "failed", service: slot.name, error });
    ready.reject(error);
  }

  #shutdown(): Promise<void> {
    return this.#stopping ??= (async () => {
      this.#state = "stopping";
      this.#abort.abort();
      try {
        for (const service of [...this.#order].reverse()) {
          await Promise.all(this.#group(service).map((slot) => this.#stopSlot(slot, false)));
        }
        await Promise.allSettled(this.#slots.map((slot) => slot.run?.done));
        for (const slot of this.#slots) {
          if (slot.state !== "failed") slot.state = "stopped";
          slot.pid = null;
        }
        await this.#admin?.shutdown();
        this.#adminUrl = null;
        this.#publish();
        await this.#status?.flush();
      } finally {
        for (const slot of this.#slots) await slot.log.close();
        if (this.#tokenPath !== undefined) await Deno.remove(this.#tokenPath).catch(() => {});
        await this.#lock?.release();
        this.#state = "stopped";
      }
    })();
  }

  /**
   * Stops a slot's supervision and its process. `requested` is true for a
   * control request, which leaves it `stopped` even if it had failed.
   */
  #stopSlot(slot: Slot, requested: boolean): Promise<void> {
    if (slot.stopping !== undefined) return slot.stopping;
    const stopping = this.#stopProcess(slot, requested).finally(() => {
      if (slot.stopping === stopping) slot.stopping = undefined;
    });
    slot.stopping = stopping;
    return stopping;
  }

  async #stopProcess(slot: Slot, requested: boolean): Promise<void> {
    const run = slot.run;
    run?.abort.abort();
    const proc = slot.process;
    if (run === undefined && proc === undefined) {
      if (requested && slot.state !== "stopped") {
        slot.state = "stopped";
        this.#publish();
      }
      return;
    }
    let stopped: SupervisorEvent | undefined;
    if (proc !== undefined && !proc.exited) {
      slot.state = "stopping";
      this.#publish();
      kill(proc, "SIGTERM");
      await delay(this.#stopTimeoutMs, proc.exitSignal);
      const forced = !proc.exited;
      if (forced) kill(proc, "SIGKILL");
      const status = await proc.status;
      await proc.pumps;
      slot.log.note(
        slot.name,
        forced ? "warn" : "info",
        forced ? "process killed after the stop timeout" : "process stopped",
        { pid: proc.pid, code: status.code, signal: status.signal, requested },
      );
      stopped = {
        type: "stopped",
        service: slot.name,
        pid: proc.pid,
        code: status.code,
        signal: status.signal,
        forced,
        requested,
      };
    }
    await run?.done;
    if (requested || slot.state !== "failed") slot.state = "stopped";
    slot.pid = null;
    slot.process = undefined;
    this.#publish();
    if (stopped !== undefined) this.#onEvent(stopped);
  }

  /** Stops service processes left by a supervisor of this data root that died. */
  async #stopOrphans(): Promise<void> {
    let previous: SupervisorStatus | undefined;
    try {
      previous = await readStatus(this.dataRoot, { isAlive: () => true });
    } catch {
      return; // An unreadable old status names no process to stop.
    }
    const leftovers = (previous?.services ?? []).flatMap((service) =>
      service.pid === null ? [] : [{ pid: service.pid, port: service.port }]
    );
    const stopped = await stopOrphans(leftovers, this.#stopTimeoutMs);
    if (stopped.length > 0) {
      this.#onEvent({
        type: "warning",
        message:
          `Stopped ${stopped.length} service process(es) left running by a supervisor that died (pid ${
            stopped.join(", ")
          })`,
      });
    }
  }

  /** The slots of one service: the service itself, then its other replicas. */
  #group(service: ServicePlan): Slot[] {
    return this.#slots.filter((slot) => slot.service === service.contract.name);
  }

  #row(slot: Slot): ServiceStatus {
    return {
      name: slot.name,
      service: slot.service,
      instance: slot.instance,
      pid: slot.pid,
      port: slot.port,
      state: slot.state,
      restarts: slot.restarts,
      url: slot.url,
      startedAt: slot.startedAt,
      ...(slot.grpcPort === undefined ? {} : { grpcPort: slot.grpcPort }),
    };
  }

  #publish(): void {
    this.#status?.update({
      pid: Deno.pid,
      system: this.plan.name,
      startedAt: this.#startedAt,
      adminUrl: this.#adminUrl,
      services: this.services(),
    });
    for (const waiter of [...this.#waiters]) waiter();
  }
}

/** `FLOTILLA_REPLICAS_PAYMENT` for service `payment`. */
function replicasVariable(service: string): string {
  return `FLOTILLA_REPLICAS_${service.toUpperCase().replaceAll("-", "_")}`;
}

function replicasOf(plan: SystemPlan, name: string): number {
  return plan.services.find((s) => s.contract.name === name)?.replicas ?? 1;
}

/** The replicas of each service: the plan's, or `FLOTILLA_REPLICAS_<SERVICE>` of `env`. */
function replicaCounts(
  plan: SystemPlan,
  env: Readonly<Record<string, string | undefined>>,
): Map<string, number> {
  const counts = new Map(plan.services.map((s) => [s.contract.name, s.replicas ?? 1]));
  const byVariable = new Map(plan.services.map((s) => [replicasVariable(s.contract.name), s]));
  for (const [variable, raw] of Object.entries(env)) {
    if (!variable.startsWith("FLOTILLA_REPLICAS_") || raw === undefined || raw.trim() === "") {
      continue;
    }
    const service = byVariable.get(variable);
    if (service === undefined) {
      throw new InvalidSettingError(
        variable,
        `Cannot start the supervisor as ${variable} names no service of "${plan.name}": its services are ${
          plan.services.map((s) => s.contract.name).join(", ")
        }`,
      );
    }
    const value = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
    if (!(value >= 1 && value <= MAX_REPLICAS)) {
      throw new InvalidSettingError(
        variable,
        `Cannot start the supervisor as ${variable} must be an integer 1-${MAX_REPLICAS}: current value is "${raw}"`,
      );
    }
    counts.set(service.contract.name, value);
  }
  return counts;
}

function adminPortOf(env: Readonly<Record<string, string | undefined>>): number {
  const raw = env.FLOTILLA_ADMIN_PORT;
  if (raw === undefined || raw.trim() === "") return 0;
  const port = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!(port >= 0 && port <= 65535)) {
    throw new InvalidSettingError(
      "FLOTILLA_ADMIN_PORT",
      `Cannot start the supervisor as FLOTILLA_ADMIN_PORT must be an integer 0-65535: current value is "${raw}"`,
    );
  }
  return port;
}

function portNumber(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new RangeError(
      `Cannot create the supervisor as '${name}' must be an integer 0-65535: current value is ${value}`,
    );
  }
  return value;
}

function kill(proc: Proc, signal: Deno.Signal): void {
  if (proc.exited) return;
  try {
    proc.child.kill(signal);
  } catch {
    // It exited meanwhile.
  }
}

function describeExit(status: Deno.CommandStatus): string {
  return status.signal === null ? `code ${status.code}` : `signal ${status.signal}`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function stoppedError(): DOMException {
  return new DOMException(
    "The supervisor was stopped before every service was ready",
    "AbortError",
  );
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(
      `Cannot create the supervisor as '${name}' must be a positive number: current value is ${value}`,
    );
  }
  return value;
}

/** The key of an instance's gRPC port among the assigned ports. */
function grpcPortKey(instance: string): string {
  return `${instance}/grpc`;
}
