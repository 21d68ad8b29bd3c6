// Internal to the CLI.

import {
  formatStatusJson,
  formatStatusTable,
  readStatus,
  resolveDataRoot,
} from "@flotilla/supervisor";
import type { Io } from "./_io.ts";

/** Options of {@link status}. */
export interface StatusCommandOptions {
  /** Print the JSON array instead of the table. */
  json: boolean;
  /** Where to write. */
  io: Io;
  /** The environment, for FLOTILLA_DATA_DIR. */
  env: Readonly<Record<string, string | undefined>>;
  /** The working directory, for the default data root. */
  cwd: string;
}

/** `flotilla status [--json]`: the services of the supervisor of the data root. */
export async function status(options: StatusCommandOptions): Promise<number> {
  const dataRoot = resolveDataRoot(options.env, options.cwd);
  const current = await readStatus(dataRoot);
  const services = current?.services ?? [];
  if (options.json) options.io.out(formatStatusJson(services));
  else if (current !== undefined) options.io.out(formatStatusTable(services));
  return 0;
}
