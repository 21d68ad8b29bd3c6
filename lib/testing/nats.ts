/**
 * A throw-away `nats-server -js` for tests: free ports, a temporary store
 * folder, killed and removed on dispose; it can be killed (SIGKILL) and
 * restarted on the same port and store to test recovery.
 *
 * @module
 */

import { freePort } from "./free_port.ts";

/** Options of {@link startNats}. */
export interface StartNatsOptions {
  /** The nats-server executable. @default {"/usr/sbin/nats-server"} */
  binary?: string;
  /** How long to wait for the server to accept clients with JetStream on, in milliseconds. @default {30_000} */
  readyTimeoutMs?: number;
  /** More command-line arguments, e.g. `["-D"]`. @default {[]} */
  args?: readonly string[];
}

/** A running nats-server started by {@link startNats}. Dispose it to kill it and remove its store. */
export interface NatsServer extends AsyncDisposable {
  /** Its client URL, e.g. `nats://127.0.0.1:40123`. */
  readonly url: string;
  /** Its client port. */
  readonly port: number;
  /** Its HTTP monitoring URL, e.g. `http://127.0.0.1:40124` (`/healthz`, `/jsz`, `/connz`). */
  readonly monitorUrl: string;
  /** Its JetStream store folder (removed on dispose). */
  readonly dataDir: string;
  /** Whether the process is running (false between {@linkcode NatsServer.kill} and {@linkcode NatsServer.restart}). */
  readonly running: boolean;
  /** The tail of its log (stderr), for failure messages. */
  readonly log: string;
  /** Kills it with SIGKILL, keeping its store; {@linkcode NatsServer.restart} brings it back. */
  kill(): Promise<void>;
  /** Starts it again on the same ports and store (after {@linkcode NatsServer.kill}), and waits until it is ready. */
  restart(): Promise<void>;
}

/**
 * Starts `nats-server -js` on free loopback ports with a temporary store
 * folder, and waits until it accepts clients with JetStream enabled.
 *
 * @example
 * ```ts
 * import { startNats } from "@flotilla/testing";
 *
 * await using nats = await startNats();
 * // connect to nats.url; await nats.kill(); await nats.restart();
 * ```
 */
export async function startNats(options: StartNatsOptions = {}): Promise<NatsServer> {
  const binary = options.binary ?? "/usr/sbin/nats-server";
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const dataDir = await Deno.makeTempDir({ prefix: "flotilla-nats-" });
    const server = new Nats(
      binary,
      dataDir,
      freePort(),
      freePort(),
      readyTimeoutMs,
      options.args ?? [],
    );
    try {
      await server.restart();
      return server;
    } catch (error) {
      lastError = error; // most likely a port taken in the meantime: try others
      await server[Symbol.asyncDispose]();
    }
  }
  throw new Error(`Cannot start nats-server (${binary})`, { cause: lastError });
}

class Nats implements NatsServer {
  readonly url: string;
  readonly port: number;
  readonly monitorUrl: string;
  readonly dataDir: string;
  #binary: string;
  #monitorPort: number;
  #readyTimeoutMs: number;
  #args: readonly string[];
  #child: Deno.ChildProcess | undefined;
  #log = "";
  #logDone: Promise<void> | undefined;
  #client: Deno.HttpClient;
  #disposed = false;

  constructor(
    binary: string,
    dataDir: string,
    port: number,
    monitorPort: number,
    readyTimeoutMs: number,
    args: readonly string[],
  ) {
    this.#binary = binary;
    this.dataDir = dataDir;
    this.port = port;
    this.#monitorPort = monitorPort;
    this.#readyTimeoutMs = readyTimeoutMs;
    this.#args = args;
    this.url = `nats://127.0.0.1:${port}`;
    this.monitorUrl = `http://127.0.0.1:${monitorPort}`;
    // Straight to the monitor, whatever HTTP_PROXY says.
    this.#client = Deno.createHttpClient({
      proxy: { transport: "tcp", hostname: "127.0.0.1", port: monitorPort },
    });
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  get log(): string {
    return this.#log;
  }

  async restart(): Promise<void> {
    if (this.#child !== undefined) throw new Error("Cannot restart nats-server as it is running");
    const child = new Deno.Command(this.#binary, {
      args: [
        "-js",
        "-a",
        "127.0.0.1",
        "-p",
        String(this.port),
        "-m",
        String(this.#monitorPort),
        "-sd",
        this.dataDir,
        ...this.#args,
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
      if (exited) {
        await this.#logDone;
        this.#child = undefined;
        throw new Error(`nats-server exited on start:\n${this.#log}`);
      }
      if (await this.#ready()) return;
      if (Date.now() > giveUpAt) {
        throw new Error(
          `nats-server was not ready in ${this.#readyTimeoutMs} ms:\n${this.#log}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** `/healthz` answers ok and the client port sends an INFO with JetStream on. */
  async #ready(): Promise<boolean> {
    try {
      const response = await fetch(`${this.monitorUrl}/healthz`, {
        client: this.#client,
        signal: AbortSignal.timeout(2_000),
      });
      const body = await response.json() as { status?: unknown };
      if (!response.ok || body.status !== "ok") return false;
    } catch {
      return false;
    }
    let conn: Deno.TcpConn | undefined;
    try {
      conn = await Deno.connect({ hostname: "127.0.0.1", port: this.port });
      const buffer = new Uint8Array(8_192);
      let text = "";
      const timer = setTimeout(() => conn?.close(), 2_000);
      try {
        while (!text.includes("\r\n")) {
          const n = await conn.read(buffer);
          if (n === null) return false;
          text += new TextDecoder().decode(buffer.subarray(0, n));
        }
      } finally {
        clearTimeout(timer);
      }
      const line = text.slice(0, text.indexOf("\r\n"));
      if (!line.startsWith("INFO ")) return false;
      const info = JSON.parse(line.slice(5)) as { jetstream?: unknown };
      return info.jetstream === true;
    } catch {
      return false;
    } finally {
      try {
        conn?.close();
      } catch {
        // closed by the timer
      }
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
    if (this.#disposed) return;
    this.#disposed = true;
    this.#client.close();
    await Deno.remove(this.dataDir, { recursive: true }).catch(() => {});
  }
}
