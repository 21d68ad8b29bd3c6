/**
 * The embedded default registry: processes on one machine share one SQLite
 * file, with no server.
 *
 * @module
 */

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { type Clock, systemClock } from "@flotilla/core";
import { integer, openDatabase, type Row, text } from "@flotilla/sqlite";
import { DiscoveryError, registryUnavailable } from "./errors.ts";
import type {
  Registration,
  RegistrationHandle,
  Registry,
  RegistryCallOptions,
  ServiceInstance,
} from "./registry.ts";
import { anySignal } from "./_shared_abort.ts";
import {
  checkRegistration,
  checkService,
  parseMetadata,
  sortInstances,
  toInstance,
} from "./_shared_instances.ts";
import { watchByPolling } from "./_shared_watch.ts";

/** Options of {@link LocalRegistry}. */
export interface LocalRegistryOptions {
  /**
   * The folder holding the database (`<dir>/registry.db`); created if
   * missing. Every process that shares the registry must be able to read and
   * write it.
   */
  dir: string;
  /** The source of time that expiry is measured on. @default {systemClock} */
  clock?: Clock;
  /** How often `watch()` reads the database, in milliseconds. @default {250} */
  pollIntervalMs?: number;
  /**
   * Told when a heartbeat fails (`REGISTRY_UNAVAILABLE`, e.g. the database
   * stayed locked); the next heartbeat tries again.
   */
  onError?: (error: DiscoveryError) => void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS instances (
  service TEXT NOT NULL,
  id TEXT NOT NULL,
  address TEXT NOT NULL,
  port INTEGER NOT NULL,
  metadata TEXT NOT NULL,
  ttl_ms INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  token TEXT NOT NULL,
  PRIMARY KEY (service, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS instances_expires_at ON instances (expires_at);
`;

/** Rows expired for longer than this are deleted. */
const GC_GRACE_MS = 60_000;
/** How often (on the clock) a registry looks for such rows. */
const GC_INTERVAL_MS = 30_000;

interface Statements {
  upsert: StatementSync;
  renew: StatementSync;
  owner: StatementSync;
  remove: StatementSync;
  live: StatementSync;
  gc: StatementSync;
}

/**
 * A {@link Registry} shared by the processes of one machine through one
 * SQLite file (`<dir>/registry.db`, WAL mode), with no server.
 *
 * `register()` writes a row that expires `ttlMs` after its last heartbeat;
 * the handle renews it every `ttlMs / 3`. A process killed with SIGKILL
 * stops renewing, and its instance disappears within its TTL. `instances()`
 * reads the rows that have not expired; `watch()` polls every
 * `pollIntervalMs`. Rows expired for a minute are deleted now and then.
 *
 * Disposing the registry stops its timers and closes the file without
 * removing its instances — they expire as a crashed process's would.
 * Deregister (or dispose) the handles first for a prompt removal.
 *
 * @example
 * ```ts
 * import { LocalRegistry } from "@flotilla/discovery";
 *
 * await using registry = new LocalRegistry({ dir: ".flotilla/registry" });
 * await using _handle = await registry.register({
 *   service: "payment", id: "payment-1", address: "127.0.0.1", port: 7001,
 *   metadata: { protocol: "http" },
 * });
 * for await (const instances of registry.watch("payment")) {
 *   console.log(instances.map((i) => `${i.address}:${i.port}`));
 *   break;
 * }
 * ```
 */
export class LocalRegistry implements Registry {
  /** Always `local`. */
  readonly kind = "local";
  /** The database file, `<dir>/registry.db`. */
  readonly path: string;
  #db: DatabaseSync;
  #sql: Statements;
  #clock: Clock;
  #pollIntervalMs: number;
  #onError: ((error: DiscoveryError) => void) | undefined;
  #lastGcAt = -Infinity;
  #handles = new Set<LocalHandle>();
  #disposed = new AbortController();

  /**
   * Opens (creating if needed) the registry in `options.dir`.
   *
   * @throws {RangeError} when an option is invalid.
   * @throws {DiscoveryError} `REGISTRY_UNAVAILABLE` when the database cannot be opened.
   */
  constructor(options: LocalRegistryOptions) {
    const { dir } = options;
    if (typeof dir !== "string" || dir === "") {
      throw new RangeError(
        `Cannot open the local registry as 'dir' must be a non-empty path: current value is ${
          JSON.stringify(dir)
        }`,
      );
    }
    const pollIntervalMs = options.pollIntervalMs ?? 250;
    if (!(Number.isFinite(pollIntervalMs) && pollIntervalMs > 0)) {
      throw new RangeError(
        `Cannot open the local registry as 'pollIntervalMs' must be a positive number: current value is ${pollIntervalMs}`,
      );
    }
    this.path = join(dir, "registry.db");
    try {
      mkdirSync(dir, { recursive: true });
      this.#db = openDatabase(this.path, { schema: SCHEMA });
    } catch (error) {
      throw registryUnavailable("local", `Cannot open the local registry at ${this.path}`, {
        cause: error,
        data: { path: this.path },
      });
    }
    this.#sql = {
      upsert: this.#db.prepare(
        `INSERT INTO instances (service, id, address, port, metadata, ttl_ms, expires_at, token)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (service, id) DO UPDATE SET address = excluded.address, port = excluded.port,
           metadata = excluded.metadata, ttl_ms = excluded.ttl_ms,
           expires_at = excluded.expires_at, token = excluded.token`,
      ),
      renew: this.#db.prepare(
        "UPDATE instances SET expires_at = ? WHERE service = ? AND id = ? AND token = ?",
      ),
      owner: this.#db.prepare("SELECT token FROM instances WHERE service = ? AND id = ?"),
      remove: this.#db.prepare("DELETE FROM instances WHERE service = ? AND id = ? AND token = ?"),
      live: this.#db.prepare(
        `SELECT service, id, address, port, metadata FROM instances
         WHERE service = ? AND expires_at > ? ORDER BY id`,
      ),
      gc: this.#db.prepare("DELETE FROM instances WHERE expires_at < ?"),
    };
    this.#clock = options.clock ?? systemClock;
    this.#pollIntervalMs = pollIntervalMs;
    this.#onError = options.onError;
  }

  /**
   * Writes the instance (replacing a row with the same service and id, e.g.
   * left by a previous run of the same instance) and renews it every
   * `ttlMs / 3` until the handle is deregistered or disposed.
   */
  // deno-lint-ignore require-await
  async register(
    registration: Registration,
    options: RegistryCallOptions = {},
  ): Promise<RegistrationHandle> {
    options.signal?.throwIfAborted();
    this.#checkOpen("register an instance");
    const { instance, ttlMs } = checkRegistration(registration);
    const handle: LocalHandle = new LocalHandle(instance, ttlMs, crypto.randomUUID(), {
      beat: () => this.#heartbeat(handle),
      remove: () => this.#remove(handle),
    });
    this.#write(handle, "register the instance");
    this.#handles.add(handle);
    handle.schedule();
    this.#collectGarbage();
    return handle;
  }

  /** The instances of `service` whose rows have not expired, sorted by id. */
  // deno-lint-ignore require-await
  async instances(
    service: string,
    options: RegistryCallOptions = {},
  ): Promise<ServiceInstance[]> {
    options.signal?.throwIfAborted();
    checkService(service);
    this.#checkOpen("list instances");
    const now = this.#clock.now();
    let rows: Row[];
    try {
      rows = this.#sql.live.all(service, now);
    } catch (error) {
      throw registryUnavailable("local", `Cannot read the local registry at ${this.path}`, {
        cause: error,
      });
    }
    this.#collectGarbage();
    const instances: ServiceInstance[] = [];
    for (const row of rows) {
      instances.push(toInstance({
        service,
        id: text(row, "id"),
        address: text(row, "address"),
        port: integer(row, "port"),
        metadata: parseMetadata(text(row, "metadata")),
      }));
    }
    return sortInstances(instances);
  }

  /**
   * Yields the live instances of `service` now, then each time they change,
   * reading the database every `pollIntervalMs`. Read failures are retried
   * at the next poll. Ends when `signal` aborts or the registry is disposed.
   */
  async *watch(
    service: string,
    options: RegistryCallOptions = {},
  ): AsyncGenerator<ServiceInstance[], void, undefined> {
    checkService(service, "watch instances");
    yield* watchByPolling((signal) => this.instances(service, { signal }), {
      intervalMs: this.#pollIntervalMs,
      signal: anySignal(options.signal, this.#disposed.signal),
    });
  }

  /**
   * Stops every heartbeat and watch and closes the database. The instances
   * registered through this registry stay listed until their TTL passes.
   */
  [Symbol.asyncDispose](): Promise<void> {
    if (this.#disposed.signal.aborted) return Promise.resolve();
    this.#disposed.abort();
    for (const handle of this.#handles) handle.stop();
    this.#handles.clear();
    this.#db.close();
    return Promise.resolve();
  }

  /** Renews `handle`'s row; re-inserts it when it was collected. */
  #heartbeat(handle: LocalHandle): void {
    if (this.#disposed.signal.aborted) return;
    const { service, id } = handle.instance;
    try {
      const { changes } = this.#sql.renew.run(
        this.#clock.now() + handle.ttlMs,
        service,
        id,
        handle.token,
      );
      if (Number(changes) > 0) return;
      const owner = this.#sql.owner.get(service, id);
      if (owner === undefined) {
        this.#write(handle, "renew the instance");
      } else {
        // Another registration of the same instance took over: let it be.
        handle.stop();
        this.#handles.delete(handle);
      }
    } catch (error) {
      this.#onError?.(
        error instanceof DiscoveryError ? error : registryUnavailable(
          "local",
          `Cannot renew the instance '${id}' of '${service}' in ${this.path}`,
          { cause: error },
        ),
      );
    }
  }

  /** Removes `handle`'s row, unless another registration replaced it. */
  #remove(handle: LocalHandle): void {
    this.#handles.delete(handle);
    if (this.#disposed.signal.aborted) return;
    const { service, id } = handle.instance;
    try {
      this.#sql.remove.run(service, id, handle.token);
    } catch (error) {
      throw registryUnavailable(
        "local",
        `Cannot deregister the instance '${id}' of '${service}' from ${this.path}`,
        { cause: error },
      );
    }
  }

  #write(handle: LocalHandle, action: string): void {
    const { service, id, address, port, metadata } = handle.instance;
    try {
      this.#sql.upsert.run(
        service,
        id,
        address,
        port,
        JSON.stringify(metadata),
        handle.ttlMs,
        this.#clock.now() + handle.ttlMs,
        handle.token,
      );
    } catch (error) {
      throw registryUnavailable(
        "local",
        `Cannot ${action} '${id}' of '${service}' in ${this.path}`,
        {
          cause: error,
        },
      );
    }
  }

  #collectGarbage(): void {
    const now = this.#clock.now();
    if (now - this.#lastGcAt < GC_INTERVAL_MS) return;
    this.#lastGcAt = now;
    try {
      this.#sql.gc.run(now - GC_GRACE_MS);
    } catch {
      // Another process holds the lock for long: collect next time.
    }
  }

  #checkOpen(action: string): void {
    if (this.#disposed.signal.aborted) {
      throw new Error(`Cannot ${action} as the local registry at ${this.path} is disposed`);
    }
  }
}

interface LocalHandleHooks {
  /** Renews the row. */
  beat(): void;
  /** Deletes the row. */
  remove(): void;
}

/** The handle of one registration in a {@link LocalRegistry}. */
class LocalHandle implements RegistrationHandle {
  readonly instance: ServiceInstance;
  readonly ttlMs: number;
  readonly token: string;
  #hooks: LocalHandleHooks;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #active = true;

  constructor(instance: ServiceInstance, ttlMs: number, token: string, hooks: LocalHandleHooks) {
    this.#hooks = hooks;
    this.instance = instance;
    this.ttlMs = ttlMs;
    this.token = token;
  }

  /** Arms the next heartbeat; the timer does not keep the process alive by itself. */
  schedule(): void {
    if (!this.#active) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#hooks.beat();
      this.schedule();
    }, Math.max(1, Math.floor(this.ttlMs / 3)));
    Deno.unrefTimer(this.#timer as unknown as number);
  }

  stop(): void {
    this.#active = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  deregister(): Promise<void> {
    if (!this.#active) return Promise.resolve();
    this.stop();
    try {
      this.#hooks.remove();
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.deregister();
  }
}
