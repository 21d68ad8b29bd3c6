import assert from "node:assert/strict";
import { join } from "node:path";
import { ADMIN_TOKEN_FILE, adminHandler, type AdminTarget } from "./_admin_api.ts";
import { tempDir } from "./_test_util.ts";
import { ServiceStartError, SupervisorNotRunningError, UnknownServiceError } from "./errors.ts";
import { lockDataRoot } from "./lock.ts";
import { type ServiceStatus, STATUS_FILE } from "./status.ts";
import { SupervisorClient } from "./supervisor_client.ts";

const payment: ServiceStatus = {
  name: "payment",
  service: "payment",
  instance: "payment-1",
  pid: 4242,
  port: 40001,
  state: "running",
  restarts: 0,
  url: "http://127.0.0.1:40001",
  startedAt: "2025-01-01T00:00:00.000Z",
};

const fake: AdminTarget = {
  services: () => [payment],
  stopService: (name) =>
    name === "payment"
      ? Promise.resolve({ ...payment, pid: null, state: "stopped" })
      : Promise.reject(new UnknownServiceError(name, ["payment"])),
  startService: () =>
    Promise.reject(
      new ServiceStartError("payment", "its process exited with code 3 before it was ready", {
        logTail: ["boom"],
      }),
    ),
  restartService: () => Promise.reject(new SupervisorNotRunningError("It is stopping")),
};

/** A data root as a live supervisor leaves it, served by `fake`. */
async function liveDataRoot(dataRoot: string, token = "t0ken") {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    adminHandler(fake, { token }),
  );
  const lock = await lockDataRoot(dataRoot);
  await Deno.writeTextFile(
    join(dataRoot, STATUS_FILE),
    JSON.stringify({
      pid: Deno.pid,
      system: "shop",
      startedAt: "",
      adminUrl: `http://127.0.0.1:${server.addr.port}`,
      services: [payment],
    }),
  );
  await Deno.writeTextFile(join(dataRoot, ADMIN_TOKEN_FILE), `${token}\n`);
  return {
    server,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await lock.release();
    },
  };
}

Deno.test("SupervisorClient.connect() throws SupervisorNotRunningError when no supervisor runs", async () => {
  await using dir = await tempDir();
  await assert.rejects(() => SupervisorClient.connect(dir.path), {
    name: "SupervisorNotRunningError",
    message:
      `Cannot reach the supervisor as none is running on data folder "${dir.path}": start one with "flotilla up" (or "deno task start")`,
  });
  // A status file left by a supervisor that is gone (it no longer holds the lock).
  {
    await using _live = await liveDataRoot(dir.path);
  }
  await assert.rejects(() => SupervisorClient.connect(dir.path), SupervisorNotRunningError);
});

Deno.test("SupervisorClient talks to the control API and rebuilds its errors", async () => {
  await using dir = await tempDir();
  await using live = await liveDataRoot(dir.path);
  const client = await SupervisorClient.connect(dir.path);
  assert.equal(client.adminUrl, `http://127.0.0.1:${live.server.addr.port}`);
  assert.deepEqual(await client.services(), [payment]);
  assert.deepEqual(await client.stopService("payment"), {
    ...payment,
    pid: null,
    state: "stopped",
  });
  await assert.rejects(() => client.stopService("ghost"), (error) => {
    assert.ok(error instanceof UnknownServiceError);
    assert.equal(error.service, "ghost");
    assert.equal(error.message, 'Cannot find service "ghost": the supervisor runs payment');
    return true;
  });
  await assert.rejects(() => client.startService("payment"), (error) => {
    assert.ok(error instanceof ServiceStartError);
    assert.equal(error.service, "payment");
    assert.equal(
      error.message,
      'Cannot start "payment" as its process exited with code 3 before it was ready',
    );
    assert.deepEqual(error.logTail, ["boom"]);
    return true;
  });
  await assert.rejects(() => client.restartService("payment"), {
    name: "SupervisorNotRunningError",
    message: "It is stopping",
  });
});

Deno.test("SupervisorClient fails clearly with a wrong token or a supervisor that is gone", async () => {
  await using dir = await tempDir();
  let adminUrl: string;
  {
    await using live = await liveDataRoot(dir.path);
    adminUrl = `http://127.0.0.1:${live.server.addr.port}`;
    const wrong = new SupervisorClient(adminUrl, { token: "guess" });
    await assert.rejects(() => wrong.stopService("payment"), {
      message: "The control API needs the bearer token of the supervisor's data folder",
      code: "UNAUTHORIZED",
      status: 401,
    });
  }
  const late = new SupervisorClient(adminUrl, { token: "t0ken" });
  await assert.rejects(() => late.services(), SupervisorNotRunningError);
});

Deno.test("SupervisorClient() throws RangeError on an adminUrl that is not http", () => {
  for (const adminUrl of ["", "127.0.0.1:4000", "https://127.0.0.1:4000", "ftp://127.0.0.1"]) {
    assert.throws(() => new SupervisorClient(adminUrl, { token: "t" }), RangeError);
  }
});
