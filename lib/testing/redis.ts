/**
 * A throw-away `redis-server` for tests: a free loopback port, a temporary
 * data folder, append-only persistence, killed and removed on dispose.
 *
 * @module
 */

import { freePort } from "./free_port.ts";

/** When Redis fsyncs its append-only file (`appendfsync`). */
export type RedisAppendFsync = "always" | "everysec" | "no";

/** Options of {@link startRedis}. */
export interface StartRedisOptions {
  /** The redis-server executable. @default {"/usr/bin/redis-server"} */
  binary?: string;
  /**
   * Append-only persistence (`appendonly yes`). Without it a killed server
   * comes back empty. @default {true}
   */
  appendOnly?: boolean;
  /**
   * When the append-only file is fsynced. `always` fsyncs every write before
   * Redis answers it, so an acknowledged write survives a crash of the host;
   * `everysec` may lose up to a second of acknowledged writes. @default {"always"}
   */
  appendFsync?: RedisAppendFsync;
  /** More `redis-server` arguments, e.g. `["--maxmemory", "64mb"]`. @default {[]} */
  args?: readonly string[];
  /** How long to wait for `PING` to answer, in milliseconds. @default {30_000} */
  readyTimeoutMs?: number;
  /** Gives up starting when aborted. */
  signal?: AbortSignal;
}

/** A running Redis started by {@link startRedis}. Dispose it to kill it and remove its data. */
export interface RedisServer extends AsyncDisposable {
  /** Its URL, e.g. `redis://127.0.0.1:40123`. */
  readonly url: string;
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** Its data folder, holding the append-only file (removed on dispose). */
  readonly dataDir: string;
  /** Whether the process is running (false between {@linkcode RedisServer.kill} and {@linkcode RedisServer.restart}). */
  readonly running: boolean;
  /** Kills it with SIGKILL, keeping its data; {@linkcode RedisServer.restart} brings it back. */
  kill(): Promise<void>;
  /**
   * Starts it again on the same port and data (after
   * {@linkcode RedisServer.kill}) and waits until it answers `PING`, which
   * it does only once it has loaded its append-only file.
   */
  restart(options?: { signal?: AbortSignal }): Promise<void>;
}

/**
 * Starts `redis-server` on a free port of 127.0.0.1 with a temporary data
 * folder, append-only persistence (`appendfsync always` by default), no RDB
 * snapshots (`save ""`), and waits until it answers `PING`.
 *
 * @example
 * ```ts
 * import { startRedis } from "@flotilla/testing";
 *
 * await using redis = await startRedis();
 * redis.url; // "redis://127.0.0.1:40123"
 * await redis.kill(); // SIGKILL, data kept
 * await redis.restart(); // same port, same data
 * ```
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const appendFsync = options.appendFsync ?? "always";
  if (!["always", "everysec", "no"].includes(appendFsync)) {
    throw new RangeError(
      `Cannot start Redis as 'appendFsync' must be "always", "everysec" or "no": current value is ${
        JSON.stringify(appendFsync)
      }`,
    );
  }
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  if (!(readyTimeoutMs > 0)) {
    throw new RangeError(
      `Cannot start Redis as 'readyTimeoutMs' must be > 0: current value is ${readyTimeoutMs}`,
    );
  }
  const settings: RedisSettings = {
    binary: options.binary ?? "/usr/bin/redis-server",
    appendOnly: options.appendOnly ?? true,
    appendFsync,
    args: options.args ?? [],
    readyTimeoutMs,
  };
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    options.signal?.throwIfAborted();
    const dataDir = await Deno.makeTempDir({ prefix: "flotilla-redis-" });
    const server = new Redis(settings, dataDir, freePort());
    try {
      await server.restart(options.signal === undefined ? {} : { signal: options.signal });
      return server;
    } catch (error) {
      lastError = error; // most likely a port taken in the meantime: try another
      await server[Symbol.asyncDispose]();
      if (options.signal?.aborted) throw error;
    }
  }
  throw new Error(`Cannot start Redis (${settings.binary})`, { cause: lastError });
}

interface RedisSettings {
  binary: string;
  appendOnly: boolean;
  appendFsync: RedisAppendFsync;
  args: readonly string[];
  readyTimeoutMs: number;
}

class Redis implements RedisServer {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  #settings: RedisSettings;
  #child: Deno.ChildProcess | undefined;
  #log = "";
  #logDone: Promise<void> | undefined;

  constructor(settings: RedisSettings, dataDir: string, port: number) {
    this.#settings = settings;
    this.dataDir = dataDir;
    this.port = port;
    this.url = `redis://127.0.0.1:${port}`;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  async restart(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#child !== undefined) throw new Error("Cannot restart Redis as it is running");
    const { binary, appendOnly, appendFsync, args, readyTimeoutMs } = this.#settings;
    const child = new Deno.Command(binary, {
      args: [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--protected-mode",
        "no",
        "--daemonize",
        "no",
        "--dir",
        this.dataDir,
        "--save",
        "",
        "--appendonly",
        appendOnly ? "yes" : "no",
        "--appendfsync",
        appendFsync,
        "--logfile",
        "",
        "--loglevel",
        "warning",
        ...args,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    this.#log = "";
    const collect = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        this.#log = (this.#log + chunk).slice(-8_000);
      }
    };
    this.#logDone = Promise.all([collect(child.stdout), collect(child.stderr)]).then(
      () => {},
      () => {},
    );
    let exited = false;
    child.status.then(() => exited = true);
    const giveUpAt = Date.now() + readyTimeoutMs;
    try {
      while (true) {
        options.signal?.throwIfAborted();
        if (exited) throw new Error(`redis-server exited on start:\n${this.#log}`);
        if (await ping(this.port)) return;
        if (Date.now() > giveUpAt) {
          throw new Error(
            `redis-server did not answer PING in ${readyTimeoutMs} ms:\n${this.#log}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    } catch (error) {
      await this.kill();
      throw error;
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
    await Deno.remove(this.dataDir, { recursive: true }).catch(() => {});
  }
}

/** Whether Redis on `port` answers `PING` with `+PONG` (not `-LOADING`) right now. */
async function ping(port: number): Promise<boolean> {
  let conn: Deno.TcpConn | undefined;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode("PING\r\n"));
    const buffer = new Uint8Array(64);
    const timer = setTimeout(() => conn?.close(), 2_000);
    try {
      const read = await conn.read(buffer);
      if (read === null) return false;
      return new TextDecoder().decode(buffer.subarray(0, read)).startsWith("+PONG");
    } finally {
      clearTimeout(timer);
    }
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
