/**
 * Least privilege: each service the supervisor starts runs with only the
 * permissions its contract declares. The test reads the exact permission
 * flags of the running processes from /proc, checks them, then runs a probe
 * under exactly those flags: it can use what was granted, and gets
 * `Deno.errors.NotCapable` for a file outside its data folder, a port it did
 * not declare, and an environment variable it did not declare.
 */

import assert from "node:assert/strict";
import { startShop } from "../support/shop.ts";

const PROBE = new URL("../support/permission_probe.ts", import.meta.url).pathname;

interface ProbeResult {
  [check: string]: string;
}

function commandLine(pid: number): string[] {
  return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").filter(Boolean);
}

function environment(pid: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of Deno.readTextFileSync(`/proc/${pid}/environ`).split("\0")) {
    const eq = entry.indexOf("=");
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

async function probe(
  flags: string[],
  env: Record<string, string>,
  plan: object,
): Promise<ProbeResult> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, PROBE, JSON.stringify(plan)],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout).trim();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  return JSON.parse(text);
}

Deno.test({
  name: "services started by the supervisor can only reach what they declared",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using shop = await startShop();
    const services = await shop.status();
    const byName = new Map(services.map((s) => [s.name, s]));
    const gatewayPort = byName.get("gateway")!.port;

    for (const name of ["inventory", "payment", "order", "gateway"]) {
      await t.step(`${name} runs with scoped flags only`, () => {
        const service = byName.get(name);
        assert.ok(service?.pid, `${name} has no pid`);
        const argv = commandLine(service.pid);
        const flags = argv.filter((a) => a.startsWith("-"));
        for (const flag of flags) {
          assert.ok(!["-A", "--allow-all"].includes(flag), `${name} runs with ${flag}`);
          if (flag.startsWith("--allow-")) {
            assert.match(flag, /^--allow-(net|read|write|env)=.+/, `${name} has unscoped ${flag}`);
          }
        }
        assert.ok(flags.some((f) => f.startsWith("--allow-net=")));
        assert.ok(flags.some((f) => f.startsWith("--allow-env=")));
      });
    }

    await t.step(
      "payment cannot read outside its data folder, reach an undeclared port or read other env",
      async () => {
        const payment = byName.get("payment")!;
        const flags = commandLine(payment.pid!).filter((a) =>
          a.startsWith("--allow-") || a === "--no-prompt"
        );
        const env = environment(payment.pid!);
        const ownDir = env.FLOTILLA_DATA_DIR!;
        const result = await probe(flags, env, {
          readable: [`${ownDir}/payment.db`],
          writable: [`${ownDir}/probe.tmp`],
          unreadable: [
            `${shop.dataDir}/inventory/inventory.db`,
            "/etc/hostname",
            `${shop.dataDir}/supervisor.json`,
          ],
          unwritable: [`${shop.dataDir}/inventory/evil.tmp`, "/tmp/flotilla-evil.tmp"],
          reachable: [payment.port],
          unreachable: [gatewayPort, byName.get("inventory")!.port, 5432],
          unreadableEnv: ["HOME", "PATH"],
          readableEnv: ["FLOTILLA_DATA_DIR"],
        });
        for (const [check, outcome] of Object.entries(result)) {
          assert.equal(
            outcome,
            check.startsWith("deny:") ? "NotCapable" : "ok",
            `${check} → ${outcome}`,
          );
        }
        assert.ok(Object.keys(result).filter((k) => k.startsWith("deny:")).length >= 8);
      },
    );

    await t.step("order can reach its declared peers but not the gateway", async () => {
      const order = byName.get("order")!;
      const flags = commandLine(order.pid!).filter((a) =>
        a.startsWith("--allow-") || a === "--no-prompt"
      );
      const env = environment(order.pid!);
      const result = await probe(flags, env, {
        reachable: [byName.get("inventory")!.port, byName.get("payment")!.port],
        unreachable: [gatewayPort],
        unreadable: [`${shop.dataDir}/payment/payment.db`],
      });
      for (const [check, outcome] of Object.entries(result)) {
        assert.equal(
          outcome,
          check.startsWith("deny:") ? "NotCapable" : "ok",
          `${check} → ${outcome}`,
        );
      }
    });
  },
});
