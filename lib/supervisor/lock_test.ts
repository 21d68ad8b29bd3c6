import assert from "node:assert/strict";
import { join } from "node:path";
import { DataRootLockedError } from "./errors.ts";
import { LOCK_FILE, lockDataRoot, lockHolder } from "./lock.ts";
import { tempDir } from "./_test_util.ts";

Deno.test("lockDataRoot() creates the folder and records the pid", async () => {
  await using dir = await tempDir();
  const root = join(dir.path, "nested", "root");
  await using _lock = await lockDataRoot(root, { pid: 4242 });
  assert.equal(await Deno.readTextFile(join(root, LOCK_FILE)), "4242\n");
});

Deno.test("lockDataRoot() refuses while another holder is alive, naming its pid", async () => {
  await using dir = await tempDir();
  const root = dir.path;
  await using _first = await lockDataRoot(root, { pid: 4242 });
  await assert.rejects(() => lockDataRoot(root), (error) => {
    assert.ok(error instanceof DataRootLockedError);
    assert.equal(error.pid, 4242);
    assert.equal(error.code, "DATA_ROOT_LOCKED");
    assert.match(error.message, /another supervisor \(pid 4242\) is running on data folder/);
    return true;
  });
});

Deno.test("lockDataRoot() can be taken again once released", async () => {
  await using dir = await tempDir();
  const root = dir.path;
  const first = await lockDataRoot(root);
  await first.release();
  await first.release(); // idempotent
  await using _second = await lockDataRoot(root);
});

Deno.test("lockDataRoot() takes over a lock file left by a dead supervisor", async () => {
  await using dir = await tempDir();
  const root = dir.path;
  await Deno.writeTextFile(join(root, LOCK_FILE), "999999999\n");
  await using _lock = await lockDataRoot(root);
  assert.equal(await Deno.readTextFile(join(root, LOCK_FILE)), `${Deno.pid}\n`);
});

Deno.test("lockDataRoot() takes over when the holding process is killed", async () => {
  await using dir = await tempDir();
  const root = dir.path;
  const holder = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./testdata/hold_lock.ts", import.meta.url).href,
      root,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = holder.stdout.getReader();
  try {
    await reader.read(); // "locked"
    await assert.rejects(() => lockDataRoot(root), DataRootLockedError);
    assert.equal(await lockHolder(root), holder.pid);
  } finally {
    holder.kill("SIGKILL");
    await holder.status;
    reader.releaseLock();
    await holder.stdout.cancel();
  }
  assert.equal(await lockHolder(root), undefined);
  await using _lock = await lockDataRoot(root);
});

Deno.test("lockHolder() names the pid of the live holder, or undefined", async () => {
  await using dir = await tempDir();
  assert.equal(await lockHolder(dir.path), undefined); // no lock file
  const lock = await lockDataRoot(dir.path, { pid: 4242 });
  assert.equal(await lockHolder(dir.path), 4242);
  assert.equal(await lockHolder(dir.path), 4242); // probing does not take the lock
  await lock.release();
  assert.equal(await lockHolder(dir.path), undefined);
  await Deno.writeTextFile(join(dir.path, LOCK_FILE), "4242\n"); // left by a dead supervisor
  assert.equal(await lockHolder(dir.path), undefined);
});

Deno.test("lockDataRoot() is not refused because of a concurrent lockHolder() probe", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(join(dir.path, LOCK_FILE), "");
  using probe = await Deno.open(join(dir.path, LOCK_FILE), { read: true });
  await probe.lock(false); // a probe caught in the act
  const locking = lockDataRoot(dir.path);
  setTimeout(() => probe.unlock(), 30);
  await using _lock = await locking;
});
