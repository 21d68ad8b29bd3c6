import assert from "node:assert/strict";
import { join } from "node:path";

import { isProcessAlive, tempDir, until } from "./_test_util.ts";
import { DataRootLockedError, ServiceStartError } from "./errors.ts";
import { lockDataRoot } from "./lock.ts";
import { readStatus } from "./status.ts";
import { Supervisor, type SupervisorEvent, type SupervisorOptions } from "./supervisor.ts";
import type { SystemPlan } from "./plan.ts";
import { crashing, fixture, stubborn } from "./testdata/plans.ts";

function supervise(plan: SystemPlan, dataRoot: string, options: SupervisorOptions = {}) {
  const events: SupervisorEvent[] = [];
  const supervisor = new Supervisor(plan, {
    dataRoot,
    // The public service takes a free port rather than 8080.
    env: { ...Deno.env.toObject(), PORT: "0" },
    onEvent: (event) => events.push(event),
    ...options,
  });
  return { supervisor, events };
}

async function call(url: string, action: string, input: unknown = {}): Promise<unknown> {
  const response = await fetch(`${url}/rpc/${action}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(input),
  });
  assert.equal(response.status, 200, `${action} answered ${response.status}`);
  return await response.json();
}

function service(supervisor: Supervisor, name: string) {
  const found = supervisor.services().find((s) => s.name === name);
  assert.ok(found, `no service ${name}`);
  return found;
}

Deno.test("Supervisor runs each service with least privilege, restarts a killed one and stops all", async () => {
  await using dir = await tempDir();
  const { supervisor, events } = supervise(fixture, dir.path);
  await using _ = supervisor;
  await supervisor.start();
  assert.equal(supervisor.state, "running");

  // Peers start first; status lists plan order.
  assert.deepEqual(
    events.filter((e) => e.type === "ready").map((e) => e.type === "ready" && e.service),
    ["alpha", "beta"],
  );
  const services = supervisor.services();
  assert.deepEqual(services.map((s) => [s.name, s.state, s.restarts]), [
    ["beta", "running", 0],
    ["alpha", "running", 0],
  ]);
  for (const s of services) {
    assert.ok(s.pid !== null && isProcessAlive(s.pid));
    assert.equal(s.url, `http://127.0.0.1:${s.port}`);
  }
  assert.deepEqual((await readStatus(dir.path))?.services, services);

  // beta reaches its peer; alpha may do what it declared and nothing else.
  const beta = service(supervisor, "beta");
  const alpha = service(supervisor, "alpha");
  assert.deepEqual(await call(beta.url, "hello"), { text: "hello from beta", alphaBoots: 1 });
  assert.deepEqual(await call(alpha.url, "probe", { url: `${beta.url}/healthz` }), {
    greeting: "hi",
    readOutside: "denied",
    writeOutside: "denied",
    readEnvHome: "denied",
    fetchOther: "denied",
    run: "denied",
  });
  assert.equal(await Deno.readTextFile(join(dir.path, "alpha", "boots.txt")), "1");

  // A crash is followed by a restart on the same port.
  Deno.kill(alpha.pid!, "SIGKILL");
  await until(() => {
    const now = service(supervisor, "alpha");
    return now.state === "running" && now.restarts === 1;
  }, "alpha is restarted");
  const restarted = service(supervisor, "alpha");
  assert.notEqual(restarted.pid, alpha.pid);
  assert.equal(restarted.port, alpha.port);
  assert.ok(!isProcessAlive(alpha.pid!));
  assert.deepEqual(await call(restarted.url, "boots"), { boots: 2 });
  const crash = events.find((e) => e.type === "crashed");
  assert.ok(crash?.type === "crashed");
  assert.equal(crash.service, "alpha");
  assert.equal(crash.signal, "SIGKILL");
  await until(async () => {
    const status = await readStatus(dir.path);
    return status?.services[1]?.restarts === 1 && status.services[1].state === "running";
  }, "the status file shows the restart");

  // Stop: every process ends gracefully, the status says so, the lock is free.
  const pids = supervisor.services().map((s) => s.pid!);
  await supervisor.stop();
  assert.equal(supervisor.state, "stopped");
  for (const pid of pids) assert.ok(!isProcessAlive(pid));
  const stopped = events.filter((e) => e.type === "stopped");
  assert.deepEqual(stopped.map((e) => e.type === "stopped" && [e.service, e.code, e.forced]), [
    ["beta", 0, false],
    ["alpha", 0, false],
  ]);
  assert.deepEqual(
    (await readStatus(dir.path))?.services.map((s) => [s.name, s.pid, s.state, s.restarts]),
    [["beta", null, "stopped", 0], ["alpha", null, "stopped", 1]],
  );
  const log = await Deno.readTextFile(join(dir.path, "logs", "alpha.log"));
  assert.match(log, /"msg":"process exited".*"signal":"SIGKILL"/);
  await using _lock = await lockDataRoot(dir.path);
});

Deno.test("Supervisor keeps the data of a previous run", async () => {
  await using dir = await tempDir();
  for (const expected of [1, 2]) {
    await using supervisor = supervise(fixture, dir.path).supervisor;
    await supervisor.start();
    assert.deepEqual(await call(service(supervisor, "alpha").url, "boots"), { boots: expected });
  }
});

Deno.test("Supervisor.start() refuses a data root another supervisor runs on", async () => {
  await using dir = await tempDir();
  await using first = supervise(fixture, dir.path).supervisor;
  await first.start();
  const second = supervise(fixture, dir.path).supervisor;
  await assert.rejects(() => second.start(), DataRootLockedError);
  assert.equal(second.state, "stopped");
  assert.deepEqual(first.services().map((s) => s.state), ["running", "running"]);
  assert.deepEqual((await readStatus(dir.path))?.services.map((s) => s.state), [
    "running",
    "running",
  ]);
});

Deno.test("Supervisor.start() rejects with ServiceStartError when a service never gets ready", async () => {
  await using dir = await tempDir();
  const { supervisor, events } = supervise(crashing, dir.path, {
    startTimeoutMs: 4_000,
    backoff: { initialMs: 100, maxMs: 200 },
  });
  await using _ = supervisor;
  await assert.rejects(() => supervisor.start(), (error) => {
    assert.ok(error instanceof ServiceStartError);
    assert.equal(error.service, "crash");
    // Whether the deadline passes while a last attempt starts up is up to the machine.
    assert.match(
      error.message,
      /^Cannot start "crash" as (its process exited with code 3 before it was ready|it was not ready within 4000 ms; its process last exited with code 3) \(log: .*crash\.log\)$/,
    );
    assert.ok(error.logTail.some((line) => line.includes("crash fixture: cannot start")));
    return true;
  });
  assert.equal(supervisor.state, "stopped");
  assert.deepEqual(supervisor.services().map((s) => [s.name, s.state, s.pid]), [
    ["alpha", "stopped", null],
    ["crash", "failed", null],
  ]);
  assert.ok(events.some((e) => e.type === "crashed" && e.service === "crash" && e.code === 3));
  assert.ok(events.some((e) => e.type === "failed" && e.service === "crash"));
  const alphaStopped = events.find((e) => e.type === "stopped" && e.service === "alpha");
  assert.ok(alphaStopped?.type === "stopped" && !isProcessAlive(alphaStopped.pid));
});

Deno.test("Supervisor.stop() kills a service that outlives the stop timeout", async () => {
  await using dir = await tempDir();
  const { supervisor, events } = supervise(stubborn, dir.path, { stopTimeoutMs: 300 });
  await using _ = supervisor;
  await supervisor.start();
  const pid = supervisor.services()[0]!.pid!;
  await supervisor.stop();
  assert.ok(!isProcessAlive(pid));
  const stopped = events.find((e) => e.type === "stopped");
  assert.ok(stopped?.type === "stopped");
  assert.equal(stopped.forced, true);
  assert.equal(stopped.signal, "SIGKILL");
});

Deno.test("Supervisor.stop() during start() ends the start and leaves nothing running", async () => {
  await using dir = await tempDir();
  const spawned = Promise.withResolvers<number>();
  const { supervisor } = supervise(fixture, dir.path, {
    onEvent: (event) => event.type === "spawned" && spawned.resolve(event.pid),
  });
  const starting = supervisor.start();
  const pid = await spawned.promise;
  await supervisor.stop();
  await assert.rejects(() => starting, { name: "AbortError" });
  assert.ok(!isProcessAlive(pid));
  assert.deepEqual(supervisor.services().map((s) => s.state), ["stopped", "stopped"]);
  await supervisor.stop(); // idempotent
});

Deno.test("Supervisor() throws RangeError on a bad plan or option", () => {
  assert.throws(() => new Supervisor({ name: "empty", services: [] }), RangeError);
  assert.throws(() => new Supervisor(fixture, { startTimeoutMs: 0 }), {
    name: "RangeError",
    message:
      "Cannot create the supervisor as 'startTimeoutMs' must be a positive number: current value is 0",
  });
  assert.throws(() => new Supervisor(fixture, { backoff: { factor: 0 } }), RangeError);
});

Deno.test("Supervisor.stop() before start() does nothing", async () => {
  const supervisor = new Supervisor(fixture, { dataRoot: "/nonexistent/flotilla" });
  await supervisor.stop();
  assert.equal(supervisor.state, "stopped");
  await assert.rejects(() => supervisor.start(), /Cannot start the supervisor as it is stopped/);
});
