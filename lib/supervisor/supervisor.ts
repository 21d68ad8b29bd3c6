/**
 * The supervisor: runs every service of a system as its own least-privilege
 * Deno process, restarts the ones that crash and stops them all gracefully.
 *
 * @module
 */

import { join } from "node:path";
import { connectHost, httpUrl } from "./_address.ts";
import { childEnv } from "./_child_env.ts";
import { delay } from "./_delay.ts";
import { LogFile } from "./_log_file.ts";
import { stopOrphans } from "./_orphans.ts";
import { waitUntilReady } from "./_readiness.ts";
import { StatusWriter } from "./_status_writer.ts";
import { Backoff, type BackoffOptions } from "./backoff.ts";
import { resolveDataRoot } from "./data_root.ts";
import { ServiceStartError } from "./errors.ts";
import { type DataRootLock, lockDataRoot } from "./lock.ts";
import { type Address, permissionFlags } from "./permissions.ts";
import { type ServicePlan, startOrder, type SystemPlan } from "./plan.ts";
import { assignPorts } from "./ports.ts";
import {
  readStatus,
  type ServiceState,
  type ServiceStatus,
  type SupervisorStatus,
} from "./status.ts";

/** Where a supervisor is in its life. */
export type SupervisorState = "idle" | "starting" | "running" | "stopping" | "stopped";

/** Something that happened to a supervised service, discriminated on `type`. */
export type SupervisorEvent =
  | {
    /** A process of the service was started. */
    type: "spawned";
    /** Service name. */
    service: string;
    /** Pid of the new process. */
    pid: number;
    /** Restarts so far, this one included. */
    restarts: number;
  }
  | {
    /** The service answered `/readyz` with 200. */
    type: "ready";
    /** Service name. */
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
    /** Service name. */
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
    /** Service name. */
    service: string;
    /** Why, with the last lines of its log. */
    error: ServiceStartError;
  }
  | {
    /** The process was stopped by the supervisor. */
    type: "stopped";
    /** Service name. */
    service: string;
    /** Pid of the process. */
    pid: number;
    /** Its exit code. */
    code: number;
    /** The signal that ended it, if any. */
    signal: Deno.Signal | null;
    /** Whether it had to be killed with SIGKILL after the stop timeout. */
    forced: boolean;
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
   * Folder for the services' data, their logs (`logs/`), the lock and the
   * status file. @default {FLOTILLA_DATA_DIR of `env`, else `./.flotilla`, made absolute}
   */
  dataRoot?: string;
  /** Address every service binds. @default {FLOTILLA_HOST of `env`, else "127.0.0.1"} */
  hostname?: string;
  /**
   * The supervisor's environment: where the public service's port variable
   * and `FLOTILLA_*` settings are read, and the base environment of every
   * service process. @default {Deno.env.toObject()}
   */
  env?: Readonly<Record<string, string | undefined>>;
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

interface Slot {
  readonly name: string;
  readonly entry: string;
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly flags: readonly string[];
  readonly env: Record<string, string>;
  readonly log: LogFile;
  readonly backoff: Backoff;
  readonly ready: PromiseWithResolvers<void>;
  state: ServiceState;
  pid: number | null;
  restarts: number;
  startedAt: string | null;
  process: Proc | undefined;
}

/**
 * Runs a {@link SystemPlan}: each service as its own `deno run` process with
 * only the permissions its contract declares, peers before dependents, each
 * started once the previous one answers `/readyz`. A process that exits
 * unexpectedly is restarted on the same port after an exponential backoff.
 * `stop()` sends SIGTERM to every process, dependents first, and SIGKILL to
 * any that outlives the stop timeout. Every change of state is written to
 * `<dataRoot>/supervisor.json`, which `flotilla status` reads.
 *
 * @example
 * ```ts
 * await using supervisor = new Supervisor(shop);
 * await supervisor.start();
 * for (const service of supervisor.services()) console.log(service.name, service.url);
 * ```
 */
export class Supervisor implements AsyncDisposable {
  /** The system it runs. */
  readonly plan: SystemPlan;
  /** Absolute path of the data root. */
  readonly dataRoot: string;
  /** Address the services bind. */
  readonly hostname: string;
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #startTimeoutMs: number;
  readonly #stopTimeoutMs: number;
  readonly #backoff: BackoffOptions;
  readonly #onEvent: (event: SupervisorEvent) => void;
  readonly #order: readonly ServicePlan[];
  readonly #abort = new AbortController();
  #state: SupervisorState = "idle";
  #startedAt = "";
  #slots: Slot[] = [];
  #launched: Slot[] = [];
  #runs: Promise<void>[] = [];
  #lock: DataRootLock | undefined;
  #status: StatusWriter | undefined;
  #stopping: Promise<void> | undefined;

  /**
   * Creates a supervisor of `plan`; nothing runs until {@link start}.
   *
   * @throws {RangeError} when the plan is invalid (see {@link startOrder}) or
   * an option is out of range.
   */
  constructor(plan: SystemPlan, options: SupervisorOptions = {}) {
    this.plan = plan;
    this.#order = startOrder(plan);
    this.#env = options.env ?? Deno.env.toObject();
    this.dataRoot = resolveDataRoot(
      options.dataRoot === undefined ? this.#env : { FLOTILLA_DATA_DIR: options.dataRoot },
    );
    this.hostname = options.hostname ?? (this.#env.FLOTILLA_HOST || "127.0.0.1");
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

  /** A snapshot of every service, in plan order; empty before {@link start}. */
  services(): ServiceStatus[] {
    return this.#slots.map((slot) => ({
      name: slot.name,
      pid: slot.pid,
      port: slot.port,
      state: slot.state,
      restarts: slot.restarts,
      url: slot.url,
      startedAt: slot.startedAt,
    }));
  }

  /**
   * Takes the data root's lock, assigns ports, then starts the services in
   * start order, each once its peers are ready. Resolves when every service
   * is ready. On failure (or a `stop()` meanwhile) it stops what it started
   * and rejects.
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
      const ports = await assignPorts(this.plan.services.map((service) => service.contract), {
        hostname: this.hostname,
        env: this.#env,
      });
      for (const service of this.plan.services) {
        this.#slots.push(await this.#prepare(service, ports));
      }
      this.#publish();
      for (const service of this.#order) {
        if (this.#abort.signal.aborted) throw stoppedError();
        const slot = this.#slot(service.contract.name);
        this.#launched.push(slot);
        this.#runs.push(
          this.#run(slot).catch((cause) =>
            this.#onEvent({
              type: "warning",
              message: `Supervision of "${slot.name}" failed`,
              cause,
            })
          ),
        );
        await slot.ready.promise;
      }
      await this.#status?.flush(); // So `flotilla status` shows them running once this resolves.
    } catch (error) {
      await this.#shutdown();
      throw error;
    }
    if (this.#state === "starting") this.#state = "running";
  }

  /**
   * Stops every service, dependents first: SIGTERM, then SIGKILL after the
   * stop timeout. No service is restarted once this is called. Writes the
   * final status and releases the data root. Idempotent.
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

  async #prepare(service: ServicePlan, ports: ReadonlyMap<string, number>): Promise<Slot> {
    const contract = service.contract;
    const name = contract.name;
    const host = connectHost(this.hostname);
    const port = ports.get(name)!;
    const peerAddresses: Record<string, Address> = {};
    const peerUrls: Record<string, string> = {};
    for (const peer of contract.needs?.peers ?? []) {
      const peerPort = ports.get(peer)!;
      peerAddresses[peer] = { hostname: host, port: peerPort };
      peerUrls[peer] = httpUrl(host, peerPort);
    }
    let dataDir: string | undefined;
    if (contract.needs?.dataDir) {
      dataDir = join(this.dataRoot, name);
      await Deno.mkdir(dataDir, { recursive: true });
    }
    const flags = permissionFlags(contract, {
      listen: { hostname: this.hostname, port },
      peers: peerAddresses,
      ...(dataDir === undefined ? {} : { dataDir }),
    });
    const env = childEnv(service, {
      base: this.#env,
      portVariables: this.plan.services.map((s) => s.contract.needs?.port?.env ?? "PORT"),
      hostname: this.hostname,
      port,
      dataDir,
      peers: peerUrls,
    });
    const ready = Promise.withResolvers<void>();
    ready.promise.catch(() => {}); // Only start() awaits it; never leave it unhandled.
    return {
      name,
      entry: service.entry instanceof URL ? service.entry.href : service.entry,
      host,
      port,
      url: httpUrl(host, port),
      flags,
      env,
      log: await LogFile.open(join(this.logDir, `${name}.log`)),
      backoff: new Backoff(this.#backoff),
      ready,
      state: "starting",
      pid: null,
      restarts: 0,
      startedAt: null,
      process: undefined,
    };
  }

  /** Runs one service until the supervisor stops or gives up on it. */
  async #run(slot: Slot): Promise<void> {
    const stopping = this.#abort.signal;
    const firstDeadline = Date.now() + this.#startTimeoutMs;
    let initial = true;
    let lastExit: string | undefined;
    while (!stopping.aborted) {
      let proc: Proc;
      try {
        proc = this.#spawn(slot);
      } catch (error) {
        await this.#fail(slot, `its process could not be spawned: ${errorMessage(error)}`, error);
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
          slot.ready.resolve();
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
      const restartInMs = slot.backoff.next(uptimeMs);
      if (initial && (reason === "not-ready" || Date.now() + restartInMs >= firstDeadline)) {
        await this.#fail(slot, `${what} (log: ${slot.log.path})`);
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
    if (initial) slot.ready.reject(stoppedError());
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

  async #fail(slot: Slot, reason: string, cause?: unknown): Promise<void> {
    const logTail = await slot.log.tail(10);
    const error = new ServiceStartError(slot.name, reason, { logTail, cause });
    slot.state = "failed";
    slot.pid = null;
    slot.process = undefined;
    this.#publish();
    this.#onEvent({ type: "failed", service: slot.name, error });
    slot.ready.reject(error);
  }

  #shutdown(): Promise<void> {
    return this.#stopping ??= (async () => {
      this.#state = "stopping";
      this.#abort.abort();
      try {
        for (const slot of [...this.#launched].reverse()) await this.#stopSlot(slot);
        await Promise.allSettled(this.#runs);
        for (const slot of this.#slots) {
          if (slot.state !== "failed") slot.state = "stopped";
          slot.pid = null;
        }
        this.#publish();
        await this.#status?.flush();
      } finally {
        for (const slot of this.#slots) await slot.log.close();
        await this.#lock?.release();
        this.#state = "stopped";
      }
    })();
  }

  async #stopSlot(slot: Slot): Promise<void> {
    const proc = slot.process;
    if (proc === undefined || proc.exited) return;
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
      {
        pid: proc.pid,
        code: status.code,
        signal: status.signal,
      },
    );
    slot.state = "stopped";
    slot.pid = null;
    slot.process = undefined;
    this.#publish();
    this.#onEvent({
      type: "stopped",
      service: slot.name,
      pid: proc.pid,
      code: status.code,
      signal: status.signal,
      forced,
    });
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

  #slot(name: string): Slot {
    return this.#slots.find((slot) => slot.name === name)!;
  }

  #publish(): void {
    this.#status?.update({
      pid: Deno.pid,
      system: this.plan.name,
      startedAt: this.#startedAt,
      services: this.services(),
    });
  }
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
