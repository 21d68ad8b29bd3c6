// Internal to the CLI.

import { join } from "node:path";
import { readStatus, resolveDataRoot } from "@flotilla/supervisor";
import type { Io } from "./_io.ts";

/** The file in the data root with the bearer token of the services' `GET /config`. */
const CONFIG_TOKEN_FILE = "config.token";

/** Options of {@link configGet}. */
export interface ConfigGetOptions {
  /** The service (every replica of it), or one replica (`payment-2`). */
  name: string;
  /** Where to write. */
  io: Io;
  /** The environment, for FLOTILLA_DATA_DIR. */
  env: Readonly<Record<string, string | undefined>>;
  /** The working directory, for the default data root. */
  cwd: string;
}

/**
 * `flotilla config get <service>`: prints the `GET /config` of the service's
 * running processes — one document, or one per replica keyed by name — asked
 * with the token the supervisor keeps in `<dataRoot>/config.token`. Returns
 * the exit code: 0 ok, 1 when no supervisor runs, the name is unknown or a
 * process does not answer.
 */
export async function configGet(options: ConfigGetOptions): Promise<number> {
  const { io, name } = options;
  const dataRoot = resolveDataRoot(options.env, options.cwd);
  const status = await readStatus(dataRoot);
  if (status === undefined) {
    io.err(`flotilla: no supervisor runs on ${dataRoot}`);
    return 1;
  }
  const targets = status.services.filter((s) =>
    s.name === name || s.instance === name || s.service === name
  );
  if (targets.length === 0) {
    io.err(
      `flotilla: unknown service "${name}"; known: ${
        status.services.map((s) => s.name).join(", ")
      }`,
    );
    return 1;
  }
  let token: string;
  try {
    token = (await Deno.readTextFile(join(dataRoot, CONFIG_TOKEN_FILE))).trim();
  } catch (error) {
    io.err(
      `flotilla: cannot read ${join(dataRoot, CONFIG_TOKEN_FILE)}: ${(error as Error).message}`,
    );
    return 1;
  }
  const out: Record<string, unknown> = {};
  let failed = false;
  for (const target of targets) {
    try {
      const response = await fetch(`${target.url}/config`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(5_000),
      });
      const body = await response.json().catch(() => undefined);
      if (!response.ok) {
        io.err(`flotilla: ${target.name} answered ${response.status}: ${JSON.stringify(body)}`);
        failed = true;
        continue;
      }
      out[target.name] = body;
    } catch (error) {
      io.err(`flotilla: cannot reach ${target.name} at ${target.url}: ${(error as Error).message}`);
      failed = true;
    }
  }
  const names = Object.keys(out);
  if (names.length === 1 && targets.length === 1) io.out(JSON.stringify(out[names[0]!], null, 2));
  else if (names.length > 0) io.out(JSON.stringify(out, null, 2));
  return failed ? 1 : 0;
}
