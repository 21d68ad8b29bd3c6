import assert from "node:assert/strict";
import { join } from "node:path";
import { lockDataRoot } from "@flotilla/supervisor";
import { main, USAGE } from "./flotilla.ts";
import { FIXTURE_PLAN, memoryIo, tempDir } from "./_test_util.ts";

Deno.test("main() prints the usage on --help and exits 0", async () => {
  for (
    const args of [
      ["--help"],
      ["-h"],
      ["help"],
      ["up", "--help"],
      ["status", "-h"],
      ["stop", "--help"],
      ["restart", "-h"],
    ]
  ) {
    const { io, out, err } = memoryIo();
    assert.equal(await main(args, { io }), 0);
    assert.deepEqual(out, [USAGE]);
    assert.deepEqual(err, []);
  }
});

Deno.test("main() exits 2 on a usage error", async () => {
  const cases: [string[], string][] = [
    [[], "flotilla: missing command"],
    [["launch"], 'flotilla: unknown command "launch"'],
    [["status", "--yaml"], "flotilla: Unknown option '--yaml'"],
    [["status", "extra"], "flotilla: Unexpected argument 'extra'"],
    [["up", "--plan"], "flotilla: Option '--plan <value>' argument missing"],
    [["stop"], "flotilla: stop: missing service name"],
    [["start", "a", "b"], "flotilla: start: unexpected argument 'b'"],
    [["restart", "--json", "a"], "flotilla: Unknown option '--json'"],
    [["checkouts"], "flotilla: checkouts: missing 'list' or 'resume'"],
    [["checkouts", "drop"], 'flotilla: checkouts: unknown command "drop"'],
    [["checkouts", "resume"], "flotilla: checkouts resume: missing order id"],
    [["checkouts", "list", "x"], "flotilla: checkouts list: unexpected argument 'x'"],
  ];
  for (const [args, message] of cases) {
    const { io, out, err } = memoryIo();
    assert.equal(await main(args, { io }), 2, args.join(" "));
    assert.deepEqual(out, []);
    assert.match(err[0]!, new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    assert.equal(err[1], 'Run "flotilla --help" for usage.');
  }
});

Deno.test("main() status prints nothing, or [] with --json, when no supervisor ever ran", async () => {
  await using dir = await tempDir();
  const env = { FLOTILLA_DATA_DIR: dir.path };
  const table = memoryIo();
  assert.equal(await main(["status"], { io: table.io, env }), 0);
  assert.deepEqual(table.out, []);
  const json = memoryIo();
  assert.equal(await main(["status", "--json"], { io: json.io, env }), 0);
  assert.deepEqual(json.out, ["[]"]);
});

Deno.test("main() status reads the status file of the data root under the working directory", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(join(dir.path, ".flotilla"));
  const service = {
    name: "gateway",
    pid: 4321,
    port: 8080,
    state: "running",
    restarts: 3,
    url: "http://127.0.0.1:8080",
    startedAt: "2025-01-01T00:00:00.000Z",
  };
  const write = (pid: number) =>
    Deno.writeTextFile(
      join(dir.path, ".flotilla", "supervisor.json"),
      JSON.stringify({ pid, system: "shop", startedAt: "", services: [service] }),
    );

  await write(Deno.pid);
  await using lock = await lockDataRoot(join(dir.path, ".flotilla")); // a live supervisor
  const live = memoryIo();
  assert.equal(await main(["status", "--json"], { io: live.io, env: {}, cwd: dir.path }), 0);
  assert.deepEqual(JSON.parse(live.out.join("\n")), [
    { name: "gateway", pid: 4321, port: 8080, state: "running", restarts: 3 },
  ]);
  const table = memoryIo();
  assert.equal(await main(["status"], { io: table.io, env: {}, cwd: dir.path }), 0);
  assert.deepEqual(table.out.join("\n").split("\n"), [
    "NAME     PID   PORT  STATE    RESTARTS  URL",
    "gateway  4321  8080  running  3         http://127.0.0.1:8080",
  ]);

  await lock.release(); // the supervisor is gone
  const dead = memoryIo();
  assert.equal(await main(["status", "--json"], { io: dead.io, env: {}, cwd: dir.path }), 0);
  assert.deepEqual(JSON.parse(dead.out.join("\n")), [
    { name: "gateway", pid: null, port: 8080, state: "stopped", restarts: 3 },
  ]);
});

Deno.test("main() status exits 1 on a corrupt status file", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(join(dir.path, "supervisor.json"), "{not json");
  const { io, err } = memoryIo();
  assert.equal(await main(["status"], { io, env: { FLOTILLA_DATA_DIR: dir.path } }), 1);
  assert.match(
    err[0]!,
    /^flotilla: Cannot read the status in ".*supervisor.json" as it is not JSON/,
  );
});

Deno.test("main() up exits 1 when the plan cannot be loaded", async () => {
  await using dir = await tempDir();
  const { io, out, err } = memoryIo();
  const env = { FLOTILLA_DATA_DIR: dir.path };
  assert.equal(await main(["up", "--plan", "nowhere/plan.ts"], { io, env, cwd: dir.path }), 1);
  assert.deepEqual(out, []);
  assert.match(err[0]!, /^flotilla: Cannot load the plan "nowhere\/plan.ts": Module not found/);
});

Deno.test("main() up exits 1 on an invalid port variable", async () => {
  await using dir = await tempDir();
  const { io, err } = memoryIo();
  const env = { FLOTILLA_DATA_DIR: dir.path, PORT: "http" };
  assert.equal(await main(["up", "--plan", FIXTURE_PLAN], { io, env }), 1);
  assert.deepEqual(err, [
    'flotilla: Cannot assign the port of "beta" as PORT must be an integer 0-65535: current value is "http"',
  ]);
});

Deno.test("main() stop, start and restart exit 1 when no supervisor runs", async () => {
  await using dir = await tempDir();
  for (const command of ["stop", "start", "restart"]) {
    const { io, out, err } = memoryIo();
    assert.equal(await main([command, "payment"], { io, env: { FLOTILLA_DATA_DIR: dir.path } }), 1);
    assert.deepEqual(out, []);
    assert.deepEqual(err, [
      `flotilla: Cannot reach the supervisor as none is running on data folder "${dir.path}": start one with "flotilla up" (or "deno task start")`,
    ]);
  }
});

Deno.test("main() up exits 2 on an invalid FLOTILLA_REGISTRY, FLOTILLA_REPLICAS_* or FLOTILLA_ADMIN_PORT", async () => {
  await using dir = await tempDir();
  const cases: [Record<string, string>, string][] = [
    [
      { FLOTILLA_REGISTRY: "redis://h:1" },
      'flotilla: Cannot start the supervisor as FLOTILLA_REGISTRY must be local, static, etcd://host:port, dns://ip:port or consul://host:port: current value is "redis://h:1"',
    ],
    [
      { FLOTILLA_REPLICAS_GAMMA: "2" },
      'flotilla: Cannot start the supervisor as FLOTILLA_REPLICAS_GAMMA names no service of "fixture": its services are beta, alpha',
    ],
    [
      { FLOTILLA_ADMIN_PORT: "-1" },
      'flotilla: Cannot start the supervisor as FLOTILLA_ADMIN_PORT must be an integer 0-65535: current value is "-1"',
    ],
  ];
  for (const [setting, message] of cases) {
    const { io, out, err } = memoryIo();
    const env = { FLOTILLA_DATA_DIR: dir.path, ...setting };
    assert.equal(await main(["up", "--plan", FIXTURE_PLAN], { io, env }), 2);
    assert.deepEqual(out, []);
    assert.ok(err[0]!.startsWith(message), err[0]);
    assert.equal(err.at(-1), 'Run "flotilla --help" for usage.');
  }
});
