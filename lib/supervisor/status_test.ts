import assert from "node:assert/strict";
import { join } from "node:path";
import { readStatus, STATUS_FILE, type SupervisorStatus } from "./status.ts";
import { tempDir } from "./_test_util.ts";
import { lockDataRoot } from "./lock.ts";

const status: SupervisorStatus = {
  pid: 1234,
  system: "shop",
  startedAt: "2025-01-01T00:00:00.000Z",
  adminUrl: "http://127.0.0.1:41000",
  services: [
    {
      name: "gateway",
      service: "gateway",
      instance: "gateway-1",
      pid: 2000,
      port: 8080,
      state: "running",
      restarts: 0,
      url: "http://127.0.0.1:8080",
      startedAt: "2025-01-01T00:00:01.000Z",
    },
    {
      name: "order-2",
      service: "order",
      instance: "order-2",
      pid: null,
      port: 40001,
      state: "restarting",
      restarts: 2,
      url: "http://127.0.0.1:40001",
      startedAt: "2025-01-01T00:00:02.000Z",
      grpcPort: 40002,
    },
  ],
};

async function write(root: string, content: unknown): Promise<void> {
  await Deno.writeTextFile(
    join(root, STATUS_FILE),
    typeof content === "string" ? content : JSON.stringify(content),
  );
}

Deno.test("readStatus() returns the file as written while its supervisor is alive", async () => {
  await using dir = await tempDir();
  await write(dir.path, status);
  const seen: number[] = [];
  const read = await readStatus(dir.path, { isAlive: (pid) => (seen.push(pid), true) });
  assert.deepEqual(read, status);
  assert.deepEqual(seen, [1234]);
});

Deno.test("readStatus() reports every service stopped once its supervisor is dead", async () => {
  await using dir = await tempDir();
  await write(dir.path, status);
  const read = await readStatus(dir.path, { isAlive: () => false });
  assert.deepEqual(
    read?.services.map(({ name, pid, state, restarts, port }) => ({
      name,
      pid,
      state,
      restarts,
      port,
    })),
    [
      { name: "gateway", pid: null, state: "stopped", restarts: 0, port: 8080 },
      { name: "order-2", pid: null, state: "stopped", restarts: 2, port: 40001 },
    ],
  );
  assert.equal(read?.adminUrl, null);
});

Deno.test("readStatus() reads a status file written before replicas and the control API", async () => {
  await using dir = await tempDir();
  const { adminUrl: _, ...old } = status;
  await write(dir.path, {
    ...old,
    services: old.services.map(({ service: _s, instance: _i, ...rest }) => rest),
  });
  const read = await readStatus(dir.path, { isAlive: () => true });
  assert.equal(read?.adminUrl, null);
  assert.deepEqual(read?.services.map((s) => [s.name, s.service, s.instance]), [
    ["gateway", "gateway", "gateway"],
    ["order-2", "order-2", "order-2"],
  ]);
});

Deno.test("readStatus() trusts the status only while its writer holds the data root's lock", async () => {
  await using dir = await tempDir();
  await write(dir.path, { ...status, pid: 4242 });
  const state = async () => (await readStatus(dir.path))?.services[0]?.state;
  assert.equal(await state(), "stopped");
  {
    await using _lock = await lockDataRoot(dir.path, { pid: 4242 });
    assert.equal(await state(), "running");
  }
  assert.equal(await state(), "stopped");
  await using _other = await lockDataRoot(dir.path, { pid: 5151 });
  assert.equal(await state(), "stopped");
});

Deno.test("readStatus() returns undefined when there is no status file", async () => {
  await using dir = await tempDir();
  assert.equal(await readStatus(dir.path), undefined);
  assert.equal(await readStatus(join(dir.path, "missing")), undefined);
});

Deno.test("readStatus() throws SyntaxError on a malformed file", async () => {
  await using dir = await tempDir();
  for (
    const content of [
      "{",
      "[]",
      { pid: 1 },
      { ...status, services: [{ name: "a", pid: 1, port: 1, state: "dancing", restarts: 0 }] },
    ]
  ) {
    await write(dir.path, content);
    await assert.rejects(() => readStatus(dir.path, { isAlive: () => true }), SyntaxError);
  }
});
