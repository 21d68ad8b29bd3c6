/**
 * A registry on etcd v3: instances are keys bound to leases, watched through
 * etcd's streaming watch. Talks to etcd's HTTP/JSON gateway with `fetch`; no
 * driver.
 *
 * @module
 */

import { DiscoveryError } from "./errors.ts";
import type {
  Registration,
  RegistrationHandle,
  Registry,
  RegistryCallOptions,
  ServiceInstance,
} from "./registry.ts";
import { anySignal, delay } from "./_shared_abort.ts";
import {
  checkRegistration,
  checkService,
  fingerprint,
  parseInstance,
  sortInstances,
} from "./_shared_instances.ts";
import {
  EtcdGateway,
  fromBase64,
  isLeaseNotFound,
  prefixRangeEnd,
  toBase64,
} from "./_etcd_gateway.ts";

/** Options of {@link EtcdRegistry}. */
export interface EtcdRegistryOptions {
  /** etcd's client URL. @default {"http://127.0.0.1:2379"} */
  endpoint?: string;
  /** The key prefix under which `<service>/<id>` keys live. @default {"/flotilla/services/"} */
  prefix?: string;
  /**
   * The TTL of registrations that name none, in milliseconds. etcd leases
   * count whole seconds: the lease gets `ceil(ttlMs / 1000)` seconds, at
   * least 1 (and etcd raises very short leases to its own minimum, 2 s by
   * default).
   * @default {10_000}
   */
  ttlMs?: number;
  /** How long one request to etcd may take, in milliseconds. @default {5_000} */
  requestTimeoutMs?: number;
  /** First pause before a watch reconnects after an error, in milliseconds. @default {100} */
  reconnectMinMs?: number;
  /** Longest pause between a watch's reconnection attempts, in milliseconds. @default {5_000} */
  reconnectMaxMs?: number;
  /**
   * The HTTP client for requests to etcd. By default a loopback endpoint
   * gets a client that connects straight to it, ignoring `HTTP_PROXY`, and
   * any other endpoint uses `fetch`'s default (which honours `HTTP_PROXY` and
   * `NO_PROXY`). A client passed here is not closed by the registry.
   */
  client?: Deno.HttpClient;
  /**
   * Told about failures the registry recovers from by itself: a lease
   * renewal that failed (retried at the next renewal) and a watch stream
   * that broke (reconnected with backoff).
   */
  onError?: (error: DiscoveryError) => void;
}

/** What `instances()` reads: the list and the revision it was read at. */
interface Snapshot {
  instances: Map<string, ServiceInstance>;
  revision: bigint;
}

interface RangeResponse {
  header?: { revision?: string };
  kvs?: Array<{ key?: string; value?: string }>;
}

interface WatchResult {
  header?: { revision?: string };
  created?: boolean;
  canceled?: boolean;
  compact_revision?: string;
  cancel_reason?: string;
  events?: Array<{ type?: string; kv?: { key?: string; value?: string; mod_revision?: string } }>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/i;

/**
 * A {@link Registry} on etcd v3, through its HTTP/JSON gateway.
 *
 * - `register()` grants a lease of the TTL (whole seconds, rounded up) and
 *   puts `<prefix><service>/<id>` = the instance as JSON, bound to the
 *   lease; the handle renews the lease every `ttlMs / 3`, and when etcd has
 *   lost it (expired while this process was paused or cut off) grants a new
 *   one and puts the key again. `deregister()` revokes the lease, which
 *   deletes the key. A process that dies stops renewing and its key goes
 *   with its lease, within the TTL.
 * - `instances()` reads the keys under `<prefix><service>/`.
 * - `watch()` reads them, then follows etcd's watch stream from the next
 *   revision; after a broken stream it reconnects with backoff and reads
 *   the keys again, so no change is missed.
 *
 * Failures to reach etcd are `REGISTRY_UNAVAILABLE` {@link DiscoveryError}s.
 * Disposing the registry stops its renewals and watches without revoking
 * leases: its instances then expire as a crashed process's would.
 *
 * @example
 * ```ts
 * import { EtcdRegistry } from "@flotilla/discovery";
 *
 * await using registry = new EtcdRegistry({ endpoint: "http://127.0.0.1:2379", ttlMs: 6_000 });
 * await using _handle = await registry.register({
 *   service: "payment", id: "payment-1", address: "10.0.0.7", port: 7001, metadata: {},
 * });
 * await registry.instances("payment"); // [{ service: "payment", id: "payment-1", … }]
 * ```
 */
export class EtcdRegistry implements Registry {
  /** Always `etcd`. */
  readonly kind = "etcd";
  /** etcd's client URL. */
  readonly endpoint: string;
  /** The key prefix, ending with `/`. */
  readonly prefix: string;
  #gateway: EtcdGateway;
  #ownClient: Deno.HttpClient | undefined;
  #ttlMs: number;
  #reconnectMinMs: number;
  #reconnectMaxMs: number;
  #onError: ((error: DiscoveryError) => void) | undefined;
  #handles = new Set<EtcdHandle>();
  #disposed = new AbortController();

  /**
   * Creates the registry; no request is made until it is used.
   *
   * @throws {RangeError} when an option is invalid.
   */
  constructor(options: EtcdRegistryOptions = {}) {
    const endpoint = options.endpoint ?? "http://127.0.0.1:2379";
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      url = new URL("invalid:");
    }
    if ((url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "") {
      throw new RangeError(
        `Cannot create the etcd registry as 'endpoint' must be an http(s) URL: current value is ${
          JSON.stringify(endpoint)
        }`,
      );
    }
    const prefix = options.prefix ?? "/flotilla/services/";
    if (typeof prefix !== "string" || prefix === "") {
      throw new RangeError(
        `Cannot create the etcd registry as 'prefix' must be a non-empty string: current value is ${
          JSON.stringify(prefix)
        }`,
      );
    }
    const ttlMs = positiveInteger("ttlMs", options.ttlMs ?? 10_000);
    const requestTimeoutMs = positiveInteger("requestTimeoutMs", options.requestTimeoutMs ?? 5_000);
    this.#reconnectMinMs = positiveInteger("reconnectMinMs", options.reconnectMinMs ?? 100);
    this.#reconnectMaxMs = positiveInteger("reconnectMaxMs", options.reconnectMaxMs ?? 5_000);
    if (this.#reconnectMaxMs < this.#reconnectMinMs) {
      throw new RangeError(
        `Cannot create the etcd registry as 'reconnectMaxMs' must be >= 'reconnectMinMs' (${this.#reconnectMinMs}): current value is ${this.#reconnectMaxMs}`,
      );
    }
    this.endpoint = url.origin;
    this.prefix = prefix.endsWith("/") ? prefix : `${prefix}/`;
    this.#ttlMs = ttlMs;
    this.#onError = options.onError;
    let client = options.client;
    if (client === undefined && url.protocol === "http:" && LOOPBACK.test(url.hostname)) {
      // Deno's fetch sends even loopback requests through HTTP_PROXY unless
      // NO_PROXY lists the host: connect straight to the endpoint instead.
      client = this.#ownClient = Deno.createHttpClient({
        proxy: {
          transport: "tcp",
          hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"),
          port: Number(url.port || 80),
        },
      });
    }
    this.#gateway = new EtcdGateway({ endpoint: this.endpoint, client, requestTimeoutMs });
  }

  /**
   * Grants a lease, puts the instance's key bound to it, and keeps the lease
   * alive until the handle is deregistered or disposed.
   *
   * @throws {DiscoveryError} `REGISTRY_UNAVAILABLE` when etcd cannot be reached.
   */
  async register(
    registration: Registration,
    options: RegistryCallOptions = {},
  ): Promise<RegistrationHandle> {
    options.signal?.throwIfAborted();
    this.#checkOpen("register an instance");
    const { instance, ttlMs } = checkRegistration({
      ...registration,
      ttlMs: registration.ttlMs ?? this.#ttlMs,
    });
    const signal = anySignal(options.signal, this.#disposed.signal);
    const key = `${this.prefix}${instance.service}/${instance.id}`;
    const handle = new EtcdHandle(instance, ttlMs, {
      grantAndPut: (s) => this.#grantAndPut(key, instance, ttlMs, s),
      keepAlive: (lease, s) => this.#keepAlive(lease, s),
      revoke: (lease) => this.#revoke(lease),
      onError: (error) => this.#onError?.(error),
      forget: (h) => this.#handles.delete(h),
    });
    await handle.start(signal);
    this.#handles.add(handle);
    return handle;
  }

  /**
   * The instances of `service` listed in etcd, sorted by id.
   *
   * @throws {DiscoveryError} `REGISTRY_UNAVAILABLE` when etcd cannot be reached.
   */
  async instances(service: string, options: RegistryCallOptions = {}): Promise<ServiceInstance[]> {
    options.signal?.throwIfAborted();
    checkService(service);
    this.#checkOpen("list instances");
    const snapshot = await this.#range(service, anySignal(options.signal, this.#disposed.signal));
    return sortInstances([...snapshot.instances.values()]);
  }

  /**
   * Yields the instances of `service` now, then after each change reported
   * by etcd's watch stream. A broken stream is reopened with backoff (from
   * `reconnectMinMs` doubling up to `reconnectMaxMs`), after reading the
   * keys again; while etcd is unreachable the watch waits and retries
   * rather than failing. Ends when `signal` aborts or the registry is
   * disposed.
   */
  async *watch(
    service: string,
    options: RegistryCallOptions = {},
  ): AsyncGenerator<ServiceInstance[], void, undefined> {
    checkService(service, "watch instances");
    const signal = anySignal(options.signal, this.#disposed.signal);
    const prefix = `${this.prefix}${service}/`;
    let last: string | undefined;
    let backoff = this.#reconnectMinMs;
    while (!signal.aborted) {
      const attempt = new AbortController();
      const attemptSignal = anySignal(signal, attempt.signal);
      try {
        const snapshot = await this.#range(service, attemptSignal);
        const current = snapshotList(snapshot);
        if (fingerprint(current) !== last) {
          last = fingerprint(current);
          yield current;
        }
        const stream = this.#gateway.stream<WatchResult>("/v3/watch", {
          create_request: {
            key: toBase64(prefix),
            range_end: prefixRangeEnd(prefix),
            start_revision: String(snapshot.revision + 1n),
          },
        }, attemptSignal);
        for await (const result of stream) {
          if (result.created) backoff = this.#reconnectMinMs;
          if (result.canceled) break; // e.g. compacted: read the keys again
          let changed = false;
          for (const event of result.events ?? []) {
            const key = event.kv?.key;
            if (key === undefined) continue;
            if (event.type === "DELETE") {
              changed = snapshot.instances.delete(key) || changed;
            } else {
              const instance = parseInstance(fromBase64(event.kv?.value ?? ""));
              if (instance === undefined) changed = snapshot.instances.delete(key) || changed;
              else {
                snapshot.instances.set(key, instance);
                changed = true;
              }
            }
          }
          if (!changed) continue;
          const list = snapshotList(snapshot);
          if (fingerprint(list) !== last) {
            last = fingerprint(list);
            yield list;
          }
        }
        // The stream ended (closed or canceled by etcd): read the keys again, without spinning.
        if (!await delay(backoff, signal)) return;
        backoff = Math.min(backoff * 2, this.#reconnectMaxMs);
      } catch (error) {
        if (signal.aborted) return;
        if (!(error instanceof DiscoveryError)) throw error;
        this.#onError?.(error);
        if (!await delay(backoff, signal)) return;
        backoff = Math.min(backoff * 2, this.#reconnectMaxMs);
      } finally {
        attempt.abort();
      }
    }
  }

  /**
   * Stops every renewal and watch and closes the registry's own HTTP client.
   * Leases are not revoked: the instances registered through this registry
   * expire with them.
   */
  [Symbol.asyncDispose](): Promise<void> {
    if (this.#disposed.signal.aborted) return Promise.resolve();
    this.#disposed.abort();
    const stopping = [...this.#handles].map((handle) => handle.stop());
    this.#handles.clear();
    return Promise.all(stopping).then(() => this.#ownClient?.close());
  }

  async #range(service: string, signal: AbortSignal): Promise<Snapshot> {
    const prefix = `${this.prefix}${service}/`;
    const response = await this.#gateway.call<RangeResponse>("/v3/kv/range", {
      key: toBase64(prefix),
      range_end: prefixRangeEnd(prefix),
    }, signal);
    const instances = new Map<string, ServiceInstance>();
    for (const kv of response.kvs ?? []) {
      if (kv.key === undefined) continue;
      const instance = parseInstance(fromBase64(kv.value ?? ""));
      if (instance !== undefined) instances.set(kv.key, instance);
    }
    return { instances, revision: BigInt(response.header?.revision ?? "0") };
  }

  async #grantAndPut(
    key: string,
    instance: ServiceInstance,
    ttlMs: number,
    signal: AbortSignal,
  ): Promise<string> {
    const { ID: lease } = await this.#gateway.call<{ ID?: string }>("/v3/lease/grant", {
      TTL: String(Math.max(1, Math.ceil(ttlMs / 1000))),
    }, signal);
    if (lease === undefined) {
      throw new DiscoveryError(
        "REGISTRY_UNAVAILABLE",
        `etcd at ${this.endpoint} granted a lease without an ID`,
        { data: { registry: "etcd", endpoint: this.endpoint } },
      );
    }
    try {
      await this.#gateway.call("/v3/kv/put", {
        key: toBase64(key),
        value: toBase64(JSON.stringify(instance)),
        lease,
      }, signal);
    } catch (error) {
      await this.#revoke(lease).catch(() => {});
      throw error;
    }
    return lease;
  }

  /** Renews `lease`; `false` when etcd no longer knows it. */
  async #keepAlive(lease: string, signal: AbortSignal): Promise<boolean> {
    try {
      const result = await this.#gateway.call<{ TTL?: string }>("/v3/lease/keepalive", {
        ID: lease,
      }, signal);
      // A lease etcd no longer has is answered with no TTL (that is, 0).
      return Number(result.TTL ?? "0") > 0;
    } catch (error) {
      if (isLeaseNotFound(error)) return false;
      throw error;
    }
  }

  async #revoke(lease: string): Promise<void> {
    // After dispose the lease is left to expire, as a crashed process's would.
    if (this.#disposed.signal.aborted) return;
    try {
      await this.#gateway.call("/v3/lease/revoke", { ID: lease });
    } catch (error) {
      if (!isLeaseNotFound(error)) throw error;
    }
  }

  #checkOpen(action: string): void {
    if (this.#disposed.signal.aborted) {
      throw new Error(`Cannot ${action} as the etcd registry is disposed`);
    }
  }
}

function snapshotList(snapshot: Snapshot): ServiceInstance[] {
  return sortInstances([...snapshot.instances.values()]);
}

function positiveInteger(name: string, value: number): number {
  if (!(Number.isSafeInteger(value) && value > 0)) {
    throw new RangeError(
      `Cannot create the etcd registry as '${name}' must be a positive integer: current value is ${value}`,
    );
  }
  return value;
}

interface EtcdHandleHooks {
  grantAndPut(signal: AbortSignal): Promise<string>;
  keepAlive(lease: string, signal: AbortSignal): Promise<boolean>;
  revoke(lease: string): Promise<void>;
  onError(error: DiscoveryError): void;
  forget(handle: EtcdHandle): void;
}

/** One registration in etcd: its lease and the loop that keeps it alive. */
class EtcdHandle implements RegistrationHandle {
  readonly instance: ServiceInstance;
  #ttlMs: number;
  #hooks: EtcdHandleHooks;
  #lease: string | undefined;
  #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #revoked = false;

  constructor(instance: ServiceInstance, ttlMs: number, hooks: EtcdHandleHooks) {
    this.instance = instance;
    this.#ttlMs = ttlMs;
    this.#hooks = hooks;
  }

  async start(signal: AbortSignal): Promise<void> {
    this.#lease = await this.#hooks.grantAndPut(signal);
    this.#loop = this.#keepAliveLoop();
  }

  async #keepAliveLoop(): Promise<void> {
    const signal = this.#stop.signal;
    const interval = Math.max(1, Math.floor(this.#ttlMs / 3));
    while (await delay(interval, signal, true)) {
      try {
        const lease = this.#lease;
        if (lease !== undefined && await this.#hooks.keepAlive(lease, signal)) continue;
        // The lease is gone (expired while we were paused or cut off): register again.
        this.#lease = await this.#hooks.grantAndPut(signal);
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof DiscoveryError) this.#hooks.onError(error);
        else throw error;
      }
    }
  }

  /** Stops renewing, without revoking. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop?.catch(() => {});
  }

  async deregister(): Promise<void> {
    if (this.#revoked) return;
    await this.stop();
    this.#hooks.forget(this);
    const lease = this.#lease;
    if (lease !== undefined) await this.#hooks.revoke(lease);
    this.#revoked = true;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.deregister();
  }
}
