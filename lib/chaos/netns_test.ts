import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { waitFor } from "@flotilla/testing";
import { ChaosError } from "./errors.ts";
import { type NetHost, NetLab } from "./netns.ts";

const unsupported = await NetLab.unsupported();
const SERVER = fileURLToPath(new URL("./testdata/tcp_echo_server.ts", import.meta.url));
const PROBE = fileURLToPath(new URL("./testdata/tcp_probe.ts", import.meta.url));
const PORT = "7070";

/** Whether `from` gets an echo from the server on `to` within the probe's timeout. */
async function reaches(lab: NetLab, from: NetHost, to: NetHost): Promise<boolean> {
  const result = await lab.exec(from, [
    Deno.execPath(),
    "run",
    "--quiet",
    "--no-config",
    "--allow-net",
    PROBE,
    to.ip,
    PORT,
    "700",
  ]);
  return result.code === 0 && result.stdout.trim() === "ok";
}

Deno.test({
  name: unsupported === undefined
    ? "NetLab: a Deno TCP server in one namespace is reachable from another; partition cuts it, heal restores it"
    : `NetLab partition test SKIPPED: ${unsupported}`,
  ignore: unsupported !== undefined,
  fn: async () => {
    await using lab = await NetLab.create({ hosts: 3 });
    const [server, client, bystander] = lab.hosts as [NetHost, NetHost, NetHost];
    assert.deepEqual(lab.hosts.map((h) => h.ip), ["10.77.0.1", "10.77.0.2", "10.77.0.3"]);
    lab.spawn(server, [
      Deno.execPath(),
      "run",
      "--quiet",
      "--no-config",
      "--allow-net",
      SERVER,
      server.ip,
      PORT,
    ], { stdout: "null", stderr: "null" });
    await waitFor(() => reaches(lab, client, server), { what: "the server", timeoutMs: 30_000 });

    // Partition server | client: silently dropped both ways; the bystander still gets through.
    await lab.partition(server, client);
    assert.equal(await reaches(lab, client, server), false);
    assert.equal(await reaches(lab, bystander, server), true);

    await lab.heal();
    await waitFor(() => reaches(lab, client, server), { what: "healed", timeoutMs: 10_000 });

    // Isolate the server: cut from everyone.
    await lab.isolate(server);
    assert.equal(await reaches(lab, bystander, server), false);
    assert.equal(await reaches(lab, client, server), false);
    await lab.heal();
    await waitFor(() => reaches(lab, bystander, server), {
      what: "reconnected",
      timeoutMs: 10_000,
    });
  },
});

Deno.test({
  name: unsupported === undefined
    ? "NetLab tears everything down on dispose, with names unique to each lab"
    : `NetLab teardown test SKIPPED: ${unsupported}`,
  ignore: unsupported !== undefined,
  fn: async () => {
    const names = async () => {
      const { stdout } = await new Deno.Command("ip", { args: ["netns", "list"], stdout: "piped" })
        .output();
      return new TextDecoder().decode(stdout);
    };
    const a = await NetLab.create({ hosts: 2 });
    const b = await NetLab.create({ hosts: 1 }); // same subnet, different bridge: no collision
    assert.notEqual(a.prefix, b.prefix);
    assert.match(await names(), new RegExp(`${a.prefix}-h2`));
    await a[Symbol.asyncDispose]();
    await b[Symbol.asyncDispose]();
    const left = await names();
    assert.ok(!left.includes(a.prefix) && !left.includes(b.prefix), left);
    const links = await new Deno.Command("ip", { args: ["link", "show"], stdout: "piped" })
      .output();
    assert.ok(!new TextDecoder().decode(links.stdout).includes(a.prefix));
  },
});

Deno.test({
  name: unsupported === undefined
    ? "NetLab.create() removes what it made when a step fails half-way"
    : `NetLab failure-cleanup test SKIPPED: ${unsupported}`,
  ignore: unsupported !== undefined,
  fn: async () => {
    const prefix = `flx${(Deno.pid % 10_000).toString(36)}`;
    const ip = async (...args: string[]) => {
      const out = await new Deno.Command("ip", { args, stdout: "piped", stderr: "null" }).output();
      return new TextDecoder().decode(out.stdout);
    };
    // Host 2's namespace is taken, so creation fails after the bridge and host 1 exist.
    await ip("netns", "add", `${prefix}-h2`);
    try {
      await assert.rejects(
        NetLab.create({ hosts: 2, prefix }),
        (error: unknown) => error instanceof ChaosError && error.code === "CHAOS_COMMAND_FAILED",
      );
      const namespaces = await ip("netns", "list");
      assert.ok(!namespaces.includes(`${prefix}-h1`), namespaces);
      assert.ok(namespaces.includes(`${prefix}-h2`), "not ours: left alone");
      assert.ok(!(await ip("link", "show")).includes(`${prefix}br`));
    } finally {
      await ip("netns", "del", `${prefix}-h2`);
    }
  },
});

Deno.test("NetLab.create() refuses bad options", async () => {
  await assert.rejects(NetLab.create({ hosts: 0 }), RangeError);
  await assert.rejects(NetLab.create({ hosts: 2, subnet: "10.300.0" }), RangeError);
  await assert.rejects(NetLab.create({ hosts: 2, prefix: "Bad-Prefix!" }), RangeError);
});
