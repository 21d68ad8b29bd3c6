// Internal to the CLI.

import {
  resolveDataRoot,
  ServiceStartError,
  type ServiceStatus,
  SupervisorClient,
} from "@flotilla/supervisor";
import type { Io } from "./_io.ts";

/** What `flotilla stop|start|restart` asks of the supervisor. */
export type ControlCommand = "stop" | "start" | "restart";

/** Options of {@link control}. */
export interface ControlCommandOptions {
  /** The service process to act on: `payment`, `payment-2` or `payment-1`. */
  name: string;
  /** Where to write. */
  io: Io;
  /** The environment, for FLOTILLA_DATA_DIR. */
  env: Readonly<Record<string, string | undefined>>;
  /** The working directory, for the default data root. */
  cwd: string;
}

const CALLS: Readonly<
  Record<ControlCommand, (client: SupervisorClient, name: string) => Promise<ServiceStatus>>
> = {
  stop: (client, name) => client.stopService(name),
  start: (client, name) => client.startService(name),
  restart: (client, name) => client.restartService(name),
};

/**
 * `flotilla stop|start|restart <name>`: asks the supervisor that runs on the
 * data root, through its control API, and waits for the answer — stopped, or
 * ready. Returns the exit code: 0 done, 1 when no supervisor runs, the name
 * is unknown or the service did not get ready.
 */
export async function control(
  command: ControlCommand,
  options: ControlCommandOptions,
): Promise<number> {
  const { io, name } = options;
  const dataRoot = resolveDataRoot(options.env, options.cwd);
  try {
    const client = await SupervisorClient.connect(dataRoot);
    const service = await CALLS[command](client, name);
    io.out(
      service.state === "stopped"
        ? `${service.name} stopped`
        : `${service.name} ${service.state}  ${service.url}  (pid ${
          service.pid ?? "-"
        }, restarts ${service.restarts})`,
    );
    return 0;
  } catch (error) {
    io.err(`flotilla: ${error instanceof Error ? error.message : error}`);
    if (error instanceof ServiceStartError && error.logTail.length > 0) {
      io.err(`last lines of its log:`);
      // deno-lint-ignore no-control-regex
      for (const line of error.logTail) io.err(`  ${line.replace(/\x1b\[[0-9;]*m/g, "")}`);
    }
    return 1;
  }
}
