/**
 * Test support: service instances run as real processes
 * (`testdata/registered_server.ts`) that register themselves, and the
 * kill-and-restart scenario run against the local and etcd registries.
 * Private to the package.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { TextLineStream } from "@flotilla/testing";
import type { Registry, ServiceInstance } from "./registry.ts";
import { ids, nextMatching } from "./_shared_conformance.ts";

const FIXTURE = fileURLToPath(new URL("./testdata/registered_server.ts", import.meta.url));
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Where and how instance processes register. */
export interface InstanceTarget {
  /** The registry URL handed to `openRegistry` (`local`, `etcd://…`). */
  registryUrl: string;
  /** The `local` registry's folder, when that is the target. */
  localDir?: string;
  /** The TTL each instance registers with, in milliseconds. */
  ttlMs: number;
  /** The hosts the process may connect to (`--allow-net`). @default {"127.0.0.1"} */
  allowNet?: string;
  /** Extra environment of the process (e.g. `HTTP_PROXY`). */
  env?: Record<string, string>;
}

/** A running instance process. Dispose it to stop it (SIGTERM: it deregisters). */
export interface InstanceProcess extends AsyncDisposable {
  /** Its instance id. */
  readonly id: string;
  /** The port it serves on. */
  readonly port: number;
  /** Kills it with SIGKILL: it neither deregisters nor renews any more. */
  kill(): Promise<Deno.CommandStatus>;
}

/** Starts an instance process of `service` with id `id`, once it has registered. */
export async function startInstance(
  target: InstanceTarget,
  service: string,
  id: string,
): Promise<InstanceProcess> {
  const permissions = [`--allow-net=${target.allowNet ?? "127.0.0.1"}`];
  if (target.localDir !== undefined) {
    permissions.push(`--allow-read=${target.localDir}`, `--allow-write=${target.localDir}`);
  }
  const args = [
    "run",
    "--quiet",
    "--no-prompt",
    ...permissions,
    FIXTURE,
    target.registryUrl,
    service,
    id,
    String(target.ttlMs),
    ...(target.localDir === undefined ? [] : [target.localDir]),
  ];
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: REPO_ROOT,
    ...(target.env === undefined ? {} : { env: target.env }),
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(
    new TextLineStream(),
  ).getReader();
  const first = await lines.read();
  await lines.cancel();
  const match = /^ready (\d+)$/.exec(first.value ?? "");
  if (match === null) {
    child.kill("SIGKILL");
    const status = await child.status;
    throw new Error(`Instance ${id} did not start (exit code ${status.code})`);
  }
  let status: Promise<Deno.CommandStatus> | undefined;
  const stop = (signal: Deno.Signal) => {
    if (status === undefined) {
      try {
        child.kill(signal);
      } catch {
        // already exited
      }
      status = child.status;
    }
    return status;
  };
  return {
    id,
    port: Number(match[1]),
    kill: () => stop("SIGKILL"),
    async [Symbol.asyncDispose]() {
      await stop("SIGTERM");
    },
  };
}

function same(a: Record<string, number>, b: Record<string, number>): boolean {
  const sorted = (r: Record<string, number>) => JSON.stringify(Object.entries(r).sort());
  return sorted(a) === sorted(b);
}

function portsById(instances: readonly ServiceInstance[]): Record<string, number> {
  return Object.fromEntries(instances.map((i) => [i.id, i.port]));
}

/**
 * The scenario of the issue, discovery half: three instances of a test
 * service register; one is killed with SIGKILL and disappears from
 * discovery (within its TTL — the wait is a hang guard, not a timing
 * assertion); restarted, it is listed again with its new port. `observer`
 * watches from this process.
 */
export async function testKillAndRestart(
  observer: Registry,
  target: InstanceTarget,
): Promise<void> {
  const service = `echo${crypto.randomUUID().slice(0, 8)}`;
  const processes = new Map<string, InstanceProcess>();
  const controller = new AbortController();
  const watch = observer.watch(service, { signal: controller.signal })[Symbol.asyncIterator]();
  try {
    await nextMatching(watch, () => true, "the first list");
    for (const id of ["echo-1", "echo-2", "echo-3"]) {
      processes.set(id, await startInstance(target, service, id));
    }
    const expected = () => Object.fromEntries([...processes].map(([id, p]) => [id, p.port]));
    const all = await nextMatching(
      watch,
      (list) => same(portsById(list), expected()),
      "three instances",
    );
    // Discovery hands out addresses that really serve the instance.
    for (const instance of all) {
      const response = await fetch(`http://${instance.address}:${instance.port}/`);
      assert.equal(await response.text(), instance.id);
    }

    const victim = processes.get("echo-2")!;
    const status = await victim.kill();
    assert.equal(status.signal, "SIGKILL");
    processes.delete("echo-2");
    const survivors = await nextMatching(
      watch,
      (list) => ids(list).join() === "echo-1,echo-3",
      "the killed instance to disappear",
    );
    assert.deepEqual(portsById(survivors), expected());

    processes.set("echo-2", await startInstance(target, service, "echo-2"));
    const back = await nextMatching(
      watch,
      (list) => same(portsById(list), expected()),
      "the restarted instance to come back",
    );
    assert.deepEqual(portsById(back), expected());
    assert.deepEqual(portsById(await observer.instances(service)), expected());
  } finally {
    controller.abort();
    await watch.return?.();
    await Promise.all([...processes.values()].map((p) => p[Symbol.asyncDispose]()));
  }
}
