import assert from "node:assert/strict";
import { KeyedMutex } from "./keyed_mutex.ts";

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => resolve = r);
  return { promise, resolve };
}

Deno.test("KeyedMutex.run() serialises work on one key in arrival order", async () => {
  const mutex = new KeyedMutex();
  const log: string[] = [];
  const gate = deferred();
  const first = mutex.run("k", async () => {
    log.push("first:start");
    await gate.promise;
    log.push("first:end");
  });
  const second = mutex.run("k", () => {
    log.push("second");
  });
  await Promise.resolve();
  await Promise.resolve();
  assert.deepEqual(log, ["first:start"]);
  gate.resolve();
  await Promise.all([first, second]);
  assert.deepEqual(log, ["first:start", "first:end", "second"]);
  assert.equal(mutex.size, 0);
});

Deno.test("KeyedMutex.run() lets different keys run concurrently", async () => {
  const mutex = new KeyedMutex();
  const gate = deferred();
  const log: string[] = [];
  const a = mutex.run("a", async () => {
    await gate.promise;
    log.push("a");
  });
  const b = mutex.run("b", () => {
    log.push("b");
  });
  await b;
  assert.deepEqual(log, ["b"]);
  gate.resolve();
  await a;
  assert.deepEqual(log, ["b", "a"]);
});

Deno.test("KeyedMutex.run() releases the key when work throws", async () => {
  const mutex = new KeyedMutex();
  await assert.rejects(mutex.run("k", () => Promise.reject(new Error("boom"))), /boom/);
  assert.equal(await mutex.run("k", () => 42), 42);
  assert.equal(mutex.size, 0);
});

Deno.test("KeyedMutex.run() holds the key while work is queued", async () => {
  const mutex = new KeyedMutex();
  const gate = deferred();
  const first = mutex.run("k", () => gate.promise);
  const second = mutex.run("k", () => "done");
  assert.equal(mutex.size, 1);
  gate.resolve();
  assert.equal(await second, "done");
  await first;
  assert.equal(mutex.size, 0);
});
