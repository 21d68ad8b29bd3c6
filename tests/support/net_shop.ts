/**
 * The shop on several hosts of one machine: each service (and etcd) in a
 * network namespace of its own, with its own IP address, joined by a
 * bridge (`NetLab` of `@flotilla/chaos`), discovering each other through
 * etcd — so a partition between two hosts is a real one (packets dropped
 * by the kernel), not a simulated fault. Needs root and `ip` (see
 * {@link NetLab.unsupported}) and `etcd`.
 *
 * Every service runs `apps/shop/<service>/main.ts` directly (not through
 * the supervisor) with the environment the supervisor would give it:
 * `FLOTILLA_HOST` = its namespace's IP, `PORT`, `FLOTILLA_DATA_DIR`,
 * `FLOTILLA_REGISTRY=etcd://…`, `FLOTILLA_INSTANCE_ID`, the embedded SQLite
 * bus (`FLOTILLA_BUS_DIR`; the file system is shared by the namespaces, the
 * network is not) and a watched config file. The test process reaches the
 * gateway through an address of the bridge in the root namespace. Logs go
 * to `<dataDir>/logs/<service>.log`, as under the supervisor.
 *
 * @module
 */

import { join } from "node:path";
import { type NetHost, NetLab } from "@flotilla/chaos";
import { waitFor } from "@flotilla/testing";

const ROOT = new URL("../../", import.meta.url).pathname;

/** The services of the shop, in start order, and the host each gets (after etcd's, host 1). */
export const NET_SERVICES = ["payment", "inventory", "order", "notification", "gateway"] as const;

/** A service of {@link NET_SERVICES}. */
export type NetService = typeof NET_SERVICES[number];

/** The port every service listens on, each on its own address. */
export const NET_PORT = 8080;

const ETCD_PORT = 2379;

/** Options of {@link startNetShop}. */
export interface NetShopOptions {
  /** A data folder the shop has not started in yet (seeded, perhaps); a fresh one otherwise. */
  dataDir?: string;
  /** Extra environment of every service (`FLOTILLA_POLICIES`…). */
  env?: Record<string, string>;
}

/** A shop whose services live on hosts of their own. */
export interface NetShop extends AsyncDisposable {
  /** The gateway's base URL (its namespace's address). */
  readonly url: string;
  /** The data folder. */
  readonly dataDir: string;
  /** The lab: partition, isolate, heal. */
  readonly lab: NetLab;
  /** The host of etcd. */
  readonly etcdHost: NetHost;
  /** The host of each service. */
  readonly hosts: Readonly<Record<NetService, NetHost>>;
  /** What a service printed (its log), the last 20 000 characters. */
  output(service: NetService | "etcd"): string;
}

/** Starts etcd and the shop's services, each on a host of its own, and waits for the gateway. */
export async function startNetShop(options: NetShopOptions = {}): Promise<NetShop> {
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? await Deno.makeTempDir({ prefix: "flotilla-netshop-" });
  // A /24 of its own per run, so concurrent labs never share a route in the root namespace.
  const subnet = `10.78.${1 + Math.floor(Math.random() * 250)}`;
  const lab = await NetLab.create({ hosts: 1 + NET_SERVICES.length, subnet });
  const outputs = new Map<string, string>();
  const pumps: Promise<void>[] = [];
  const children: Deno.ChildProcess[] = [];
  const dispose = async () => {
    for (const child of children.reverse()) {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
    }
    await Promise.all(
      children.map((child) =>
        Promise.race([
          child.status,
          new Promise((resolve) => setTimeout(resolve, 10_000)),
        ])
      ),
    );
    await lab[Symbol.asyncDispose]();
    await Promise.all(pumps);
    if (ownsDataDir) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  };
  try {
    // The root namespace on the bridge too, so the test reaches the gateway.
    await ip(["addr", "add", `${subnet}.254/24`, "dev", lab.bridge]);
    const logs = join(dataDir, "logs");
    const config = join(dataDir, "config");
    await Deno.mkdir(logs, { recursive: true });
    await Deno.mkdir(config, { recursive: true });
    const spawn = (name: string, host: NetHost, command: string[], env: Record<string, string>) => {
      const child = lab.spawn(host, command, { env });
      children.push(child);
      const file = Deno.openSync(join(logs, `${name}.log`), {
        create: true,
        append: true,
      });
      const pump = async (stream: ReadableStream<Uint8Array>) => {
        for await (const chunk of stream) {
          file.writeSync(chunk);
          const text = (outputs.get(name) ?? "") + new TextDecoder().decode(chunk);
          outputs.set(name, text.slice(-20_000));
        }
      };
      pumps.push(
        Promise.all([pump(child.stdout), pump(child.stderr)]).then(() => file.close(), () => {}),
      );
      return child;
    };

    const etcdHost = lab.host(1);
    const etcdUrl = `http://${etcdHost.ip}:${ETCD_PORT}`;
    const etcdPeer = `http://127.0.0.1:2380`;
    spawn("etcd", etcdHost, [
      "etcd",
      "--name=default",
      `--data-dir=${join(dataDir, "etcd")}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${etcdPeer}`,
      `--initial-advertise-peer-urls=${etcdPeer}`,
      `--initial-cluster=default=${etcdPeer}`,
      "--log-level=warn",
    ], {});
    await waitFor(async () => {
      const response = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(2_000) })
        .catch(() => undefined);
      const body = await response?.json().catch(() => undefined) as { health?: unknown };
      return body?.health === "true" || body?.health === true;
    }, { what: `etcd on ${etcdHost.ip}`, timeoutMs: 60_000 });

    const hosts = Object.fromEntries(
      NET_SERVICES.map((service, i) => [service, lab.host(2 + i)]),
    ) as Record<NetService, NetHost>;
    for (const service of NET_SERVICES) {
      const host = hosts[service];
      const configFile = join(config, `${service}.json`);
      await Deno.writeTextFile(configFile, "{}");
      spawn(service, host, [
        Deno.execPath(),
        "run",
        "--quiet",
        "--allow-all",
        `--config=${join(ROOT, "deno.json")}`,
        join(ROOT, "apps", "shop", service, "main.ts"),
      ], {
        PORT: String(NET_PORT),
        FLOTILLA_HOST: host.ip,
        FLOTILLA_DATA_DIR: join(dataDir, service),
        FLOTILLA_REGISTRY: `etcd://${etcdHost.ip}:${ETCD_PORT}`,
        FLOTILLA_INSTANCE_ID: `${service}-1`,
        FLOTILLA_BUS: "sqlite",
        FLOTILLA_BUS_DIR: join(dataDir, "bus"),
        FLOTILLA_CONFIG: `file:${configFile}`,
        ...options.env,
      });
    }
    const url = `http://${hosts.gateway.ip}:${NET_PORT}`;
    await waitFor(async () => {
      const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) })
        .catch(() => undefined);
      await response?.body?.cancel();
      return response?.status === 200;
    }, { what: "the gateway on its own host to be ready", timeoutMs: 120_000 });
    // Ready means its peers are found; wait until every service answers on its address.
    for (const service of NET_SERVICES) {
      await waitFor(async () => {
        const response = await fetch(`http://${hosts[service].ip}:${NET_PORT}/readyz`, {
          signal: AbortSignal.timeout(2_000),
        }).catch(() => undefined);
        await response?.body?.cancel();
        return response?.status === 200;
      }, { what: `${service} on ${hosts[service].ip} to be ready`, timeoutMs: 120_000 });
    }
    return {
      url,
      dataDir,
      lab,
      etcdHost,
      hosts,
      output: (service) => outputs.get(service) ?? "",
      [Symbol.asyncDispose]: dispose,
    };
  } catch (error) {
    const printed = [...outputs].map(([name, text]) => `--- ${name}\n${text.slice(-3_000)}`)
      .join("\n");
    await dispose();
    throw new Error(`The shop on network namespaces did not start:\n${printed}`, { cause: error });
  }
}

async function ip(args: string[]): Promise<void> {
  const output = await new Deno.Command("ip", { args, stdout: "null", stderr: "piped" }).output();
  if (!output.success) {
    throw new Error(`ip ${args.join(" ")} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
}
