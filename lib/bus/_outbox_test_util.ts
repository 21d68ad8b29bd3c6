/**
 * Helpers of the outbox, relay and inbox tests. Private to the package.
 *
 * @module
 */

import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import type { ManualTimers } from "@flotilla/resilience";
import { openDatabase } from "@flotilla/sqlite";
import type { CloudEvent } from "./cloud_event.ts";

/** A temporary directory, removed on dispose. */
export interface TempDir extends AsyncDisposable {
  /** Its path. */
  readonly path: string;
  /** A path inside it. */
  file(name: string): string;
}

/** Creates a temporary directory. */
export async function tempDir(): Promise<TempDir> {
  const path = await Deno.makeTempDir({ prefix: "flotilla-outbox-" });
  return {
    path,
    file: (name) => join(path, name),
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true });
    },
  };
}

/** The state table of the tests' "service": one row per order. */
export const ORDERS_SCHEMA =
  "CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, customer TEXT NOT NULL)";

/** The consumer's state table: how many times each event took effect. */
export const EFFECTS_SCHEMA =
  "CREATE TABLE IF NOT EXISTS effects (id TEXT PRIMARY KEY, n INTEGER NOT NULL)";

/** Opens a service database with the orders table. */
export function openOrders(path: string): DatabaseSync {
  return openDatabase(path, { schema: ORDERS_SCHEMA });
}

/** Opens a consumer database with the effects table. */
export function openEffects(path: string): DatabaseSync {
  return openDatabase(path, { schema: EFFECTS_SCHEMA });
}

/** Adds one effect of `id` (to be run inside the inbox's transaction). */
export function addEffect(db: DatabaseSync, id: string): void {
  db.prepare(
    "INSERT INTO effects (id, n) VALUES (?, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1",
  ).run(id);
}

/** The effects counted per id. */
export function readEffects(db: DatabaseSync): Map<string, number> {
  const out = new Map<string, number>();
  for (const row of db.prepare("SELECT id, n FROM effects").all()) {
    out.set(String(row.id), Number(row.n));
  }
  return out;
}

/** An order event with a fixed id, about `customer` (its ordering key). */
export function orderEvent(id: string, customer: string, n = 0): CloudEvent<{ n: number }> {
  return {
    specversion: "1.0",
    id,
    source: "/flotilla/test/order",
    type: "order.created",
    subject: customer,
    time: "2025-01-01T00:00:00.000Z",
    datacontenttype: "application/json",
    data: { n },
  };
}

/** Lets pending promise callbacks and I/O run. */
export function macrotask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Awaits `promise`, moving `timers` forward by `stepMs` between turns of the
 * event loop until it settles (fails after `maxSteps`).
 */
export async function drive<T>(
  timers: ManualTimers,
  promise: Promise<T>,
  stepMs = 10,
  maxSteps = 20_000,
): Promise<T> {
  let settled = false;
  promise.then(() => settled = true, () => settled = true);
  for (let step = 0; step < maxSteps && !settled; step++) {
    await macrotask();
    if (!settled) timers.advance(stepMs);
  }
  if (!settled) throw new Error(`drive(): the promise did not settle within ${maxSteps} steps`);
  return await promise;
}

/** Turns the event loop until `predicate` holds (fails after `maxTurns`). */
export async function until(predicate: () => boolean, maxTurns = 10_000): Promise<void> {
  for (let turn = 0; turn < maxTurns; turn++) {
    if (predicate()) return;
    await macrotask();
  }
  throw new Error(`until(): the condition did not hold within ${maxTurns} turns`);
}

/** A gate that calls wait on until it is opened. */
export class Gate {
  #open = true;
  #waiters: Array<() => void> = [];

  /** Whether calls pass. */
  get isOpen(): boolean {
    return this.#open;
  }

  /** Makes calls wait. */
  close(): void {
    this.#open = false;
  }

  /** Lets every waiting and later call through. */
  open(): void {
    this.#open = true;
    for (const resolve of this.#waiters.splice(0)) resolve();
  }

  /** Resolves when the gate is open. */
  pass(): Promise<void> {
    if (this.#open) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

/** A child process of a crash test, its stdout read line by line. */
export interface Child extends AsyncDisposable {
  /** The process. */
  readonly process: Deno.ChildProcess;
  /** Resolves with the first stdout line that starts with one of `prefixes` (undefined at EOF). */
  line(...prefixes: string[]): Promise<string | undefined>;
  /** Kills it with SIGKILL (if still running) and waits for it to exit. */
  kill(): Promise<Deno.CommandStatus>;
}

/** Runs `script` (a path relative to this folder) under Deno with `config` as its JSON argument. */
export function spawnChild(script: string, config: unknown): Child {
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      new URL(script, import.meta.url).pathname,
      JSON.stringify(config),
    ],
    cwd: new URL("../../", import.meta.url).pathname,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let done = false;
  const line = async (...prefixes: string[]): Promise<string | undefined> => {
    for (;;) {
      const newline = buffer.indexOf("\n");
      if (newline >= 0) {
        const next = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (prefixes.some((prefix) => next.startsWith(prefix))) return next;
        continue;
      }
      if (done) return undefined;
      const chunk = await reader.read();
      if (chunk.done) done = true;
      else buffer += chunk.value;
    }
  };
  const kill = async () => {
    try {
      process.kill("SIGKILL");
    } catch {
      // already exited
    }
    const status = await process.status;
    await reader.cancel().catch(() => {});
    return status;
  };
  return { process, line, kill, [Symbol.asyncDispose]: async () => void await kill() };
}
