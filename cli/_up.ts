// Internal to the CLI.

import { relative, sep } from "node:path";
import {
  InvalidSettingError,
  ServiceStartError,
  Supervisor,
  type SupervisorEvent,
  type SystemPlan,
} from "@flotilla/supervisor";
import type { Io } from "./_io.ts";
import { loadPlan } from "./_load_plan.ts";

/** Options of {@link up}. */
export interface UpCommandOptions {
  /** The plan module, `path.ts` or `path.ts#export`; the shop's topology when unset. */
  plan: string | undefined;
  /** Where to write. */
  io: Io;
  /** The supervisor's environment. */
  env: Readonly<Record<string, string | undefined>>;
  /** The working directory, for the default data root and relative paths. */
  cwd: string;
}

/** Signals that stop the system: Ctrl-C, `kill`, and the terminal closing. */
const SIGNALS: readonly Deno.Signal[] = Deno.build.os === "windows"
  ? ["SIGINT", "SIGBREAK"]
  : ["SIGINT", "SIGTERM", "SIGHUP"];

/**
 * `flotilla up`: starts the plan's services, prints where they listen, and
 * supervises them until SIGINT, SIGTERM or SIGHUP stops them all. Returns the exit
 * code: 0 after a stop by signal, 1 when the system could not start, 2 when a
 * setting of the environment (`FLOTILLA_REGISTRY`, `FLOTILLA_REPLICAS_*`,
 * `FLOTILLA_ADMIN_PORT`) is invalid.
 */
export async function up(options: UpCommandOptions): Promise<number> {
  const { io } = options;
  let plan: SystemPlan;
  let supervisor: Supervisor;
  let started = false;
  try {
    plan = await loadPlan(options.plan, options.cwd);
    supervisor = new Supervisor(plan, {
      env: options.env,
      onEvent: (event) => report(event, started, io),
    });
  } catch (error) {
    io.err(`flotilla: ${messageOf(error)}`);
    if (error instanceof InvalidSettingError) {
      io.err(`Run "flotilla --help" for usage.`);
      return 2;
    }
    return 1;
  }

  const stopped = Promise.withResolvers<void>();
  let stopping = false;
  const onSignal = () => {
    if (stopping) {
      io.err(`still stopping ${plan.name}: waiting for its services to drain`);
      return;
    }
    stopping = true;
    if (started) io.out(`stopping ${plan.name}…`);
    supervisor.stop().then(stopped.resolve, stopped.reject);
  };
  for (const signal of SIGNALS) Deno.addSignalListener(signal, onSignal);
  try {
    try {
      await supervisor.start();
    } catch (error) {
      if (stopping) {
        await stopped.promise;
        return 0;
      }
      io.err(`flotilla: ${messageOf(error)}`);
      if (error instanceof ServiceStartError && error.logTail.length > 0) {
        io.err(`last lines of its log:`);
        for (const line of error.logTail) io.err(`  ${stripAnsi(line)}`);
      }
      return 1;
    }
    started = true;
    printServices(supervisor, options.cwd, io);
    await stopped.promise;
    io.out(`${plan.name} stopped`);
    return 0;
  } finally {
    for (const signal of SIGNALS) Deno.removeSignalListener(signal, onSignal);
    await supervisor.stop();
  }
}

function printServices(supervisor: Supervisor, cwd: string, io: Io): void {
  const services = supervisor.services();
  const nameWidth = Math.max(...services.map((s) => s.name.length));
  const urlWidth = Math.max(...services.map((s) => s.url.length));
  for (const service of services) {
    io.out(
      `${service.name.padEnd(nameWidth)}  ${service.url.padEnd(urlWidth)}  (pid ${service.pid})`,
    );
  }
  const logs = relative(cwd, supervisor.logDir);
  const shown = logs === "" || logs.startsWith("..") ? supervisor.logDir : logs;
  io.out(`${supervisor.plan.name} is up — Ctrl-C to stop; logs in ${shown}${sep}`);
}

function report(event: SupervisorEvent, started: boolean, io: Io): void {
  switch (event.type) {
    case "crashed": {
      const why = event.reason === "not-ready"
        ? "was not ready in time"
        : event.signal === null
        ? `exited with code ${event.code}`
        : `was killed by ${event.signal}`;
      io.out(`${event.service} ${why}; restarting in ${seconds(event.restartInMs)}`);
      break;
    }
    case "stopped":
      if (event.requested) io.out(`${event.service} stopped on request  (pid ${event.pid})`);
      break;
    case "failed":
      if (started) io.err(`flotilla: ${event.error.message}`);
      break;
    case "ready":
      if (started) {
        io.out(
          `${event.service} restarted  ${event.url}  (pid ${event.pid}, restarts ${event.restarts})`,
        );
      }
      break;
    case "warning":
      io.err(
        `flotilla: ${event.message}${
          event.cause === undefined ? "" : `: ${messageOf(event.cause)}`
        }`,
      );
      break;
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

function stripAnsi(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
