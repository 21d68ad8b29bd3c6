import assert from "node:assert/strict";
import { join } from "node:path";
import { main } from "./flotilla.ts";
import { chaosLocation } from "./_chaos.ts";
import { memoryIo, tempDir } from "./_test_util.ts";

async function run(dataDir: string, args: string[]) {
  const { io, out, err } = memoryIo();
  const code = await main(args, { io, env: { FLOTILLA_DATA_DIR: dataDir }, cwd: dataDir });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

async function fileOf(dataDir: string, service: string) {
  return JSON.parse(await Deno.readTextFile(join(dataDir, "config", `${service}.json`)));
}

Deno.test("chaosLocation() follows FLOTILLA_CONFIG as the supervisor does", () => {
  assert.deepEqual(chaosLocation("order", { FLOTILLA_DATA_DIR: "/srv/f" }, "/"), {
    type: "file",
    path: "/srv/f/config/order.json",
  });
  assert.deepEqual(chaosLocation("order", { FLOTILLA_CONFIG: "file:shop.json" }, "/srv"), {
    type: "file",
    path: "/srv/shop.json",
  });
  assert.deepEqual(chaosLocation("order", { FLOTILLA_CONFIG: "etcd://10.0.0.9:2379" }, "/"), {
    type: "etcd",
    endpoint: "http://10.0.0.9:2379",
    key: "/flotilla/config/order/chaos",
  });
});

Deno.test("main() chaos add, enable, disable, remove and clear rewrite the service's file", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(join(dir.path, "config"));
  // What else the file holds is kept.
  await Deno.writeTextFile(join(dir.path, "config", "order.json"), '{"logLevel":"debug"}');
  const added = await run(dir.path, [
    "chaos",
    "add",
    "--service",
    "order",
    "--peer",
    "payment",
    "--latency",
    "1000",
    "--percentage",
    "100",
  ]);
  assert.equal(added.code, 0, added.err);
  let file = await fileOf(dir.path, "order");
  assert.equal(file.logLevel, "debug");
  assert.equal(file.chaos.enabled, true);
  assert.deepEqual(file.chaos.rules[0], {
    id: "payment-latency",
    enabled: true,
    service: "order",
    peer: "payment",
    action: "*",
    instance: "*",
    percentage: 100,
    fault: { type: "latency", latency: { type: "fixed", ms: 1000 } },
  });
  const second = await run(dir.path, [
    "chaos",
    "add",
    "--service",
    "order",
    "--id",
    "pay-503",
    "--peer",
    "payment",
    "--error",
    "503",
  ]);
  assert.equal(second.code, 0, second.err);
  assert.equal(
    (await run(dir.path, ["chaos", "disable", "--service", "order", "pay-503"])).code,
    0,
  );
  file = await fileOf(dir.path, "order");
  assert.deepEqual(
    file.chaos.rules.map((r: { id: string; enabled: boolean }) => [r.id, r.enabled]),
    [
      ["payment-latency", true],
      ["pay-503", false],
    ],
  );
  const listed = await run(dir.path, ["chaos", "list", "--service", "order"]);
  assert.match(listed.out, /enabled/);
  assert.match(listed.out, /pay-503\s+off/);
  const json = await run(dir.path, ["chaos", "list", "--service", "order", "--json"]);
  assert.equal(JSON.parse(json.out).rules.length, 2);
  assert.equal((await run(dir.path, ["chaos", "disable", "--service", "order"])).code, 0);
  assert.equal((await fileOf(dir.path, "order")).chaos.enabled, false);
  assert.equal((await run(dir.path, ["chaos", "remove", "--service", "order", "pay-503"])).code, 0);
  assert.deepEqual(
    (await fileOf(dir.path, "order")).chaos.rules.map((r: { id: string }) => r.id),
    ["payment-latency"],
  );
  assert.equal((await run(dir.path, ["chaos", "clear", "--service", "order"])).code, 0);
  file = await fileOf(dir.path, "order");
  assert.deepEqual(file, { logLevel: "debug", chaos: { enabled: false, seed: 1, rules: [] } });
  const leftovers = [...Deno.readDirSync(join(dir.path, "config"))].map((e) => e.name);
  assert.deepEqual(leftovers, ["order.json"], "no temporary file left");
});

Deno.test("main() chaos refuses bad usage with exit 2 and unknown rules with exit 1", async () => {
  await using dir = await tempDir();
  assert.equal((await run(dir.path, ["chaos"])).code, 2);
  assert.equal((await run(dir.path, ["chaos", "explode", "--service", "order"])).code, 2);
  assert.equal((await run(dir.path, ["chaos", "add", "--peer", "payment", "--drop"])).code, 2);
  assert.equal((await run(dir.path, ["chaos", "add", "--service", "order"])).code, 2);
  const twoFaults = await run(dir.path, [
    "chaos",
    "add",
    "--service",
    "order",
    "--drop",
    "--latency",
    "5",
  ]);
  assert.equal(twoFaults.code, 2);
  const invalid = await run(dir.path, [
    "chaos",
    "add",
    "--service",
    "order",
    "--percentage",
    "150",
    "--error",
    "UNAVAILABLE",
  ]);
  assert.equal(invalid.code, 2);
  assert.match(invalid.err, /percentage/);
  const missing = await run(dir.path, ["chaos", "remove", "--service", "order", "nope"]);
  assert.equal(missing.code, 1);
});

Deno.test("main() config get exits 1 when no supervisor runs, 2 on bad usage", async () => {
  await using dir = await tempDir();
  const got = await run(dir.path, ["config", "get", "order"]);
  assert.equal(got.code, 1);
  assert.match(got.err, /no supervisor/);
  assert.equal((await run(dir.path, ["config"])).code, 2);
  assert.equal((await run(dir.path, ["config", "get"])).code, 2);
});
