/**
 * Starts instances of the echo service as separate processes, each with
 * only the permissions it needs, for failover tests.
 *
 * @module
 */

import { freePort, waitFor } from "@flotilla/testing";

const ECHO = new URL("./echo_service.ts", import.meta.url).pathname;

/** One running echo instance. */
export interface EchoInstance extends AsyncDisposable {
  /** Its instance id. */
  readonly id: string;
  /** Its port. */
  readonly port: number;
  /** Its process. */
  readonly process: Deno.ChildProcess;
  /** Kills it with SIGKILL (no deregistration). */
  kill(): Promise<void>;
}

/** Options of {@link startEcho}. */
export interface StartEchoOptions {
  /** `FLOTILLA_REGISTRY`. */
  registry: string;
  /** Extra `--allow-net` entries (the registry's address). */
  net?: string[];
  /** The local registry's folder. */
  registryDir?: string;
  /** Port to listen on. @default {a free port} */
  port?: number;
  /** How long the instance stays listed without a heartbeat. */
  ttlMs?: number;
}

/** Starts one echo instance and waits until it answers `/readyz`. */
export async function startEcho(id: string, options: StartEchoOptions): Promise<EchoInstance> {
  const port = options.port ?? freePort();
  const flags = [
    "--no-prompt",
    `--allow-net=${["127.0.0.1:" + port, ...(options.net ?? [])].join(",")}`,
    "--allow-env",
  ];
  if (options.registryDir) {
    flags.push(`--allow-read=${options.registryDir}`, `--allow-write=${options.registryDir}`);
  }
  const env: Record<string, string> = {
    PORT: String(port),
    FLOTILLA_REGISTRY: options.registry,
    FLOTILLA_INSTANCE_ID: id,
    FLOTILLA_LOG_LEVEL: "warn",
  };
  if (options.registryDir) env.FLOTILLA_REGISTRY_DIR = options.registryDir;
  if (options.ttlMs) env.FLOTILLA_REGISTRY_TTL_MS = String(options.ttlMs);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, ECHO],
    env,
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  await waitFor(async () => {
    if (exited) throw new Error(`echo instance ${id} exited early`);
    const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
    await response?.body?.cancel();
    return response?.ok;
  }, { what: `echo instance ${id} to be ready` });
  const kill = async () => {
    if (!exited) {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }
    await status;
  };
  return { id, port, process: child, kill, [Symbol.asyncDispose]: kill };
}
