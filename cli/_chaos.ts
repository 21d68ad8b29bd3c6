// Internal to the CLI.

import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parseConfigUrl } from "@flotilla/config";
import { type ChaosConfig, type ChaosSide, parseChaosConfig } from "@flotilla/chaos";
import { EtcdGateway, fromBase64, toBase64 } from "@flotilla/discovery/etcd-gateway";
import { resolveDataRoot } from "@flotilla/supervisor";
import { ValidationError } from "@flotilla/core";
import type { Io } from "./_io.ts";

/** The verbs of `flotilla chaos`. */
export const CHAOS_VERBS = ["list", "add", "remove", "clear", "enable", "disable"] as const;

/** One of {@link CHAOS_VERBS}. */
export type ChaosVerb = typeof CHAOS_VERBS[number];

/** Where the `chaos` section of a service's dynamic configuration lives. */
export type ChaosLocation =
  | { type: "file"; path: string }
  | { type: "etcd"; endpoint: string; key: string };

/**
 * Where `service`'s configuration is, from `FLOTILLA_CONFIG` as the
 * supervisor reads it: `file` (default) → `<dataRoot>/config/<service>.json`;
 * `file:<path>` → that file; `etcd://host:port[/prefix/]` → the key
 * `<prefix>chaos`, prefix `/flotilla/config/<service>/` by default.
 */
export function chaosLocation(
  service: string,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): ChaosLocation {
  const url = parseConfigUrl(env.FLOTILLA_CONFIG);
  if (url.type === "file") {
    if (url.path !== undefined) return { type: "file", path: resolve(cwd, url.path) };
    return {
      type: "file",
      path: join(resolveDataRoot(env, cwd), "config", `${service}.json`),
    };
  }
  let prefix = url.prefix ?? `/flotilla/config/${service}/`;
  if (!prefix.endsWith("/")) prefix += "/";
  return { type: "etcd", endpoint: url.endpoint, key: `${prefix}chaos` };
}

/** Reads the `chaos` section now at `location` (undefined when there is none). */
export async function readChaos(location: ChaosLocation): Promise<unknown> {
  if (location.type === "file") {
    const document = await readDocument(location.path);
    return document.chaos;
  }
  const etcd = new EtcdGateway({ endpoint: location.endpoint, requestTimeoutMs: 5_000 });
  const answer = await etcd.call<{ kvs?: { value?: string }[] }>("/v3/kv/range", {
    key: toBase64(location.key),
  });
  const value = answer.kvs?.[0]?.value;
  return value === undefined ? undefined : JSON.parse(fromBase64(value));
}

/**
 * Writes the `chaos` section at `location`: the file is read, changed and
 * replaced atomically (a temporary file in its folder, then a rename, so the
 * watching service never reads half a file); in etcd, one put of the key.
 */
export async function writeChaos(location: ChaosLocation, chaos: ChaosConfig): Promise<void> {
  if (location.type === "file") {
    const document = await readDocument(location.path);
    document.chaos = chaos;
    await Deno.mkdir(dirname(location.path), { recursive: true });
    const temp = `${location.path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
    try {
      await Deno.writeTextFile(temp, JSON.stringify(document, null, 2) + "\n");
      await Deno.rename(temp, location.path);
    } catch (error) {
      await Deno.remove(temp).catch(() => {});
      throw error;
    }
    return;
  }
  const etcd = new EtcdGateway({ endpoint: location.endpoint, requestTimeoutMs: 5_000 });
  await etcd.call("/v3/kv/put", {
    key: toBase64(location.key),
    value: toBase64(JSON.stringify(chaos)),
  });
}

async function readDocument(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return {};
    throw error;
  }
  if (text.trim() === "") return {};
  const parsed = JSON.parse(text);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${path} does not hold a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

/** Options of {@link chaos}. */
export interface ChaosCommandOptions {
  /** Where to write. */
  io: Io;
  /** The environment: FLOTILLA_DATA_DIR, FLOTILLA_CONFIG. */
  env: Readonly<Record<string, string | undefined>>;
  /** The working directory. */
  cwd: string;
}

/** The usage text of `flotilla chaos`. */
export const CHAOS_USAGE = `  flotilla chaos list --service <s> [--json]
  flotilla chaos add --service <s> [--id <id>] [--peer <glob>] [--action <glob>]
                     [--instance <glob>] [--side client|server|bus-publish|bus-consume]
                     [--percentage <0-100>] [--seed <n>] <fault>
      <fault> is one of: --latency <ms> | --error <CODE|status> (e.g. UNAVAILABLE, 503)
      | --abort before_send|after_send | --drop | --duplicate <n> | --reorder <ms>
  flotilla chaos remove --service <s> <id>
  flotilla chaos clear --service <s>
  flotilla chaos enable|disable --service <s> [<id>]
      Change the fault-injection rules of a running service (its dynamic
      configuration's chaos section): no restart. Without an id, enable and
      disable flip the master switch.`;

/**
 * `flotilla chaos <verb> …`: reads, changes and writes the chaos section of
 * a service's dynamic configuration. Returns the exit code: 0 ok, 1 runtime
 * error, 2 usage error.
 */
export async function chaos(
  args: readonly string[],
  options: ChaosCommandOptions,
): Promise<number> {
  const { io } = options;
  const usage = (message: string) => {
    io.err(`flotilla: chaos: ${message}`);
    io.err(`Run "flotilla --help" for usage.`);
    return 2;
  };
  const [verb, ...rest] = args;
  if (verb === undefined) {
    return usage("missing command (list, add, remove, clear, enable, disable)");
  }
  if (!(CHAOS_VERBS as readonly string[]).includes(verb)) return usage(`unknown command "${verb}"`);
  const { values, positionals } = parseArgs({
    args: [...rest],
    options: {
      service: { type: "string", short: "s" },
      json: { type: "boolean" },
      id: { type: "string" },
      peer: { type: "string" },
      action: { type: "string" },
      instance: { type: "string" },
      side: { type: "string", multiple: true },
      percentage: { type: "string" },
      seed: { type: "string" },
      latency: { type: "string" },
      error: { type: "string" },
      abort: { type: "string" },
      drop: { type: "boolean" },
      duplicate: { type: "string" },
      reorder: { type: "string" },
    },
    strict: true,
    allowPositionals: true,
  });
  const service = values.service;
  if (service === undefined || service === "") return usage(`${verb}: missing --service <name>`);
  const location = chaosLocation(service, options.env, options.cwd);
  const current = await parseChaosConfig((await readChaos(location)) ?? {});
  const id = positionals[0];
  if (positionals.length > (verb === "list" || verb === "add" || verb === "clear" ? 0 : 1)) {
    return usage(`${verb}: unexpected argument '${positionals.at(-1)}'`);
  }
  let next: unknown;
  switch (verb as ChaosVerb) {
    case "list":
      if (values.json) {
        io.out(JSON.stringify(current, null, 2));
        return 0;
      }
      io.out(
        `chaos of ${service}: ${current.enabled ? "enabled" : "disabled"}, seed ${current.seed}, ${
          describeLocation(location)
        }`,
      );
      if (current.rules.length === 0) io.out("  no rules");
      for (const rule of current.rules) {
        io.out(
          `  ${rule.id}  ${
            rule.enabled ? "on " : "off"
          }  ${rule.percentage}%  service=${rule.service} peer=${rule.peer} action=${rule.action}${
            rule.instance === "*" ? "" : ` instance=${rule.instance}`
          }${rule.side ? ` side=${rule.side.join(",")}` : ""}  ${JSON.stringify(rule.fault)}`,
        );
      }
      return 0;
    case "add": {
      const faults = [
        values.latency !== undefined,
        values.error !== undefined,
        values.abort !== undefined,
        values.drop === true,
        values.duplicate !== undefined,
        values.reorder !== undefined,
      ].filter(Boolean).length;
      if (faults !== 1) {
        return usage(
          "add: give exactly one fault: --latency, --error, --abort, --drop, --duplicate or --reorder",
        );
      }
      const fault = faultOf(values);
      const ruleId = values.id ?? nextId(current, values.peer ?? "any", fault.type);
      if (current.rules.some((rule) => rule.id === ruleId)) {
        return usage(
          `add: a rule "${ruleId}" exists already; remove it first or give another --id`,
        );
      }
      const rule = {
        id: ruleId,
        service,
        ...(values.peer === undefined ? {} : { peer: values.peer }),
        ...(values.action === undefined ? {} : { action: values.action }),
        ...(values.instance === undefined ? {} : { instance: values.instance }),
        ...(values.side === undefined ? {} : { side: values.side as ChaosSide[] }),
        ...(values.percentage === undefined ? {} : { percentage: Number(values.percentage) }),
        fault,
      };
      next = {
        ...current,
        enabled: true,
        ...(values.seed === undefined ? {} : { seed: Number(values.seed) }),
        rules: [...current.rules, rule],
      };
      break;
    }
    case "remove":
      if (id === undefined) return usage("remove: missing rule id");
      if (!current.rules.some((rule) => rule.id === id)) {
        io.err(`flotilla: chaos: ${service} has no rule "${id}"`);
        return 1;
      }
      next = { ...current, rules: current.rules.filter((rule) => rule.id !== id) };
      break;
    case "clear":
      next = { ...current, enabled: false, rules: [] };
      break;
    case "enable":
    case "disable": {
      const enabled = verb === "enable";
      if (id === undefined) {
        next = { ...current, enabled };
        break;
      }
      if (!current.rules.some((rule) => rule.id === id)) {
        io.err(`flotilla: chaos: ${service} has no rule "${id}"`);
        return 1;
      }
      next = {
        ...current,
        ...(enabled ? { enabled: true } : {}),
        rules: current.rules.map((rule) => rule.id === id ? { ...rule, enabled } : rule),
      };
      break;
    }
  }
  let checked: ChaosConfig;
  try {
    checked = await parseChaosConfig(next);
  } catch (error) {
    if (error instanceof ValidationError) {
      return usage(
        `${verb}: invalid rule: ${error.issues.map((i) => `${i.pointer} ${i.message}`).join("; ")}`,
      );
    }
    throw error;
  }
  await writeChaos(location, checked);
  io.out(
    `chaos of ${service}: ${verb} done (${checked.rules.length} rule${
      checked.rules.length === 1 ? "" : "s"
    }, ${checked.enabled ? "enabled" : "disabled"}) in ${describeLocation(location)}`,
  );
  return 0;
}

function faultOf(values: {
  latency?: string | undefined;
  error?: string | undefined;
  abort?: string | undefined;
  drop?: boolean | undefined;
  duplicate?: string | undefined;
  reorder?: string | undefined;
}): { type: string } & Record<string, unknown> {
  if (values.latency !== undefined) {
    return { type: "latency", latency: { type: "fixed", ms: Number(values.latency) } };
  }
  if (values.error !== undefined) {
    const raw = values.error.trim();
    return /^\d+$/.test(raw)
      ? { type: "error", status: Number(raw) }
      : { type: "error", code: raw.toUpperCase() };
  }
  if (values.abort !== undefined) return { type: "abort", phase: values.abort };
  if (values.drop) return { type: "drop" };
  if (values.duplicate !== undefined) {
    return { type: "duplicate", copies: Number(values.duplicate) };
  }
  return { type: "reorder", latency: { type: "fixed", ms: Number(values.reorder) } };
}

function nextId(current: ChaosConfig, peer: string, type: string): string {
  const base = `${peer.replace(/[^A-Za-z0-9_-]+/g, "_")}-${type}`;
  let id = base;
  for (let n = 2; current.rules.some((rule) => rule.id === id); n++) id = `${base}-${n}`;
  return id;
}

function describeLocation(location: ChaosLocation): string {
  return location.type === "file" ? location.path : `etcd ${location.endpoint} key ${location.key}`;
}
