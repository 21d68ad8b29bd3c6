/**
 * A network-namespace harness for partition tests: hosts as Linux network
 * namespaces on a private bridge, with partitions switched on and off.
 *
 * @module
 */

import { ChaosError } from "./errors.ts";

/** Options of {@link NetLab.create}. */
export interface NetLabOptions {
  /** How many hosts (1–50). */
  hosts: number;
  /** The first three octets of the hosts' /24; host `i` (from 1) gets `.i`. @default {"10.77.0"} */
  subnet?: string;
  /**
   * Prefix of every name the lab creates (namespaces, bridge, veths), at
   * most 8 characters. @default {"fl" + 6 random hex digits, so parallel labs never collide}
   */
  prefix?: string;
}

/** One host of a {@link NetLab}. */
export interface NetHost {
  /** Its number, from 1. */
  readonly index: number;
  /** Its network namespace (`ip netns exec <name> …`). */
  readonly name: string;
  /** Its address on the lab's /24. */
  readonly ip: string;
  /** The root-namespace end of its veth pair, on the bridge. */
  readonly veth: string;
}

/** What {@link NetLab.exec} returns. */
export interface ExecResult {
  /** The exit code. */
  readonly code: number;
  /** Its standard output, as text. */
  readonly stdout: string;
  /** Its standard error, as text. */
  readonly stderr: string;
}

/** A MAC address no interface has: frames sent to it go nowhere. */
const BLACK_HOLE_MAC = "02:00:5e:00:de:ad";

/**
 * N hosts, each a network namespace with its own IP, joined by veth pairs
 * to a bridge in the root namespace; commands run inside a host with
 * `ip netns exec`. Partitions use only iproute2 (no iptables or nft needed):
 *
 * - {@link NetLab.partition} cuts two groups of hosts apart, both ways, by
 *   pointing each side's neighbour entry for the other at a MAC nobody has
 *   — packets are silently dropped, so connections time out as in a real
 *   partition, while each side still reaches everyone else.
 * - {@link NetLab.isolate} takes a host's link to the bridge down: it is
 *   cut from everyone.
 * - {@link NetLab.heal} undoes both.
 *
 * Needs root (or CAP_NET_ADMIN) and `ip`. Every name starts with a random
 * prefix, so parallel labs never collide; disposing the lab (also after a
 * failed creation) kills the processes it spawned and deletes its
 * namespaces and bridge.
 *
 * @example
 * ```ts
 * import { NetLab } from "@flotilla/chaos";
 *
 * await using lab = await NetLab.create({ hosts: 2 });
 * const [a, b] = lab.hosts;
 * const server = lab.spawn(a!, ["deno", "run", "-A", "server.ts", a!.ip]);
 * await lab.partition(a!, b!); // b can no longer reach a, nor a b
 * await lab.heal();
 * server.kill();
 * ```
 */
export class NetLab implements AsyncDisposable {
  /** The hosts, in order. */
  readonly hosts: readonly NetHost[];
  /** The bridge in the root namespace. */
  readonly bridge: string;
  /** The prefix of every name the lab created. */
  readonly prefix: string;
  readonly #children = new Set<Deno.ChildProcess>();
  readonly #cut = new Set<string>();
  readonly #down = new Set<NetHost>();
  #created: string[] = [];
  #bridgeCreated = false;
  #disposed = false;

  private constructor(prefix: string, subnet: string, count: number) {
    this.prefix = prefix;
    this.bridge = `${prefix}br`;
    this.hosts = Array.from({ length: count }, (_, i) => ({
      index: i + 1,
      name: `${prefix}-h${i + 1}`,
      ip: `${subnet}.${i + 1}`,
      veth: `${prefix}v${i + 1}`,
    }));
  }

  /**
   * Whether this process can build labs: root and `ip` present. Resolves to
   * the reason when it cannot, for a test's skip message.
   */
  static async unsupported(): Promise<string | undefined> {
    if (Deno.build.os !== "linux") return "network namespaces need Linux";
    if (Deno.uid() !== 0) return "network namespaces need root (uid 0)";
    try {
      const { success } = await new Deno.Command("ip", {
        args: ["-V"],
        stdout: "null",
        stderr: "null",
      })
        .output();
      if (!success) return "'ip -V' failed";
    } catch {
      return "the 'ip' command (iproute2) is missing";
    }
    return undefined;
  }

  /**
   * Creates the bridge, the namespaces, the veth pairs and the addresses.
   * On failure, removes whatever it had created and throws.
   *
   * @throws {RangeError} on bad options; {@link ChaosError} `CHAOS_UNSUPPORTED`
   * when not root, `CHAOS_COMMAND_FAILED` when `ip` fails.
   */
  static async create(options: NetLabOptions): Promise<NetLab> {
    const count = options.hosts;
    if (!(Number.isInteger(count) && count >= 1 && count <= 50)) {
      throw new RangeError(
        `Cannot create the network lab as 'hosts' must be an integer in 1..50: current value is ${count}`,
      );
    }
    const subnet = options.subnet ?? "10.77.0";
    if (
      !/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(subnet) ||
      subnet.split(".").some((o) => Number(o) > 255)
    ) {
      throw new RangeError(
        `Cannot create the network lab as 'subnet' must be three octets such as "10.77.0": current value is ${
          JSON.stringify(subnet)
        }`,
      );
    }
    const prefix = options.prefix ??
      `fl${
        crypto.getRandomValues(new Uint8Array(3)).reduce((s, b) =>
          s + b.toString(16).padStart(2, "0"), "")
      }`;
    if (!/^[a-z][a-z0-9]{0,7}$/.test(prefix)) {
      throw new RangeError(
        `Cannot create the network lab as 'prefix' must be 1-8 lowercase letters or digits: current value is ${
          JSON.stringify(prefix)
        }`,
      );
    }
    const reason = await NetLab.unsupported();
    if (reason !== undefined) {
      throw new ChaosError("CHAOS_UNSUPPORTED", `Cannot create the network lab: ${reason}`);
    }
    const lab = new NetLab(prefix, subnet, count);
    try {
      await ip(["link", "add", lab.bridge, "type", "bridge"]);
      lab.#bridgeCreated = true;
      await ip(["link", "set", lab.bridge, "up"]);
      for (const host of lab.hosts) {
        await ip(["netns", "add", host.name]);
        lab.#created.push(host.name);
        await ip([
          "link",
          "add",
          host.veth,
          "type",
          "veth",
          "peer",
          "name",
          "eth0",
          "netns",
          host.name,
        ]);
        await ip(["link", "set", host.veth, "master", lab.bridge, "up"]);
        await ip(["-n", host.name, "addr", "add", `${host.ip}/24`, "dev", "eth0"]);
        await ip(["-n", host.name, "link", "set", "eth0", "up"]);
        await ip(["-n", host.name, "link", "set", "lo", "up"]);
      }
    } catch (error) {
      await lab[Symbol.asyncDispose]();
      throw error;
    }
    return lab;
  }

  /** Host number `index` (from 1). @throws {RangeError} when there is none. */
  host(index: number): NetHost {
    const host = this.hosts[index - 1];
    if (host === undefined) {
      throw new RangeError(
        `Cannot find the host as 'index' must be in 1..${this.hosts.length}: current value is ${index}`,
      );
    }
    return host;
  }

  /** Runs `command` inside `host` and waits for it. */
  async exec(
    host: NetHost,
    command: readonly string[],
    options: { signal?: AbortSignal } = {},
  ): Promise<ExecResult> {
    const output = await new Deno.Command("ip", {
      args: ["netns", "exec", host.name, ...command],
      stdout: "piped",
      stderr: "piped",
      ...(options.signal ? { signal: options.signal } : {}),
    }).output();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  }

  /**
   * Starts `command` inside `host` (its output piped unless told otherwise);
   * the lab kills it on dispose if it is still running.
   */
  spawn(
    host: NetHost,
    command: readonly string[],
    options: {
      stdout?: "piped" | "null" | "inherit";
      stderr?: "piped" | "null" | "inherit";
      env?: Record<string, string>;
    } = {},
  ): Deno.ChildProcess {
    const child = new Deno.Command("ip", {
      args: ["netns", "exec", host.name, ...command],
      stdin: "null",
      stdout: options.stdout ?? "piped",
      stderr: options.stderr ?? "piped",
      ...(options.env ? { env: options.env } : {}),
    }).spawn();
    this.#children.add(child);
    child.status.finally(() => this.#children.delete(child));
    return child;
  }

  /**
   * Cuts `a` apart from `b` (default: every other host), both ways: packets
   * between the two sides are silently dropped. Hosts on the same side, and
   * each side's other peers, are unaffected.
   */
  async partition(
    a: NetHost | readonly NetHost[],
    b?: NetHost | readonly NetHost[],
  ): Promise<void> {
    const left = toList(a);
    const right = b === undefined ? this.hosts.filter((h) => !left.includes(h)) : toList(b);
    for (const x of left) {
      for (const y of right) {
        if (x === y) continue;
        await this.#blackHole(x, y);
        await this.#blackHole(y, x);
      }
    }
  }

  /** Takes `host`'s link to the bridge down: it reaches no one and no one reaches it. */
  async isolate(host: NetHost): Promise<void> {
    await ip(["link", "set", host.veth, "down"]);
    this.#down.add(host);
  }

  /** Undoes every partition and isolation. */
  async heal(): Promise<void> {
    for (const host of [...this.#down]) {
      await ip(["link", "set", host.veth, "up"]);
      this.#down.delete(host);
    }
    for (const key of [...this.#cut]) {
      const [from, to] = key.split(" ") as [string, string];
      await ip(["-n", from, "neigh", "del", to, "dev", "eth0"]).catch(() => {});
      this.#cut.delete(key);
    }
  }

  async #blackHole(from: NetHost, to: NetHost): Promise<void> {
    const key = `${from.name} ${to.ip}`;
    if (this.#cut.has(key)) return;
    await ip([
      "-n",
      from.name,
      "neigh",
      "replace",
      to.ip,
      "lladdr",
      BLACK_HOLE_MAC,
      "dev",
      "eth0",
      "nud",
      "permanent",
    ]);
    this.#cut.add(key);
    // Connections already open must stop too: forget cached routes to the peer.
    await ip(["-n", from.name, "route", "flush", "cache"]).catch(() => {});
  }

  /** Kills the processes it spawned, deletes its namespaces and its bridge. Idempotent. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const child of [...this.#children]) {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await child.status.catch(() => {});
    }
    for (const name of this.#created.splice(0).reverse()) {
      await ip(["netns", "del", name]).catch(() => {});
    }
    if (this.#bridgeCreated) {
      this.#bridgeCreated = false;
      await ip(["link", "del", this.bridge]).catch(() => {});
    }
  }
}

function toList(hosts: NetHost | readonly NetHost[]): readonly NetHost[] {
  return Array.isArray(hosts) ? hosts : [hosts as NetHost];
}

async function ip(args: readonly string[]): Promise<void> {
  const output = await new Deno.Command("ip", { args: [...args], stdout: "null", stderr: "piped" })
    .output();
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim();
    throw new ChaosError("CHAOS_COMMAND_FAILED", `ip ${args.join(" ")} failed: ${stderr}`, {
      data: { command: ["ip", ...args], code: output.code, stderr },
    });
  }
}
