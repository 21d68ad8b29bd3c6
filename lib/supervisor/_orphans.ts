// Internal helper; not exported by mod.ts.

import { delay } from "./_delay.ts";

/** A service process a previous supervisor recorded: its pid and the port it served. */
export interface Leftover {
  /** Its pid. */
  pid: number;
  /** The port it listened on. */
  port: number;
}

const decoder = new TextDecoder();

/**
 * The state and command line of process `pid`, from `ps`; `undefined` when
 * there is no such process — or no `ps` to ask.
 */
async function processInfo(pid: number): Promise<{ state: string; args: string } | undefined> {
  try {
    const { code, stdout } = await new Deno.Command("ps", {
      args: ["-o", "stat=", "-o", "args=", "-p", String(pid)],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    const line = decoder.decode(stdout).trim();
    if (code !== 0 || line === "") return undefined;
    const space = line.search(/\s/);
    return space === -1
      ? { state: line, args: "" }
      : { state: line.slice(0, space), args: line.slice(space).trim() };
  } catch {
    return undefined;
  }
}

/**
 * Whether `leftover` is still a live service process a supervisor started:
 * a `deno run --no-prompt` granted network access to its recorded port. An
 * unrelated process that reused the pid never matches.
 */
async function isLeftover(leftover: Leftover): Promise<boolean> {
  const info = await processInfo(leftover.pid);
  if (info === undefined || info.state.startsWith("Z")) return false;
  return info.args.includes(" --no-prompt ") &&
    new RegExp(`--allow-net=(\\S*,)?\\S+:${leftover.port}(,|\\s)`).test(info.args);
}

/**
 * Stops the service processes a supervisor left running when it died:
 * SIGTERM, then SIGKILL after `timeoutMs`. Returns the pids it stopped.
 */
export async function stopOrphans(
  leftovers: readonly Leftover[],
  timeoutMs: number,
): Promise<number[]> {
  const orphans: Leftover[] = [];
  for (const leftover of leftovers) {
    if (await isLeftover(leftover)) orphans.push(leftover);
  }
  if (orphans.length === 0) return [];
  const running = async () => {
    const alive: Leftover[] = [];
    for (const orphan of orphans) if (await isLeftover(orphan)) alive.push(orphan);
    return alive;
  };
  const signal = (alive: readonly Leftover[], name: Deno.Signal) => {
    for (const { pid } of alive) {
      try {
        Deno.kill(pid, name);
      } catch {
        // Already gone.
      }
    }
  };
  const waitGone = async (ms: number) => {
    const deadline = Date.now() + ms;
    let alive = await running();
    while (alive.length > 0 && Date.now() < deadline) {
      await delay(100);
      alive = await running();
    }
    return alive;
  };
  signal(orphans, "SIGTERM");
  signal(await waitGone(timeoutMs), "SIGKILL");
  await waitGone(2_000);
  return orphans.map(({ pid }) => pid);
}
