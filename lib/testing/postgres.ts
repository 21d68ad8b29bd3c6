/**
 * A throw-away PostgreSQL for tests. By default a **private server**:
 * `initdb` into a temporary folder and `postgres` on a free loopback port,
 * which a test may kill (SIGKILL, a crash) and restart on the same data; as
 * a fallback, a **fresh database** on the shared server
 * (`CREATE DATABASE flotilla_test_<random>`, dropped on dispose), which
 * keeps tests apart but cannot be killed.
 *
 * `initdb` and `postgres` refuse to run as root: as root, they run as the
 * `postgres` user (`runuser -u postgres --`) in a folder it owns.
 *
 * @module
 */

import { freePort } from "./free_port.ts";

/** Where a {@link PostgresServer} runs: a server of its own, or a database on a shared server. */
export type PostgresServerKind = "private" | "database";

/** Options of {@link startPostgres}. */
export interface StartPostgresOptions {
  /**
   * `"private"`: a server of its own (initdb + postgres); `"database"`: a
   * fresh database on the shared server at `sharedUrl`; `"auto"`: a private
   * server, or a database when no private server starts.
   * @default {"auto"}
   */
  mode?: "auto" | PostgresServerKind;
  /** The folder of `initdb`, `postgres`, `pg_isready`, `createdb` and `dropdb`. @default {"/usr/lib/postgresql/15/bin"} */
  binDir?: string;
  /**
   * The shared server's URL (user, host, port; the database part is
   * ignored), for `"database"` mode. @default {"postgres://postgres@127.0.0.1:5432/postgres"}
   */
  sharedUrl?: string;
  /**
   * Whether a private server fsyncs. Off is much faster and loses nothing
   * when only the server process dies (`kill()`); it matters only for a
   * crash of the machine. @default {false}
   */
  fsync?: boolean;
  /** More settings of a private server (`-c name=value`), e.g. `{ max_connections: "200" }`. @default {{}} */
  settings?: Readonly<Record<string, string>>;
  /** How long to wait for the server to accept connections, in milliseconds. @default {30_000} */
  readyTimeoutMs?: number;
  /** Gives up starting when aborted. */
  signal?: AbortSignal;
}

/**
 * A PostgreSQL started by {@link startPostgres}. Dispose it to kill the
 * private server and remove its data (or to drop the database).
 */
export interface PostgresServer extends AsyncDisposable {
  /** Its URL, e.g. `postgres://postgres@127.0.0.1:40123/postgres` (trust authentication, no password). */
  readonly url: string;
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** The database the URL names. */
  readonly database: string;
  /** A private server, or a database on the shared server. */
  readonly kind: PostgresServerKind;
  /** Whether the server runs (false between {@linkcode PostgresServer.kill} and {@linkcode PostgresServer.restart}). */
  readonly running: boolean;
  /** The tail of a private server's log, for failure messages (empty for a database). */
  readonly log: string;
  /**
   * Kills a private server with SIGKILL — the postmaster and every backend,
   * as in a crash — keeping its data; {@linkcode PostgresServer.restart}
   * brings it back after crash recovery.
   *
   * @throws {TypeError} for a database on the shared server.
   */
  kill(): Promise<void>;
  /**
   * Starts a killed private server again on the same port and data, and
   * waits until it accepts connections.
   *
   * @throws {TypeError} for a database on the shared server.
   */
  restart(options?: { signal?: AbortSignal }): Promise<void>;
}

const DEFAULT_BIN_DIR = "/usr/lib/postgresql/15/bin";
const DEFAULT_SHARED_URL = "postgres://postgres@127.0.0.1:5432/postgres";

/**
 * Starts a PostgreSQL of a test's own (see the module doc) and waits until
 * it accepts connections.
 *
 * @example
 * ```ts
 * import { startPostgres } from "@flotilla/testing";
 *
 * await using pg = await startPostgres();
 * pg.url; // "postgres://postgres@127.0.0.1:40123/postgres"
 * await pg.kill(); // SIGKILL, data kept
 * await pg.restart(); // same port, same data
 * ```
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const mode = options.mode ?? "auto";
  if (!["auto", "private", "database"].includes(mode)) {
    throw new RangeError(
      `Cannot start PostgreSQL as 'mode' must be "auto", "private" or "database": current value is ${
        JSON.stringify(mode)
      }`,
    );
  }
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  if (!(readyTimeoutMs > 0)) {
    throw new RangeError(
      `Cannot start PostgreSQL as 'readyTimeoutMs' must be > 0: current value is ${readyTimeoutMs}`,
    );
  }
  const binDir = options.binDir ?? DEFAULT_BIN_DIR;
  if (mode === "database") return await createDatabase(binDir, options);
  try {
    return await startPrivate(binDir, readyTimeoutMs, options);
  } catch (error) {
    if (mode === "private" || options.signal?.aborted) throw error;
    try {
      return await createDatabase(binDir, options);
    } catch (fallbackError) {
      throw new AggregateError(
        [error, fallbackError],
        "Cannot start PostgreSQL: neither a private server nor a database on the shared server",
      );
    }
  }
}

async function startPrivate(
  binDir: string,
  readyTimeoutMs: number,
  options: StartPostgresOptions,
): Promise<PostgresServer> {
  const owner = await postgresOwner();
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    options.signal?.throwIfAborted();
    const dir = await Deno.makeTempDir({ prefix: "flotilla-postgres-" });
    const server = new PrivateServer(binDir, dir, freePort(), owner, readyTimeoutMs, options);
    try {
      if (owner !== undefined) await Deno.chown(dir, owner.uid, owner.gid);
      await run(owner, `${binDir}/initdb`, [
        "--pgdata",
        `${dir}/data`,
        "--auth",
        "trust",
        "--username",
        "postgres",
        "--encoding",
        "UTF8",
        "--locale",
        "C",
        "--no-sync",
        "--no-instructions",
      ]);
      await server.restart(options.signal === undefined ? {} : { signal: options.signal });
      return server;
    } catch (error) {
      lastError = error; // most likely a port taken in the meantime: try another
      await server[Symbol.asyncDispose]();
      if (options.signal?.aborted) throw error;
    }
  }
  throw new Error(`Cannot start a private PostgreSQL (${binDir})`, { cause: lastError });
}

/** The `postgres` user when running as root (initdb and postgres refuse root), else none. */
async function postgresOwner(): Promise<Owner | undefined> {
  if (Deno.uid() !== 0) return undefined;
  const id = async (flag: string) => {
    const output = await new Deno.Command("id", { args: [flag, "postgres"], stderr: "piped" })
      .output();
    if (!output.success) {
      throw new Error(
        `Cannot run PostgreSQL as root, and there is no 'postgres' user: ${
          new TextDecoder().decode(output.stderr).trim()
        }`,
      );
    }
    return Number(new TextDecoder().decode(output.stdout).trim());
  };
  return { user: "postgres", uid: await id("-u"), gid: await id("-g") };
}

interface Owner {
  readonly user: string;
  readonly uid: number;
  readonly gid: number;
}

/** `command args…`, as `owner` when given; throws with its output when it fails. */
async function run(
  owner: Owner | undefined,
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<string> {
  const [program, programArgs] = owner === undefined
    ? [command, args]
    : ["runuser", ["-u", owner.user, "--", command, ...args]];
  const output = await new Deno.Command(program, {
    args: programArgs,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  if (!output.success) throw new Error(`${command} failed (exit ${output.code}):\n${text}`);
  return text;
}

class PrivateServer implements PostgresServer {
  readonly url: string;
  readonly port: number;
  readonly database = "postgres";
  readonly kind = "private" as const;
  readonly #binDir: string;
  readonly #dir: string;
  readonly #owner: Owner | undefined;
  readonly #readyTimeoutMs: number;
  readonly #settings: readonly string[];
  #child: Deno.ChildProcess | undefined;
  #log = "";
  #logDone: Promise<void> | undefined;

  constructor(
    binDir: string,
    dir: string,
    port: number,
    owner: Owner | undefined,
    readyTimeoutMs: number,
    options: StartPostgresOptions,
  ) {
    this.#binDir = binDir;
    this.#dir = dir;
    this.port = port;
    this.#owner = owner;
    this.#readyTimeoutMs = readyTimeoutMs;
    this.url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const settings: Record<string, string> = {
      listen_addresses: "127.0.0.1",
      unix_socket_directories: dir,
      fsync: options.fsync === true ? "on" : "off",
      ...options.settings,
    };
    this.#settings = Object.entries(settings).flatMap(([name, value]) => [
      "-c",
      `${name}=${value}`,
    ]);
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  get log(): string {
    return this.#log;
  }

  async restart(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#child !== undefined) throw new Error("Cannot restart PostgreSQL as it is running");
    const postgres = [
      `${this.#binDir}/postgres`,
      "-D",
      `${this.#dir}/data`,
      "-p",
      String(this.port),
      ...this.#settings,
    ];
    // setsid and setpriv exec (no fork): the child is the postmaster itself, and it and all its
    // backends form one process group, which kill() ends at once.
    const args = this.#owner === undefined ? postgres : [
      "setpriv",
      `--reuid=${this.#owner.uid}`,
      `--regid=${this.#owner.gid}`,
      "--init-groups",
      ...postgres,
    ];
    const child = new Deno.Command("setsid", {
      args,
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
    const giveUpAt = Date.now() + this.#readyTimeoutMs;
    try {
      while (true) {
        options.signal?.throwIfAborted();
        if (exited) throw new Error(`postgres exited on start:\n${this.#log}`);
        if (await isReady(this.#binDir, this.port)) return;
        if (Date.now() > giveUpAt) {
          throw new Error(
            `postgres did not accept connections in ${this.#readyTimeoutMs} ms:\n${this.#log}`,
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
      Deno.kill(-child.pid, "SIGKILL"); // the whole process group: postmaster and backends
    } catch {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
    await child.status;
    await this.#logDone;
    await groupGone(child.pid);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill();
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Waits until no live process is left in process group `pgid` (killed
 * backends, reparented when the postmaster died, may take a moment to exit
 * and detach from the shared memory a restarted server wants).
 */
async function groupGone(pgid: number): Promise<void> {
  for (let round = 0; round < 400; round++) {
    let alive = false;
    for (const entry of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(entry.name)) continue;
      let stat: string;
      try {
        stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      } catch {
        continue; // gone meanwhile
      }
      // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === pgid && fields[0] !== "Z") {
        alive = true;
        break;
      }
    }
    if (!alive) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Whether the server on `port` accepts connections right now. */
async function isReady(binDir: string, port: number): Promise<boolean> {
  const output = await new Deno.Command(`${binDir}/pg_isready`, {
    args: ["-q", "-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", "postgres"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output();
  return output.success;
}

async function createDatabase(
  binDir: string,
  options: StartPostgresOptions,
): Promise<PostgresServer> {
  options.signal?.throwIfAborted();
  const shared = new URL(options.sharedUrl ?? DEFAULT_SHARED_URL);
  const host = shared.hostname || "127.0.0.1";
  const port = Number(shared.port || "5432");
  const user = decodeURIComponent(shared.username) || "postgres";
  const database = `flotilla_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const connection = ["-h", host, "-p", String(port), "-U", user, "-w"];
  const env: Record<string, string> = shared.password === ""
    ? {}
    : { PGPASSWORD: decodeURIComponent(shared.password) };
  await run(undefined, `${binDir}/createdb`, [...connection, database], env);
  const password = shared.password === "" ? "" : `:${shared.password}`;
  return new SharedDatabase(
    `postgres://${encodeURIComponent(user)}${password}@${host}:${port}/${database}`,
    port,
    database,
    () =>
      run(
        undefined,
        `${binDir}/dropdb`,
        [...connection, "--force", "--if-exists", database],
        env,
      ),
  );
}

class SharedDatabase implements PostgresServer {
  readonly url: string;
  readonly port: number;
  readonly database: string;
  readonly kind = "database" as const;
  readonly running = true;
  readonly log = "";
  readonly #drop: () => Promise<unknown>;

  constructor(url: string, port: number, database: string, drop: () => Promise<unknown>) {
    this.url = url;
    this.port = port;
    this.database = database;
    this.#drop = drop;
  }

  kill(): Promise<void> {
    return Promise.reject(notPrivate("kill"));
  }

  restart(): Promise<void> {
    return Promise.reject(notPrivate("restart"));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#drop();
  }
}

function notPrivate(action: string): TypeError {
  return new TypeError(
    `Cannot ${action} PostgreSQL as this is a database on a shared server: start a private one ({ mode: "private" })`,
  );
}
