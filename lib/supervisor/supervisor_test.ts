import assert from "node:assert/strict";
import { join } from "node:path";

import { isProcessAlive, tempDir, until } from "./_test_util.ts";
import { ADMIN_TOKEN_FILE } from "./_admin_api.ts";
import {
  DataRootLockedError,
  InvalidSettingError,
  ServiceStartError,
  SupervisorNotRunningError,
  UnknownServiceError,
} from "./errors.ts";
import { formatStatusJson } from "./format_status.ts";
import { lockDataRoot } from "./lock.ts";
import { readStatus } from "./status.ts";
import { Supervisor, type SupervisorEvent, type SupervisorOptions } from "./supervisor.ts";
import type { SystemPlan } from "./plan.ts";
import { crashing, fixture, registered, stubborn } from "./testdata/plans.ts";

function supervise(plan: SystemPlan, dataRoot: string, options: SupervisorOptions = {}) {
  const events: SupervisorEvent[] = [];
  const supervisor = new Supervisor(plan, {
    dataRoot,
    // The public service takes a free port rather than 8080; beta finds alpha by URL.
    env: { ...Deno.env.toObject(), PORT: "0", FLOTILLA_REGISTRY: "static" },
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

/** The arguments of process `pid` (Linux; tests run with --allow-all). */
function commandLine(pid: number): string[] {
  return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").filter(Boolean);
}

/** The value of flag `--<name>=` in the command line of `pid`, split on commas. */
function flag(pid: number, name: string): string[] | undefined {
  const found = commandLine(pid).find((arg) => arg.startsWith(`--${name}=`));
  return found?.slice(name.length + 3).split(",");
}

/** The environment of process `pid`. */
function environment(pid: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of Deno.readTextFileSync(`/proc/${pid}/environ`).split("\0")) {
    const eq = entry.indexOf("=");
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url);
  assert.equal(response.status, 200, `${url} answered ${response.status}`);
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

Deno.test({
  name: "Supervisor runs replicas on their own ports and instance ids, and restarts each alone",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using dir = await tempDir();
    const { supervisor, events } = supervise(fixture, dir.path, {
      env: {
        ...Deno.env.toObject(),
        PORT: "0",
        FLOTILLA_REGISTRY: "static",
        FLOTILLA_REPLICAS_ALPHA: "2",
      },
    });
    await using _ = supervisor;
    await supervisor.start();

    const services = supervisor.services();
    assert.deepEqual(services.map((s) => [s.name, s.service, s.instance, s.state, s.restarts]), [
      ["beta", "beta", "beta-1", "running", 0],
      ["alpha", "alpha", "alpha-1", "running", 0],
      ["alpha-2", "alpha", "alpha-2", "running", 0],
    ]);
    assert.equal(new Set(services.map((s) => s.port)).size, 3);
    // Both replicas were ready before beta, their dependent, started.
    const readyOrder = events.flatMap((e) => e.type === "ready" ? [e.service] : []);
    assert.equal(readyOrder.at(-1), "beta");
    // The five keys of `flotilla status --json` stay as they are.
    assert.deepEqual(
      JSON.parse(formatStatusJson((await readStatus(dir.path))!.services)).map((
        s: Record<string, unknown>,
      ) => [Object.keys(s).join(), s.name]),
      [
        ["name,pid,port,state,restarts", "beta"],
        ["name,pid,port,state,restarts", "alpha"],
        ["name,pid,port,state,restarts", "alpha-2"],
      ],
    );

    const [beta, alpha, alpha2] = services as [
      typeof services[0],
      typeof services[0],
      typeof services[0],
    ];
    // beta may reach every replica of alpha, and is told their URLs (static registry).
    assert.deepEqual(flag(beta.pid!, "allow-net"), [
      `127.0.0.1:${beta.port}`,
      `127.0.0.1:${alpha.port}`,
      `127.0.0.1:${alpha2.port}`,
    ]);
    assert.equal(environment(beta.pid!).FLOTILLA_PEER_ALPHA_URL, `${alpha.url},${alpha2.url}`);
    // The replicas share alpha's data folder, each with its own id.
    for (const [replica, id] of [[alpha, "alpha-1"], [alpha2, "alpha-2"]] as const) {
      const env = environment(replica.pid!);
      assert.equal(env.FLOTILLA_DATA_DIR, join(dir.path, "alpha"));
      assert.equal(env.FLOTILLA_INSTANCE_ID, id);
      assert.equal(env.FLOTILLA_REGISTRY, "static");
      assert.deepEqual(flag(replica.pid!, "allow-read"), [
        join(dir.path, "alpha"),
        join(dir.path, "config"),
      ]);
      assert.equal(env.FLOTILLA_CONFIG, `file:${join(dir.path, "config", "alpha.json")}`);
      assert.match(env.FLOTILLA_CONFIG_TOKEN ?? "", /^[0-9a-f]{64}$/);
      assert.deepEqual(flag(replica.pid!, "allow-net"), [`127.0.0.1:${replica.port}`]);
    }
    // (The replicas counted their boots in one file at once: the count is theirs to race.)
    assert.equal(((await call(beta.url, "hello")) as { text: string }).text, "hello from beta");

    // A crashed replica is restarted on its own port; the other runs on.
    Deno.kill(alpha2.pid!, "SIGKILL");
    await until(() => {
      const now = service(supervisor, "alpha-2");
      return now.state === "running" && now.restarts === 1;
    }, "alpha-2 is restarted");
    assert.equal(service(supervisor, "alpha-2").port, alpha2.port);
    assert.deepEqual(service(supervisor, "alpha"), alpha);
    assert.ok(await Deno.stat(join(dir.path, "logs", "alpha-2.log")));

    await supervisor.stop();
    const stopped = events.flatMap((e) => e.type === "stopped" ? [e.service] : []);
    assert.equal(stopped[0], "beta");
    assert.deepEqual(stopped.slice(1).sort(), ["alpha", "alpha-2"]);
    for (const s of services) assert.ok(!isProcessAlive(s.pid!));
  },
});

Deno.test({
  name: "Supervisor.stopService() keeps a process stopped until startService() brings it back",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using dir = await tempDir();
    const { supervisor, events } = supervise(fixture, dir.path, {
      env: {
        ...Deno.env.toObject(),
        PORT: "0",
        FLOTILLA_REGISTRY: "static",
        FLOTILLA_REPLICAS_ALPHA: "2",
      },
      // A crash would be restarted at once: a stopped process must not be.
      backoff: { initialMs: 1, maxMs: 1, jitter: 0 },
    });
    await using _ = supervisor;
    await supervisor.start();
    const before = service(supervisor, "alpha-2");

    const stopped = await supervisor.stopService("alpha-2");
    assert.deepEqual(stopped, { ...before, pid: null, state: "stopped" });
    assert.ok(!isProcessAlive(before.pid!));
    const stopEvent = events.findLast((e) => e.type === "stopped");
    assert.deepEqual(
      stopEvent?.type === "stopped" &&
        [stopEvent.service, stopEvent.code, stopEvent.forced, stopEvent.requested],
      ["alpha-2", 0, false, true],
    );
    const eventsAtStop = events.length;
    // Much more happens than a restart would take: still stopped, never respawned.
    const restarted = await supervisor.restartService("alpha");
    assert.equal(restarted.state, "running");
    assert.equal(restarted.restarts, 1);
    assert.deepEqual(service(supervisor, "alpha-2"), stopped);
    assert.ok(
      !events.slice(eventsAtStop).some((e) => e.type === "spawned" && e.service === "alpha-2"),
    );
    await until(async () => {
      const row = (await readStatus(dir.path))?.services[2];
      return row?.state === "stopped" && row.pid === null &&
        service(supervisor, "alpha").state === "running";
    }, "the status file shows alpha-2 stopped");
    // Stopping a stopped process does nothing.
    assert.deepEqual(await supervisor.stopService("alpha-2"), stopped);

    const started = await supervisor.startService("alpha-2");
    assert.equal(started.state, "running");
    assert.equal(started.port, before.port);
    assert.equal(started.restarts, 1);
    assert.ok(started.pid !== null && started.pid !== before.pid && isProcessAlive(started.pid));
    // It booted on the shared data folder after alpha's restart did.
    const { boots } = await call(restarted.url, "boots") as { boots: number };
    assert.deepEqual(await call(started.url, "boots"), { boots: boots + 1 });
    // Starting a running process leaves it as it is; an instance id names it too.
    assert.deepEqual(await supervisor.startService("alpha-2"), started);
    const again = await supervisor.restartService("alpha-2");
    assert.equal(again.restarts, 2);
    assert.notEqual(again.pid, started.pid);
  },
});

Deno.test({
  name: "Supervisor.startService() rejects with ServiceStartError and leaves a process failed",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using dir = await tempDir();
    const { supervisor } = supervise(registered, dir.path, {
      startTimeoutMs: 3_000,
      backoff: { initialMs: 50, maxMs: 100 },
    });
    await using _ = supervisor;
    await supervisor.start();
    await supervisor.stopService("back");
    await Deno.writeTextFile(join(dir.path, "back", "refuse-start"), "");
    await assert.rejects(() => supervisor.startService("back-1"), (error) => {
      assert.ok(error instanceof ServiceStartError);
      assert.equal(error.service, "back");
      assert.ok(error.logTail.some((line) => line.includes("back fixture: refusing to start")));
      return true;
    });
    assert.equal(service(supervisor, "back").state, "failed");
    assert.equal(service(supervisor, "back-2").state, "running");
    assert.equal(supervisor.state, "running");
    await Deno.remove(join(dir.path, "back", "refuse-start"));
    assert.equal((await supervisor.startService("back")).state, "running");
  },
});

Deno.test("Supervisor control methods refuse an unknown name or a supervisor that is not running", async () => {
  await using dir = await tempDir();
  const { supervisor } = supervise(fixture, dir.path);
  await assert.rejects(() => supervisor.stopService("alpha"), {
    name: "SupervisorNotRunningError",
    message: 'Cannot control the services of "fixture" as its supervisor is idle',
  });
  await supervisor.start();
  for (
    const control of [supervisor.stopService, supervisor.startService, supervisor.restartService]
  ) {
    await assert.rejects(() => control.call(supervisor, "ghost"), (error) => {
      assert.ok(error instanceof UnknownServiceError);
      assert.equal(error.message, 'Cannot find service "ghost": the supervisor runs beta, alpha');
      return true;
    });
  }
  await supervisor.stop();
  await assert.rejects(() => supervisor.startService("alpha"), SupervisorNotRunningError);
});

Deno.test({
  name: "Supervisor with the local registry gives every process its folder, id and exact flags",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using dir = await tempDir();
    const env: Record<string, string | undefined> = {
      ...Deno.env.toObject(),
      FLOTILLA_PEER_BACK_URL: "http://stale:1",
      FLOTILLA_REGISTRY: undefined, // the default: local
    };
    const { supervisor } = supervise(registered, dir.path, { env });
    await using _ = supervisor;
    assert.equal(supervisor.registry, "local");
    await supervisor.start();
    const registryDir = join(dir.path, "registry");
    assert.ok((await Deno.stat(registryDir)).isDirectory);

    const [front, back1, back2] = supervisor.services() as [
      ReturnType<Supervisor["services"]>[0],
      ReturnType<Supervisor["services"]>[0],
      ReturnType<Supervisor["services"]>[0],
    ];
    assert.deepEqual([front.name, back1.name, back2.name], ["front", "back", "back-2"]);
    for (const process of [front, back1, back2]) {
      const childEnv = environment(process.pid!);
      assert.equal(childEnv.FLOTILLA_REGISTRY, "local");
      assert.equal(childEnv.FLOTILLA_REGISTRY_DIR, registryDir);
      assert.equal(childEnv.FLOTILLA_INSTANCE_ID, process.instance);
      assert.deepEqual(
        Object.keys(childEnv).filter((name) => name.startsWith("FLOTILLA_PEER_")),
        [],
      );
      assert.ok(flag(process.pid!, "allow-env")!.includes("FLOTILLA_REGISTRY_DIR"));
      assert.ok(!commandLine(process.pid!).some((arg) => arg === "-A" || arg === "--allow-all"));
    }
    // front may reach every instance of back, and the registry's folder.
    assert.deepEqual(flag(front.pid!, "allow-net"), [
      `127.0.0.1:${front.port}`,
      `127.0.0.1:${back1.port}`,
      `127.0.0.1:${back2.port}`,
    ]);
    assert.deepEqual(flag(front.pid!, "allow-read"), [registryDir, join(dir.path, "config")]);
    assert.deepEqual(flag(front.pid!, "allow-write"), [registryDir]);
    for (const back of [back1, back2]) {
      assert.deepEqual(flag(back.pid!, "allow-net"), [`127.0.0.1:${back.port}`]);
      assert.deepEqual(flag(back.pid!, "allow-read"), [
        join(dir.path, "back"),
        registryDir,
        join(dir.path, "config"),
      ]);
      assert.deepEqual(flag(back.pid!, "allow-write"), [join(dir.path, "back"), registryDir]);
    }
    assert.deepEqual(await getJson(`${front.url}/probe`), {
      writeRegistry: "allowed",
      writeOutside: "denied",
      readStatus: "denied",
      readHome: "denied",
    });

    // Each registered itself in the shared registry; a graceful stop deregisters.
    const peers = () => getJson(`${front.url}/peers/back`);
    await until(
      async () => JSON.stringify(await peers()) === '["back-1","back-2"]',
      "front sees both replicas of back",
    );
    await supervisor.stopService("back-2");
    await until(
      async () => JSON.stringify(await peers()) === '["back-1"]',
      "back-2 leaves the registry",
    );
    await supervisor.startService("back-2");
    await until(
      async () => JSON.stringify(await peers()) === '["back-1","back-2"]',
      "back-2 is back in the registry",
    );
  },
});

Deno.test({
  name: "Supervisor grants a server registry's address and gives no peer URLs",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const cases = [
      ["etcd://127.0.0.1:23790", "127.0.0.1:23790"],
      ["consul://localhost", "localhost:8500"],
      ["dns://[::1]:5353?domain=svc.test", "[::1]:5353"],
    ];
    for (const [registry, grant] of cases) {
      await using dir = await tempDir();
      const { supervisor } = supervise(registered, dir.path, {
        env: { ...Deno.env.toObject(), FLOTILLA_REGISTRY: registry, FLOTILLA_REPLICAS_BACK: "1" },
      });
      await using _ = supervisor;
      await supervisor.start();
      const [front, back] = supervisor.services();
      assert.deepEqual(flag(front!.pid!, "allow-net"), [
        `127.0.0.1:${front!.port}`,
        `127.0.0.1:${back!.port}`,
        grant,
      ], registry);
      assert.deepEqual(flag(back!.pid!, "allow-net"), [`127.0.0.1:${back!.port}`, grant]);
      // Read only of the configuration's folder, nothing else.
      assert.deepEqual(flag(front!.pid!, "allow-read"), [join(dir.path, "config")]);
      assert.deepEqual(flag(back!.pid!, "allow-read"), [
        join(dir.path, "back"),
        join(dir.path, "config"),
      ]);
      const childEnv = environment(front!.pid!);
      assert.equal(childEnv.FLOTILLA_REGISTRY, registry);
      assert.equal(childEnv.FLOTILLA_REGISTRY_DIR, undefined);
      assert.equal(childEnv.FLOTILLA_PEER_BACK_URL, undefined);
      await assert.rejects(() => Deno.stat(join(dir.path, "registry")), Deno.errors.NotFound);
    }
  },
});

Deno.test("Supervisor() throws InvalidSettingError on a bad registry, replica count or admin port", () => {
  const bad: [Record<string, string>, string, RegExp][] = [
    [{ FLOTILLA_REGISTRY: "zookeeper://h:1" }, "FLOTILLA_REGISTRY", /FLOTILLA_REGISTRY must be/],
    [
      { FLOTILLA_REPLICAS_ALPHA: "0" },
      "FLOTILLA_REPLICAS_ALPHA",
      /^Cannot start the supervisor as FLOTILLA_REPLICAS_ALPHA must be an integer 1-16: current value is "0"$/,
    ],
    [{ FLOTILLA_REPLICAS_ALPHA: "two" }, "FLOTILLA_REPLICAS_ALPHA", /must be an integer 1-16/],
    [{ FLOTILLA_REPLICAS_ALPHA: "17" }, "FLOTILLA_REPLICAS_ALPHA", /must be an integer 1-16/],
    [
      { FLOTILLA_REPLICAS_ALPHAA: "2" },
      "FLOTILLA_REPLICAS_ALPHAA",
      /^Cannot start the supervisor as FLOTILLA_REPLICAS_ALPHAA names no service of "fixture": its services are beta, alpha$/,
    ],
    [{ FLOTILLA_ADMIN_PORT: "http" }, "FLOTILLA_ADMIN_PORT", /must be an integer 0-65535/],
  ];
  for (const [env, variable, message] of bad) {
    assert.throws(() => new Supervisor(fixture, { env }), (error) => {
      assert.ok(error instanceof InvalidSettingError, variable);
      assert.ok(error instanceof RangeError);
      assert.equal(error.variable, variable);
      assert.match(error.message, message);
      return true;
    });
  }
  assert.throws(() => new Supervisor(fixture, { adminPort: -1 }), RangeError);
  assert.throws(() => new Supervisor(fixture, { registry: "nope" }), InvalidSettingError);
  // An override may not give a replica another service's name.
  const plan: SystemPlan = {
    name: "s",
    services: [
      { contract: { name: "api" }, entry: "./api.ts" },
      { contract: { name: "api-2" }, entry: "./api2.ts" },
    ],
  };
  assert.throws(() => new Supervisor(plan, { env: { FLOTILLA_REPLICAS_API: "2" } }), {
    name: "RangeError",
    message:
      'Cannot plan system "s" as replica 2 of "api" would be named "api-2", which is another service\'s name',
  });
  assert.equal(new Supervisor(plan, { env: { FLOTILLA_REPLICAS_API: "" } }).registry, "local");
});

Deno.test("Supervisor serves its control API on the loopback, with a token, while it runs", async () => {
  await using dir = await tempDir();
  const { supervisor } = supervise(fixture, dir.path);
  await using _ = supervisor;
  await supervisor.start();
  const adminUrl = supervisor.adminUrl!;
  assert.match(adminUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal((await readStatus(dir.path))?.adminUrl, adminUrl);
  const tokenFile = join(dir.path, ADMIN_TOKEN_FILE);
  assert.equal((await Deno.stat(tokenFile)).mode! & 0o777, 0o600);
  const token = (await Deno.readTextFile(tokenFile)).trim();
  const api = (method: string, path: string, headers: Record<string, string> = {}) =>
    fetch(`${adminUrl}${path}`, { method, headers });
  const authorized = { authorization: `Bearer ${token}` };

  const denied = await api("POST", "/api/services/alpha/stop");
  assert.equal(denied.status, 401);
  assert.equal(denied.headers.get("content-type"), "application/problem+json");
  assert.equal((await denied.json()).code, "UNAUTHORIZED");
  assert.equal(service(supervisor, "alpha").state, "running");

  const list = await api("GET", "/api/services", authorized);
  assert.equal(list.status, 200);
  assert.deepEqual(await list.json(), supervisor.services());

  const stop = await api("POST", "/api/services/alpha/stop", authorized);
  assert.equal(stop.status, 200);
  assert.equal((await stop.json()).state, "stopped");
  assert.equal(service(supervisor, "alpha").state, "stopped");
  const start = await api("POST", "/api/services/alpha-1/start", authorized);
  assert.equal(start.status, 200);
  assert.deepEqual(await start.json(), service(supervisor, "alpha"));
  const restart = await api("POST", "/api/services/beta/restart", authorized);
  assert.equal(restart.status, 200);
  assert.equal((await restart.json()).restarts, 1);

  const unknown = await api("POST", "/api/services/ghost/restart", authorized);
  assert.equal(unknown.status, 404);
  assert.deepEqual(await unknown.json(), {
    type: "urn:flotilla:problem:service-not-found",
    title: "Service not found",
    status: 404,
    detail: 'Cannot find service "ghost": the supervisor runs beta, alpha',
    code: "SERVICE_NOT_FOUND",
    service: "ghost",
  });

  await supervisor.stop();
  assert.equal(supervisor.adminUrl, null);
  assert.equal((await readStatus(dir.path, { isAlive: () => true }))?.adminUrl, null);
  await assert.rejects(() => Deno.stat(tokenFile), Deno.errors.NotFound);
  await assert.rejects(() => api("GET", "/api/services", authorized));
});

Deno.test("Supervisor.start() fails clearly when FLOTILLA_ADMIN_PORT is in use", async () => {
  await using dir = await tempDir();
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  const { supervisor, events } = supervise(fixture, dir.path, {
    env: { ...Deno.env.toObject(), PORT: "0", FLOTILLA_ADMIN_PORT: String(port) },
  });
  await assert.rejects(() => supervisor.start(), {
    message:
      `Cannot serve the supervisor's control API on 127.0.0.1:${port} as the port is in use: set FLOTILLA_ADMIN_PORT to a free port, or unset it to take any`,
  });
  assert.equal(supervisor.state, "stopped");
  assert.ok(!events.some((e) => e.type === "spawned"));
  await using _lock = await lockDataRoot(dir.path); // released
});
