/**
 * Drives a running shop's dynamic configuration from tests: the
 * `flotilla chaos` and `flotilla config get` commands, run in-process.
 *
 * @module
 */

import { join } from "node:path";
import { main } from "../../cli/flotilla.ts";
import { waitFor } from "@flotilla/testing";
import type { Shop } from "./shop.ts";

/** What a command printed and returned. */
export interface CliResult {
  /** Exit code. */
  code: number;
  /** Lines on stdout, joined. */
  out: string;
  /** Lines on stderr, joined. */
  err: string;
}

/** Runs `flotilla <args>` against the shop's data folder. */
export async function flotilla(shop: Shop, args: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, {
    io: { out: (line) => out.push(line), err: (line) => err.push(line) },
    env: { FLOTILLA_DATA_DIR: shop.dataDir },
    cwd: shop.dataDir,
  });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

/** The `GET /config` document of a service (the part the tests read). */
export interface ConfigDoc {
  version: number;
  source: string;
  values: {
    logLevel?: string;
    policies?: Record<string, unknown>;
    chaos?: { enabled: boolean; rules: { id: string }[] };
  };
  stats: { accepted: number; rejected: number; sourceErrors: number };
  lastError: { code: string; message: string } | null;
}

/** `flotilla config get <service>`, parsed. */
export async function configOf(shop: Shop, service: string): Promise<ConfigDoc> {
  const result = await flotilla(shop, ["config", "get", service]);
  if (result.code !== 0) throw new Error(`config get ${service} failed: ${result.err}`);
  return JSON.parse(result.out);
}

/** The watched configuration file of a service under the supervisor. */
export function configFile(shop: Shop, service: string): string {
  return join(shop.dataDir, "config", `${service}.json`);
}

/** Replaces a service's configuration file atomically (temporary file, then rename). */
export async function writeConfigFile(shop: Shop, service: string, value: unknown): Promise<void> {
  const path = configFile(shop, service);
  const temp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  await Deno.writeTextFile(temp, typeof value === "string" ? value : JSON.stringify(value));
  await Deno.rename(temp, path);
}

/**
 * Makes the shop's inventory refuse every `release` (server side, through
 * `flotilla chaos add`, rule id `no-release`) and waits until it follows the
 * rule: a declined order's compensation then keeps failing, and its checkout
 * parks as NEEDS_ATTENTION.
 */
export async function refuseReleases(shop: Shop): Promise<void> {
  const added = await flotilla(shop, [
    "chaos",
    "add",
    "--service",
    "inventory",
    "--id",
    "no-release",
    "--side",
    "server",
    "--action",
    "release",
    "--error",
    "UNAVAILABLE",
    "--percentage",
    "100",
  ]);
  if (added.code !== 0) throw new Error(`flotilla chaos add failed: ${added.err}`);
  await waitFor(async () => {
    const config = await configOf(shop, "inventory");
    return config.values.chaos?.rules.some((r) => r.id === "no-release") ?? false;
  }, { what: "inventory to load the chaos rule" });
}
