/**
 * A throw-away etcd server for tests: free ports, a temporary data folder,
 * killed and removed on dispose.
 *
 * @module
 */

import { freePort } from "./free_port.ts";

/** Options of {@link startEtcd}. */
export interface StartEtcdOptions {
  /** The etcd executable. @default {"etcd"} */
  binary?: string;
  /** How long to wait for `/health` to answer, in milliseconds. @default {30_000} */
  readyTimeoutMs?: number;
}

/** A running etcd started by {@link startEtcd}. Dispose it to kill it and remove its data. */
export interface EtcdServer extends AsyncDisposable {
  /** Its client URL, e.g. `http://127.0.0.1:40123`. */
  readonly endpoint: string;
  /** Its client port. */
  readonly port: number;
  /** Its data folder (removed on dispose). */
  readonly dataDir: string;
  /** Kills it with SIGKILL, keeping its data; {@linkcode EtcdServer.restart} brings it back. */
  kill(): Promise<void>;
  /** Starts it again on the same ports and data (after {@linkcode EtcdServer.kill}). */
  restart(): Promise<void>;
}

/**
 * Starts a single-member etcd on free loopback ports with a temporary data
 * folder, and waits until its `/health` answers `true`.
 *
 * @example
 * ```ts
 * import { startEtcd } from "@flotilla/testing";
 *
 * await using etcd = await startEtcd();
 * const response = await fetch(`${etcd.endpoint}/v3/kv/range`, { method: "POST", body: "{}" });
 * ```
 */
export async function startEtcd(options: StartEtcdOptions = {}): Promise<EtcdServer> {
  const binary = options.binary ?? "etcd";
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const dataDir = await Deno.makeTempDir({ prefix: "flotilla-etcd-" });
    const server = new Etcd(binary, dataDir, freePort(), freePort(), readyTimeoutMs);
    try {
      await server.restart();
      return server;
    } catch (error) {
      lastError = error; // most likely a port taken in the meantime: try others
      await server[Symbol.asyncDispose]();
    }
  }
  throw new Error(`Cannot start etcd (${binary})`, { cause: lastError });
}

class Etcd implements EtcdServer {
  readonly endpoint: string;
  readonly port: number;
  readonly dataDir: string;
  #binary: string;
  #peerPort: number;
  #readyTimeoutMs: number;
  #child: Deno.ChildProcess | undefined;
  #log = "";
  #logDone: Promise<void> | undefined;
  #client: Deno.HttpClient;

  constructor(
    binary: string,
    dataDir: string,
    port: number,
    peerPort: number,
    readyTimeoutMs: number,
  ) {
    this.#binary = binary;
    this.dataDir = dataDir;
    this.port = port;
    this.#peerPort = peerPort;
    this.#readyTimeoutMs = readyTimeoutMs;
    this.endpoint = `http://127.0.0.1:${port}`;
    // Straight to etcd, whatever HTTP_PROXY says.
    this.#client = Deno.createHttpClient({
      proxy: { transport: "tcp", hostname: "127.0.0.1", port },
    });
  }

  async restart(): Promise<void> {
    if (this.#child !== undefined) throw new Error("Cannot restart etcd as it is running");
    const peer = `http://127.0.0.1:${this.#peerPort}`;
    const child = new Deno.Command(this.#binary, {
      args: [
        "--name=default",
        `--data-dir=${this.dataDir}`,
        `--listen-client-urls=${this.endpoint}`,
        `--advertise-client-urls=${this.endpoint}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=default=${peer}`,
        "--log-level=warn",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    this.#log = "";
    this.#logDone = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        this.#log = (this.#log + chunk).slice(-8_000);
      }
    })().catch(() => {});
    let exited = false;
    child.status.then(() => exited = true);
    const giveUpAt = Date.now() + this.#readyTimeoutMs;
    while (true) {
      if (exited) throw new Error(`etcd exited on start:\n${this.#log}`);
      try {
        const response = await fetch(`${this.endpoint}/health`, {
          client: this.#client,
          signal: AbortSignal.timeout(2_000),
        });
        const body = await response.json() as { health?: unknown };
        if (body.health === "true" || body.health === true) return;
      } catch {
        // not yet
      }
      if (Date.now() > giveUpAt) {
        throw new Error(`etcd did not become healthy in ${this.#readyTimeoutMs} ms:\n${this.#log}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async kill(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    this.#child = undefined;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
    await this.#logDone;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill();
    this.#client.close();
    await Deno.remove(this.dataDir, { recursive: true }).catch(() => {});
  }
}
