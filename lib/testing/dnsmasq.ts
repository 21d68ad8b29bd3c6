/**
 * A real dnsmasq serving a given set of SRV and A/AAAA records on a free
 * port of 127.0.0.1, for tests of DNS-based discovery.
 *
 * dnsmasq re-reads only hosts-style files on SIGHUP, never `--srv-host`
 * (its man page: "SIGHUP does NOT re-read the configuration file"), so
 * {@linkcode Dnsmasq.update} restarts the process on the same port with the
 * new records, the way a cluster DNS server starts answering differently
 * once endpoints change.
 *
 * @module
 */

import { createSocket } from "node:dgram";
import { TextLineStream } from "./text_line_stream.ts";
import { waitFor } from "./wait_for.ts";

/** One SRV record, as dnsmasq's `--srv-host` takes it. */
export interface DnsmasqSrvRecord {
  /** Owner name, e.g. `_http._tcp.payment.shop.local`. */
  readonly name: string;
  /** Target host name or IP address, e.g. `pay-1.shop.local`. */
  readonly target: string;
  /** Port of the service on the target. */
  readonly port: number;
  /** Lower is preferred. @default {0} */
  readonly priority?: number;
  /** Relative weight among records of the same priority. @default {0} */
  readonly weight?: number;
}

/** A/AAAA records of one name, as dnsmasq's `--host-record` takes them. */
export interface DnsmasqHostRecord {
  /** Host name, e.g. `pay-1.shop.local`. */
  readonly name: string;
  /** Its IPv4 address (A record). */
  readonly ipv4?: string;
  /** Its IPv6 address (AAAA record). */
  readonly ipv6?: string;
}

/** The records dnsmasq serves. */
export interface DnsmasqRecords {
  /** SRV records. @default {[]} */
  readonly srv?: readonly DnsmasqSrvRecord[];
  /** A/AAAA records. @default {[]} */
  readonly hosts?: readonly DnsmasqHostRecord[];
}

/** Options of {@linkcode Dnsmasq.start}. */
export interface DnsmasqOptions {
  /**
   * Domains dnsmasq is authoritative for (`--local=/<domain>/`): unknown
   * names in them get NXDOMAIN. Names outside them get REFUSED, as dnsmasq
   * has no upstream server here. @default {[]}
   */
  readonly localDomains?: readonly string[];
  /** TTL, in seconds, of every record it serves (`--local-ttl`). @default {0} */
  readonly ttlSeconds?: number;
  /** The dnsmasq executable. @default {"dnsmasq"} */
  readonly executable?: string;
  /** Gives up starting when aborted. */
  readonly signal?: AbortSignal;
}

/** The TXT record each generation of the process answers, to tell a restart is done. */
const GENERATION_NAME = "_generation.flotilla-dnsmasq.test";

/**
 * A dnsmasq process answering DNS on `127.0.0.1:<port>` (UDP and TCP) from a
 * record set that tests can replace.
 *
 * @example
 * ```ts
 * import { Dnsmasq } from "@flotilla/testing";
 *
 * await using dns = await Dnsmasq.start({
 *   srv: [{ name: "_http._tcp.payment.shop.local", target: "pay-1.shop.local", port: 7001 }],
 *   hosts: [{ name: "pay-1.shop.local", ipv4: "127.0.0.1" }],
 * }, { localDomains: ["shop.local"] });
 * await Deno.resolveDns("_http._tcp.payment.shop.local", "SRV", { nameServer: dns.nameServer });
 * await dns.update({ srv: [] }); // now the name has no records
 * ```
 */
export class Dnsmasq implements AsyncDisposable {
  /** Where to send queries: `{ ipAddr: "127.0.0.1", port }`. */
  readonly nameServer: { readonly ipAddr: string; readonly port: number };
  #options: DnsmasqOptions;
  #dir: string;
  #records: DnsmasqRecords;
  #generation = 0;
  #child: Deno.ChildProcess | undefined;
  #logDone: Promise<void> = Promise.resolve();
  #log: string[] = [];
  #disposed = false;

  private constructor(port: number, dir: string, records: DnsmasqRecords, options: DnsmasqOptions) {
    this.nameServer = { ipAddr: "127.0.0.1", port };
    this.#dir = dir;
    this.#records = records;
    this.#options = options;
  }

  /**
   * Starts dnsmasq with `records` on a free port and resolves once it
   * answers queries.
   */
  static async start(records: DnsmasqRecords, options: DnsmasqOptions = {}): Promise<Dnsmasq> {
    validate(records);
    const dir = await Deno.makeTempDir({ prefix: "flotilla-dnsmasq-" });
    let lastError: unknown;
    // A port found free can be taken before dnsmasq binds it: try a few.
    for (let attempt = 0; attempt < 5; attempt++) {
      const server = new Dnsmasq(await freeUdpAndTcpPort(), dir, records, options);
      try {
        await server.#launch();
        return server;
      } catch (error) {
        lastError = error;
        await server.#stopProcess();
        if (options.signal?.aborted) break;
      }
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw new Error("Cannot start dnsmasq", { cause: lastError });
  }

  /** The records served now. */
  get records(): DnsmasqRecords {
    return this.#records;
  }

  /** How many times the process was (re)started. */
  get generation(): number {
    return this.#generation;
  }

  /** The process id of the current dnsmasq. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** What dnsmasq wrote to stderr so far (its log), for failing tests. */
  get log(): readonly string[] {
    return this.#log;
  }

  /**
   * Replaces the records: stops dnsmasq and starts it again on the same
   * port, resolving once the new process answers.
   */
  async update(records: DnsmasqRecords, options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#disposed) throw new Error("Cannot update dnsmasq as it is stopped");
    validate(records);
    await this.#stopProcess();
    this.#records = records;
    await this.#launch(options.signal);
  }

  /**
   * Freezes the process (SIGSTOP): queries go unanswered, as with a name
   * server that is down or cut off, until {@linkcode Dnsmasq.prototype.resume}.
   */
  pause(): void {
    this.#child?.kill("SIGSTOP");
  }

  /** Lets a paused process run again (SIGCONT). */
  resume(): void {
    this.#child?.kill("SIGCONT");
  }

  /** Stops dnsmasq and removes its temporary folder. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#stopProcess();
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }

  async #launch(signal = this.#options.signal): Promise<void> {
    const generation = ++this.#generation;
    const args = [
      "--no-daemon",
      "--conf-file=/dev/null",
      "--no-resolv",
      "--no-hosts",
      "--no-poll",
      `--port=${this.nameServer.port}`,
      "--listen-address=127.0.0.1",
      "--bind-interfaces",
      `--pid-file=${this.#dir}/dnsmasq.pid`,
      "--log-facility=-",
      "--log-queries",
      `--local-ttl=${this.#options.ttlSeconds ?? 0}`,
      `--txt-record=${GENERATION_NAME},${generation}`,
      ...(this.#options.localDomains ?? []).map((domain) => `--local=/${domain}/`),
      ...(this.#records.srv ?? []).map((srv) =>
        `--srv-host=${srv.name},${srv.target},${srv.port},${srv.priority ?? 0},${srv.weight ?? 0}`
      ),
      ...(this.#records.hosts ?? []).map((host) =>
        `--host-record=${
          [host.name, host.ipv4, host.ipv6].filter((v) => v !== undefined).join(",")
        }`
      ),
    ];
    // As root, dnsmasq would switch to user `nobody`; stay as the user we are.
    if (Deno.uid() === 0) args.push("--user=root", "--group=root");
    const child = new Deno.Command(this.#options.executable ?? "dnsmasq", {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    let exited = false;
    child.status.then(() => exited = true);
    this.#logDone = (async () => {
      const lines = child.stderr.pipeThrough(new TextDecoderStream()).pipeThrough(
        new TextLineStream(),
      );
      for await (const line of lines) this.#log.push(line);
    })().catch(() => {});
    const outcome = await waitFor(async () => {
      if (exited) return "exited";
      if (signal?.aborted) return "aborted";
      const answer = await Deno.resolveDns(GENERATION_NAME, "TXT", {
        nameServer: this.nameServer,
        signal: AbortSignal.timeout(250),
      });
      return answer.some((strings) => strings.join("") === String(generation)) && "ready";
    }, { timeoutMs: 10_000, intervalMs: 20, what: "dnsmasq to answer" });
    if (outcome === "aborted") signal?.throwIfAborted();
    if (outcome === "exited") {
      throw new Error(`dnsmasq exited while starting: ${this.#log.slice(-3).join(" | ")}`);
    }
  }

  async #stopProcess(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    this.#child = undefined;
    try {
      child.kill("SIGCONT"); // in case it was paused
      child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    await child.status;
    await this.#logDone;
  }
}

function validate(records: DnsmasqRecords): void {
  for (const srv of records.srv ?? []) {
    for (const [key, value] of Object.entries(srv)) {
      if (String(value).includes(",")) {
        throw new RangeError(
          `Cannot serve the SRV record as '${key}' must not contain a comma: current value is ${value}`,
        );
      }
    }
  }
}

/** A port free for both UDP and TCP on 127.0.0.1 a moment ago. */
async function freeUdpAndTcpPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const socket = createSocket("udp4");
    const port = await new Promise<number>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, "127.0.0.1", () => resolve(socket.address().port));
    });
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch {
      // Taken for TCP: try another.
    }
  }
  throw new Error("Cannot find a port free for both UDP and TCP on 127.0.0.1");
}
