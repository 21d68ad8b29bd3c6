/**
 * A lock so that two supervisors never run on the same data root.
 *
 * @module
 */

import { join } from "node:path";
import { DataRootLockedError } from "./errors.ts";

/** The lock file in the data root; it holds the pid of the supervisor that owns it. */
export const LOCK_FILE = "supervisor.pid";

/** A held lock on a data root. Dispose it (or call `release()`) to let it go. */
export interface DataRootLock extends AsyncDisposable {
  /** Path of the lock file. */
  readonly path: string;
  /** Releases the lock. Idempotent. */
  release(): Promise<void>;
}

/** Options of {@link lockDataRoot}. */
export interface LockDataRootOptions {
  /** The pid written in the lock file. @default {Deno.pid} */
  pid?: number;
}

/**
 * Takes the lock of `dataRoot` (creating the folder), or throws if a live
 * supervisor holds it.
 *
 * The lock is an exclusive advisory lock (`flock`) on
 * `<dataRoot>/supervisor.pid`, which also records the owner's pid. The
 * operating system drops the lock when its owner dies, however it dies, so a
 * lock file left by a crashed supervisor is taken over — no check of pids
 * needed, and a reused pid never blocks a start.
 *
 * @example
 * ```ts
 * await using lock = await lockDataRoot("/srv/shop/.flotilla");
 * ```
 *
 * @throws {DataRootLockedError} when another live process holds the lock.
 */
export async function lockDataRoot(
  dataRoot: string,
  options: LockDataRootOptions = {},
): Promise<DataRootLock> {
  const pid = options.pid ?? Deno.pid;
  await Deno.mkdir(dataRoot, { recursive: true });
  const path = join(dataRoot, LOCK_FILE);
  for (let attempt = 0; attempt < 5; attempt++) {
    const file = await Deno.open(path, { read: true, write: true, create: true });
    let locked: boolean;
    try {
      locked = await file.tryLock(true);
    } catch (error) {
      file.close();
      throw error;
    }
    if (!locked) {
      file.close();
      // A `lockHolder()` probe holds the lock for an instant; a supervisor holds it for good.
      if (attempt < 4) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        continue;
      }
      throw new DataRootLockedError(dataRoot, await readPid(path));
    }
    // Someone may have replaced the file between open and lock; the lock
    // counts only if it is on the file the path names now.
    const [held, current] = [await file.stat(), await Deno.stat(path).catch(() => undefined)];
    if (current === undefined || current.ino !== held.ino || current.dev !== held.dev) {
      file.close();
      continue;
    }
    await file.truncate(0);
    await writeAll(file, new TextEncoder().encode(`${pid}\n`));
    return heldLock(path, file);
  }
  throw new DataRootLockedError(dataRoot, await readPid(path));
}

/**
 * The pid of the live supervisor that holds the lock of `dataRoot`, or
 * `undefined` when none does (or its pid cannot be read yet). It probes the
 * lock itself — for an instant, with a shared lock — so it needs only read
 * access, works without `/proc`, and a reused pid never fools it.
 *
 * @example
 * ```ts
 * const pid = await lockHolder("/srv/shop/.flotilla");
 * console.log(pid === undefined ? "not running" : `running as pid ${pid}`);
 * ```
 */
export async function lockHolder(dataRoot: string): Promise<number | undefined> {
  const path = join(dataRoot, LOCK_FILE);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  try {
    if (await file.tryLock(false)) {
      await file.unlock();
      return undefined;
    }
  } finally {
    file.close();
  }
  return await readPid(path);
}

function heldLock(path: string, file: Deno.FsFile): DataRootLock {
  let released: Promise<void> | undefined;
  const release = () =>
    released ??= (async () => {
      try {
        await file.truncate(0);
        await file.unlock();
      } finally {
        file.close();
      }
    })();
  return { path, release, [Symbol.asyncDispose]: release };
}

async function readPid(path: string): Promise<number | undefined> {
  try {
    const pid = Number((await Deno.readTextFile(path)).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}
