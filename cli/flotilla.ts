/**
 * The `flotilla` command: runs a system of services under a supervisor,
 * shows their status, and stops, starts or restarts one of them.
 *
 * ```sh
 * flotilla up [--plan <module>[#export]]   # deno task start
 * flotilla status [--json]                 # deno task status
 * flotilla stop <name>                     # deno task flotilla stop payment
 * flotilla start <name>
 * flotilla restart <name>
 * flotilla projections rebuild [<service>] # deno task projections:rebuild
 * flotilla chaos add --service order --peer payment --error UNAVAILABLE
 * flotilla chaos list|remove|clear|enable|disable --service <s> …
 * flotilla config get <service>            # its GET /config
 * flotilla dashboard [--port N]            # a web dashboard on 127.0.0.1
 * ```
 *
 * `flotilla up` reads, besides `FLOTILLA_DATA_DIR`, `FLOTILLA_HOST` and
 * `PORT`:
 *
 * | variable | meaning | default |
 * |---|---|---|
 * | `FLOTILLA_REGISTRY` | the services' registry: `local`, `static`, `etcd://host:port`, `dns://ip:port`, `consul://host:port` | `local` |
 * | `FLOTILLA_REPLICAS_<SERVICE>` | how many processes of `<service>` to run (1-16), over the plan's `replicas`; e.g. `FLOTILLA_REPLICAS_PAYMENT=2` | the plan's, else 1 |
 * | `FLOTILLA_ADMIN_PORT` | port of the supervisor's control API on 127.0.0.1 | any free port |
 * | `FLOTILLA_BUS` | the message bus of the services with events: `sqlite`, `redis://host:port`, `nats://host:port` | `sqlite` |
 * | `FLOTILLA_EVENTSTORE` | the event store of the services that keep one (also read by `projections rebuild`): `sqlite`, `postgres://user@host:port/db` | `sqlite` |
 *
 * A bad value of one of them is a usage error (exit 2). In status the first
 * process of a service is named after it and the others `<service>-<n>`;
 * `stop`, `start` and `restart` take those names (or an instance id,
 * `<service>-<n>`) and talk to the supervisor's control API, whose address
 * they read from `supervisor.json` in the data folder.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Io, processIo } from "./_io.ts";
import { DEFAULT_PLAN } from "./_load_plan.ts";
import { control, type ControlCommand } from "./_control.ts";
import { status } from "./_status.ts";
import { up } from "./_up.ts";
import { rebuildProjections } from "./_projections.ts";
import { chaos, CHAOS_USAGE } from "./_chaos.ts";
import { configGet } from "./_config_get.ts";
import { checkouts } from "./_checkouts.ts";
import { dashboard, DEFAULT_DASHBOARD_PORT } from "./_dashboard.ts";

export type { Io } from "./_io.ts";

/** The text `flotilla --help` prints. */
export const USAGE = `flotilla — run a Flotilla system, show its status, control its services

Usage:
  flotilla up [--plan <module>[#export]]
      Start every service of the plan, each with only the permissions it
      declares; restart crashed ones; stop them all on Ctrl-C or SIGTERM.
      Default plan: ${DEFAULT_PLAN}
  flotilla status [--json]
      List the services with pid, port, state and restarts; --json prints a
      JSON array of { name, pid, port, state, restarts }.
  flotilla stop <name>
      Stop one service (or replica, e.g. payment-2) gracefully; it stays
      stopped until started again.
  flotilla start <name>
      Start it again on the same port; wait until it is ready.
  flotilla restart <name>
      Stop it gracefully, then start it; wait until it is ready.
  flotilla projections rebuild [<service>] [--plan <module>[#export]]
      Empty the projections (read models) of every service of the plan, or
      of one, and build them again from the first event of the event store;
      a running service carries on from the rebuilt read model.
${CHAOS_USAGE}
  flotilla checkouts list [--status <STATUS>] [--json]
      List the order service's checkout sagas (RUNNING, COMPENSATING,
      COMPLETED, COMPENSATED, NEEDS_ATTENTION), oldest first.
  flotilla checkouts resume <orderId>
      Drive a parked (NEEDS_ATTENTION) or interrupted checkout on, once the
      cause is fixed.
  flotilla config get <name>
      Print the configuration in force of a service (each replica), its
      version, source and last rejected update (GET /config).
  flotilla dashboard [--port <N>]
      Serve a live web dashboard on http://127.0.0.1:<N> (default
      ${DEFAULT_DASHBOARD_PORT}; 0: any free port) until Ctrl-C: services, their
      request rates, error ratios and circuit breakers, the chaos rules in
      force, checkouts by state, and the parked ones with a Resume button.
  flotilla --help

Environment:
  FLOTILLA_DATA_DIR            data folder of the system (default ./.flotilla)
  FLOTILLA_HOST                address the services bind (default 127.0.0.1)
  PORT                         port of the public service (default: its contract's)
  FLOTILLA_REGISTRY            up: local (default), static, etcd://host:port,
                               dns://ip:port or consul://host:port
  FLOTILLA_REPLICAS_<SERVICE>  up: processes of <SERVICE> to run, 1-16
                               (e.g. FLOTILLA_REPLICAS_PAYMENT=2)
  FLOTILLA_ADMIN_PORT          up: port of the control API on 127.0.0.1 (default: any)
  FLOTILLA_BUS                 up: message bus: sqlite (default), redis://host:port
                               or nats://host:port
  FLOTILLA_EVENTSTORE          up, projections: event store of the services that keep
                               one: sqlite (default, in their data folders) or
                               postgres://user@host:port/db
  FLOTILLA_CONFIG              up, chaos: the services' dynamic configuration: file
                               (default: <data dir>/config/<service>.json, watched),
                               file:<path>, or etcd://host:port[/prefix/] (keys under
                               /flotilla/config/<service>/)

Exit codes: 0 ok, 1 runtime error, 2 usage error.`;

/** Options of {@link main}. */
export interface MainOptions {
  /** Where to write. @default {stdout and stderr} */
  io?: Io;
  /** The environment. @default {Deno.env.toObject()} */
  env?: Readonly<Record<string, string | undefined>>;
  /** The working directory. @default {Deno.cwd()} */
  cwd?: string;
}

/**
 * Runs the `flotilla` command with `args` (without the program name) and
 * returns its exit code: 0 ok, 1 runtime error, 2 usage error.
 *
 * @example
 * ```ts
 * Deno.exit(await main(["status", "--json"]));
 * ```
 */
export async function main(args: readonly string[], options: MainOptions = {}): Promise<number> {
  const io = options.io ?? processIo;
  const env = options.env ?? Deno.env.toObject();
  const cwd = options.cwd ?? Deno.cwd();
  const [command, ...rest] = args;
  const usageError = (message: string) => {
    io.err(`flotilla: ${message}`);
    io.err(`Run "flotilla --help" for usage.`);
    return 2;
  };
  try {
    switch (command) {
      case "--help":
      case "-h":
      case "help":
        io.out(USAGE);
        return 0;
      case "up": {
        const { values } = parseArgs({
          args: rest,
          options: { plan: { type: "string" }, help: { type: "boolean", short: "h" } },
          strict: true,
          allowPositionals: false,
        });
        if (values.help) return (io.out(USAGE), 0);
        return await up({ plan: values.plan, io, env, cwd });
      }
      case "status": {
        const { values } = parseArgs({
          args: rest,
          options: { json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
          strict: true,
          allowPositionals: false,
        });
        if (values.help) return (io.out(USAGE), 0);
        return await status({ json: values.json ?? false, io, env, cwd });
      }
      case "stop":
      case "start":
      case "restart": {
        const { values, positionals } = parseArgs({
          args: rest,
          options: { help: { type: "boolean", short: "h" } },
          strict: true,
          allowPositionals: true,
        });
        if (values.help) return (io.out(USAGE), 0);
        if (positionals.length === 0) return usageError(`${command}: missing service name`);
        if (positionals.length > 1) {
          return usageError(`${command}: unexpected argument '${positionals[1]}'`);
        }
        return await control(command as ControlCommand, { name: positionals[0]!, io, env, cwd });
      }
      case "projections": {
        const { values, positionals } = parseArgs({
          args: rest,
          options: { plan: { type: "string" }, help: { type: "boolean", short: "h" } },
          strict: true,
          allowPositionals: true,
        });
        if (values.help) return (io.out(USAGE), 0);
        const [verb, service, extra] = positionals;
        if (verb !== "rebuild") {
          return usageError(
            verb === undefined
              ? "projections: missing 'rebuild'"
              : `projections: unknown command "${verb}"`,
          );
        }
        if (extra !== undefined) return usageError(`projections: unexpected argument '${extra}'`);
        return await rebuildProjections({ service, plan: values.plan, io, env, cwd });
      }
      case "chaos":
        if (rest[0] === "--help" || rest[0] === "-h") return (io.out(USAGE), 0);
        return await chaos(rest, { io, env, cwd });
      case "config": {
        const { values, positionals } = parseArgs({
          args: rest,
          options: { help: { type: "boolean", short: "h" } },
          strict: true,
          allowPositionals: true,
        });
        if (values.help) return (io.out(USAGE), 0);
        const [verb, name, extra] = positionals;
        if (verb !== "get") {
          return usageError(
            verb === undefined ? "config: missing 'get'" : `config: unknown command "${verb}"`,
          );
        }
        if (name === undefined) return usageError("config get: missing service name");
        if (extra !== undefined) return usageError(`config get: unexpected argument '${extra}'`);
        return await configGet({ name, io, env, cwd });
      }
      case "checkouts": {
        const { values, positionals } = parseArgs({
          args: rest,
          options: {
            status: { type: "string" },
            json: { type: "boolean" },
            help: { type: "boolean", short: "h" },
          },
          strict: true,
          allowPositionals: true,
        });
        if (values.help) return (io.out(USAGE), 0);
        const [verb, orderId, extra] = positionals;
        if (verb === "list") {
          if (orderId !== undefined) {
            return usageError(`checkouts list: unexpected argument '${orderId}'`);
          }
          return await checkouts({
            verb,
            status: values.status,
            json: values.json ?? false,
            io,
            env,
            cwd,
          });
        }
        if (verb === "resume") {
          if (orderId === undefined) return usageError("checkouts resume: missing order id");
          if (extra !== undefined) {
            return usageError(`checkouts resume: unexpected argument '${extra}'`);
          }
          return await checkouts({ verb, orderId, io, env, cwd });
        }
        return usageError(
          verb === undefined
            ? "checkouts: missing 'list' or 'resume'"
            : `checkouts: unknown command "${verb}"`,
        );
      }
      case "dashboard": {
        const { values } = parseArgs({
          args: rest,
          options: { port: { type: "string" }, help: { type: "boolean", short: "h" } },
          strict: true,
          allowPositionals: false,
        });
        if (values.help) return (io.out(USAGE), 0);
        const port = values.port === undefined ? DEFAULT_DASHBOARD_PORT : Number(values.port);
        if (!/^\d{1,5}$/.test(values.port ?? "0") || port > 65535) {
          return usageError(
            `dashboard: --port must be a port number 0-65535, not '${values.port}'`,
          );
        }
        return await dashboard({ port, io, env, cwd });
      }
      case undefined:
        return usageError("missing command");
      default:
        return usageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (isParseArgsError(error)) return usageError(error.message);
    io.err(`flotilla: ${error instanceof Error ? error.message : error}`);
    return 1;
  }
}

function isParseArgsError(error: unknown): error is Error {
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_");
}

if (import.meta.main) Deno.exit(await main(Deno.args));
