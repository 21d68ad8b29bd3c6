import assert from "node:assert/strict";
import { readStatus, type ServiceStatus } from "@flotilla/supervisor";
import { FIXTURE_PLAN, isAlive, tempDir, until } from "./_test_util.ts";

const CLI = new URL("./flotilla.ts", import.meta.url).href;
/** The permissions of `deno task start` and `deno task status`. */
const UP_PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env",
  "--allow-run",
];
const STATUS_PERMISSIONS = ["--allow-read", "--allow-env"];
/** The permissions of `deno task flotilla` (stop, start, restart, status). */
const CONTROL_PERMISSIONS = ["--allow-read", "--allow-env", "--allow-net=127.0.0.1"];

/** `flotilla up` as a subprocess, stopped (and its services with it) on dispose. */
class Up implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly dataRoot: string;
  stdout = "";
  stderr = "";
  readonly #pumps: Promise<unknown>;

  constructor(dataRoot: string, env: Record<string, string> = {}) {
    this.dataRoot = dataRoot;
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...UP_PERMISSIONS, CLI, "up", "--plan", FIXTURE_PLAN],
      // The fixture's beta finds alpha by URL: the static registry.
      env: { FLOTILLA_DATA_DIR: dataRoot, PORT: "0", FLOTILLA_REGISTRY: "static", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#pumps = Promise.all([
      this.child.stdout.pipeThrough(new TextDecoderStream()).pipeTo(
        new WritableStream({ write: (text) => void (this.stdout += text) }),
      ),
      this.child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
        new WritableStream({ write: (text) => void (this.stderr += text) }),
      ),
    ]);
  }

  /** Waits until stdout says the system is up. */
  async ready(): Promise<void> {
    let exited = false;
    this.child.status.then(() => exited = true);
    await until(
      () => exited || this.stdout.includes(" is up — "),
      "flotilla up reports the system up",
    );
    assert.ok(!exited, `flotilla up exited early:\n${this.stdout}\n${this.stderr}`);
  }

  /** Waits for the process to exit and its output to be read. */
  async exit(): Promise<Deno.CommandStatus> {
    const status = await this.child.status;
    await this.#pumps;
    return status;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    let exited = false;
    this.child.status.then(() => exited = true);
    if (!exited) {
      try {
        this.child.kill("SIGTERM");
      } catch { /* gone */ }
      await until(() => exited, "flotilla up exits", 40_000).catch(() => {
        this.child.kill("SIGKILL");
      });
    }
    await this.exit();
    // Whatever happened, leave none of its service processes behind.
    const status = await readStatus(this.dataRoot, { isAlive: () => true }).catch(() => undefined);
    if (status?.pid !== this.child.pid) return; // Another supervisor's services.
    for (const service of status.services) {
      if (service.pid !== null && isAlive(service.pid)) Deno.kill(service.pid, "SIGKILL");
    }
  }
}

async function statusCommand(dataRoot: string, ...args: string[]): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...STATUS_PERMISSIONS, CLI, "status", ...args],
    env: { FLOTILLA_DATA_DIR: dataRoot },
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  return new TextDecoder().decode(stdout);
}

/** `flotilla <args>` with the permissions of `deno task flotilla`. */
async function flotilla(
  dataRoot: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...CONTROL_PERMISSIONS, CLI, ...args],
    env: { FLOTILLA_DATA_DIR: dataRoot },
  }).output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

async function statusJson(dataRoot: string): Promise<Omit<ServiceStatus, "url" | "startedAt">[]> {
  return JSON.parse(await statusCommand(dataRoot, "--json"));
}

async function services(dataRoot: string): Promise<ServiceStatus[]> {
  return (await readStatus(dataRoot))?.services ?? [];
}

Deno.test({
  name: "flotilla up runs the plan, restarts a killed service and exits 0 on SIGTERM",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using dir = await tempDir();
    await using up = new Up(dir.path);
    await up.ready();

    const lines = up.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 3, up.stdout);
    assert.match(lines[0]!, /^beta {3}http:\/\/127\.0\.0\.1:\d+ {2,}\(pid \d+\)$/);
    assert.match(lines[1]!, /^alpha {2}http:\/\/127\.0\.0\.1:\d+ {2,}\(pid \d+\)$/);
    assert.equal(lines[2], `fixture is up — Ctrl-C to stop; logs in ${dir.path}/logs/`);

    const before = await statusJson(dir.path);
    assert.deepEqual(before.map((s) => Object.keys(s)), [
      ["name", "pid", "port", "state", "restarts"],
      ["name", "pid", "port", "state", "restarts"],
    ]);
    assert.deepEqual(before.map((s) => [s.name, s.state, s.restarts]), [
      ["beta", "running", 0],
      ["alpha", "running", 0],
    ]);
    const alpha = before[1]!;
    assert.ok(alpha.pid !== null && isAlive(alpha.pid));
    assert.match(lines[1]!, new RegExp(`:${alpha.port} +\\(pid ${alpha.pid}\\)$`));
    const table = (await statusCommand(dir.path)).trimEnd().split("\n");
    assert.match(table[0]!, /^NAME +PID +PORT +STATE +RESTARTS +URL$/);
    assert.match(table[2]!, new RegExp(`^alpha +${alpha.pid} +${alpha.port} +running +0 +http`));

    Deno.kill(alpha.pid, "SIGKILL");
    await until(async () => {
      const now = (await services(dir.path))[1];
      return now?.state === "running" && now.restarts === 1;
    }, "alpha is restarted");
    const after = await statusJson(dir.path);
    assert.deepEqual(after[1], { ...alpha, pid: after[1]!.pid, restarts: 1 });
    assert.notEqual(after[1]!.pid, alpha.pid);
    assert.deepEqual(after[0], before[0]);
    await until(() => up.stdout.includes("alpha restarted"), "the restart is reported");
    assert.match(up.stdout, /\nalpha was killed by SIGKILL; restarting in \d+\.\d s\n/);

    up.child.kill("SIGTERM");
    const { code } = await up.exit();
    assert.equal(code, 0, up.stderr);
    assert.match(up.stdout, /\nstopping fixture…\nfixture stopped\n$/);
    for (const service of after) assert.ok(!isAlive(service.pid!), `${service.name} still runs`);
    assert.deepEqual(await statusJson(dir.path), [
      { name: "beta", pid: null, port: before[0]!.port, state: "stopped", restarts: 0 },
      { name: "alpha", pid: null, port: alpha.port, state: "stopped", restarts: 1 },
    ]);
  },
});

Deno.test({
  name: "flotilla up refuses to run twice on one data root",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using dir = await tempDir();
    await using first = new Up(dir.path);
    await first.ready();
    await using second = new Up(dir.path);
    const { code } = await second.exit();
    assert.equal(code, 1);
    assert.match(
      second.stderr,
      new RegExp(`another supervisor \\(pid ${first.child.pid}\\) is running on data folder`),
    );
    assert.deepEqual((await statusJson(dir.path)).map((s) => s.state), ["running", "running"]);
  },
});

Deno.test({
  name: "flotilla up stops the services a killed supervisor left running, and keeps the data",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using dir = await tempDir();
    let orphans: number[];
    {
      await using first = new Up(dir.path);
      await first.ready();
      orphans = (await services(dir.path)).map((s) => s.pid!);
      first.child.kill("SIGKILL");
      await first.exit();
      // Its services outlive it; status knows the supervisor is gone.
      for (const pid of orphans) {
        const status = await Deno.readTextFile(`${dir.path}/supervisor.json`);
        assert.ok(isAlive(pid), `service process ${pid} died with its supervisor:\n${status}`);
      }
      assert.deepEqual((await statusJson(dir.path)).map((s) => [s.state, s.pid]), [
        ["stopped", null],
        ["stopped", null],
      ]);
      // Disposing `first` here also kills the orphans, should the rest fail.
      orphans = orphans.filter(isAlive);
      assert.equal(orphans.length, 2);
      await using second = new Up(dir.path);
      await second.ready();
      for (const pid of orphans) assert.ok(!isAlive(pid), `orphan ${pid} still runs`);
      assert.match(
        second.stderr,
        /flotilla: Stopped 2 service process\(es\) left running by a supervisor that died/,
      );
      assert.equal(await Deno.readTextFile(`${dir.path}/alpha/boots.txt`), "2");
      second.child.kill("SIGTERM");
      assert.equal((await second.exit()).code, 0);
    }
  },
});

Deno.test({
  name: "flotilla stop, start and restart control one process of a running supervisor",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using dir = await tempDir();
    await using up = new Up(dir.path, { FLOTILLA_REPLICAS_ALPHA: "2" });
    await up.ready();
    const lines = up.stdout.trimEnd().split("\n");
    assert.match(lines[2]!, /^alpha-2 {2}http:\/\/127\.0\.0\.1:\d+ {2,}\(pid \d+\)$/);
    const before = await statusJson(dir.path);
    assert.deepEqual(before.map((s) => [Object.keys(s).join(), s.name, s.state]), [
      ["name,pid,port,state,restarts", "beta", "running"],
      ["name,pid,port,state,restarts", "alpha", "running"],
      ["name,pid,port,state,restarts", "alpha-2", "running"],
    ]);
    const replica = before[2]!;

    const stop = await flotilla(dir.path, "stop", "alpha-2");
    assert.deepEqual([stop.code, stop.stdout, stop.stderr], [0, "alpha-2 stopped\n", ""]);
    assert.ok(!isAlive(replica.pid!));
    assert.deepEqual((await statusJson(dir.path))[2], { ...replica, pid: null, state: "stopped" });
    await until(() => up.stdout.includes("alpha-2 stopped on request"), "up reports the stop");
    // Restarting another one takes longer than a crash's restart: alpha-2 stays stopped.
    const restart = await flotilla(dir.path, "restart", "beta");
    assert.equal(restart.code, 0, restart.stderr);
    assert.match(
      restart.stdout,
      /^beta running {2}http:\/\/127\.0\.0\.1:\d+ {2}\(pid \d+, restarts 1\)\n$/,
    );
    assert.deepEqual((await statusJson(dir.path))[2], { ...replica, pid: null, state: "stopped" });

    const start = await flotilla(dir.path, "start", "alpha-2");
    assert.equal(start.code, 0, start.stderr);
    const started = (await statusJson(dir.path))[2]!;
    assert.deepEqual(started, { ...replica, pid: started.pid, restarts: 1 });
    assert.ok(isAlive(started.pid!));
    assert.equal(
      start.stdout,
      `alpha-2 running  http://127.0.0.1:${replica.port}  (pid ${started.pid}, restarts 1)\n`,
    );

    const unknown = await flotilla(dir.path, "stop", "ghost");
    assert.deepEqual([unknown.code, unknown.stdout], [1, ""]);
    assert.equal(
      unknown.stderr,
      'flotilla: Cannot find service "ghost": the supervisor runs beta, alpha, alpha-2\n',
    );

    up.child.kill("SIGTERM");
    assert.equal((await up.exit()).code, 0);
    const gone = await flotilla(dir.path, "start", "alpha");
    assert.equal(gone.code, 1);
    assert.equal(
      gone.stderr,
      `flotilla: Cannot reach the supervisor as none is running on data folder "${dir.path}": start one with "flotilla up" (or "deno task start")\n`,
    );
  },
});

Deno.test({
  name: "flotilla up exits 2 at once on an invalid registry or replica count",
  ignore: Deno.build.os !== "linux",
  async fn() {
    for (
      const [env, message] of [
        [{ FLOTILLA_REGISTRY: "zookeeper://h:1" }, "FLOTILLA_REGISTRY must be local, static"],
        [{ FLOTILLA_REPLICAS_ALPHA: "0" }, "FLOTILLA_REPLICAS_ALPHA must be an integer 1-16"],
      ] as const
    ) {
      await using dir = await tempDir();
      await using up = new Up(dir.path, env);
      const { code } = await up.exit();
      assert.equal(code, 2, up.stderr);
      assert.equal(up.stdout, "");
      assert.ok(up.stderr.includes(message), up.stderr);
      assert.match(up.stderr, /\nRun "flotilla --help" for usage\.\n$/);
      await assert.rejects(() => Deno.stat(`${dir.path}/supervisor.json`), Deno.errors.NotFound);
    }
  },
});
