/**
 * Discovery and registration through a Consul agent's HTTP API.
 *
 * @module
 */

import { DiscoveryError, registryUnavailable } from "./errors.ts";
import type {
  Registration,
  RegistrationHandle,
  Registry,
  RegistryCallOptions,
  ServiceInstance,
} from "./registry.ts";
import { anySignal, delay } from "./_shared_abort.ts";
import { checkRegistration, checkService, fingerprint, toInstance } from "./_shared_instances.ts";

/** Options of {@link ConsulRegistry}. */
export interface ConsulRegistryOptions {
  /** Base URL of the Consul agent's HTTP API. @default {"http://127.0.0.1:8500"} */
  endpoint?: string | undefined;
  /** ACL token, sent as `X-Consul-Token`. @default {none} */
  token?: string | undefined;
  /** Datacenter to query (`dc`). @default {the agent's own} */
  datacenter?: string | undefined;
  /**
   * TTL of the check of a registration that names no `ttlMs`: Consul marks
   * the instance critical (and stops listing it) when the handle has not
   * passed the check for this long. @default {10_000}
   */
  ttlMs?: number | undefined;
  /**
   * How long an instance may stay critical before Consul deregisters it
   * (`DeregisterCriticalServiceAfter`), in milliseconds. Consul enforces at
   * least one minute. @default {60_000}
   */
  deregisterCriticalAfterMs?: number | undefined;
  /**
   * Whether a registration gets a TTL check that its handle keeps passing
   * every `ttlMs / 3`. When `false`, a registration must name a
   * `healthCheckUrl` and only Consul's HTTP check decides its health.
   * @default {true}
   */
  ttlCheck?: boolean | undefined;
  /** How often Consul probes a registration's `healthCheckUrl`, in milliseconds. @default {10_000} */
  httpCheckIntervalMs?: number | undefined;
  /** How long Consul waits for the `healthCheckUrl` to answer, in milliseconds. @default {5_000} */
  httpCheckTimeoutMs?: number | undefined;
  /**
   * How long one blocking query of a watch may wait for a change (`wait`),
   * in milliseconds; Consul allows at most 10 minutes. @default {60_000}
   */
  watchWaitMs?: number | undefined;
  /**
   * The shortest time between two queries of one watch, in milliseconds,
   * so that a busy index does not turn the watch into a hot loop.
   * @default {100}
   */
  watchMinIntervalMs?: number | undefined;
  /**
   * Time limit of a non-blocking request, in milliseconds (a blocking query
   * gets `watchWaitMs` plus `watchWaitMs / 16` more). @default {10_000}
   */
  requestTimeoutMs?: number | undefined;
  /** First pause after a failed query of a watch, in milliseconds; it doubles per failure. @default {500} */
  retryInitialMs?: number | undefined;
  /** Longest pause after failed queries of a watch, in milliseconds. @default {30_000} */
  retryMaxMs?: number | undefined;
  /**
   * Told about errors that background work survives: a failed query of a
   * watch (retried with backoff) and a failed TTL pass of a handle (retried
   * at the next beat).
   */
  onError?: ((error: DiscoveryError) => void) | undefined;
}

/** An entry of `GET /v1/health/service/<name>`, with the fields this registry reads. */
interface HealthEntry {
  Node?: { Node?: string; Address?: string } | null;
  Service?: {
    ID?: string;
    Service?: string;
    Address?: string;
    Port?: number;
    Meta?: Record<string, unknown> | null;
  } | null;
}

interface Reply {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * A {@link Registry} backed by a Consul agent, through its HTTP API.
 *
 * - `register` is `PUT /v1/agent/service/register` with the instance's
 *   `ID`, `Name`, `Address`, `Port` and `Meta`, and a TTL check
 *   (`CheckID` `service:<id>`, `TTL`, `DeregisterCriticalServiceAfter`) that
 *   the handle passes (`PUT /v1/agent/check/pass/service:<id>`) at once and
 *   then every `ttlMs / 3`. A `healthCheckUrl` adds an HTTP check that
 *   Consul runs (`service:<id>:http`), or replaces the TTL check when
 *   `ttlCheck` is `false`. If the agent no longer knows the check (it
 *   restarted, or reaped the service), the handle registers again.
 *   `deregister` is `PUT /v1/agent/service/deregister/<id>`.
 * - `instances` is `GET /v1/health/service/<name>?passing=true`: `Service.ID`
 *   is the id, `Service.Address` (else `Node.Address`) the address,
 *   `Service.Meta` the metadata. An id that more than one node reports is
 *   told apart as `<id>@<node>`.
 * - `watch` runs blocking queries on the same endpoint (`index`, `wait`),
 *   yields when the list changes, resets the index when it goes backwards
 *   or is not positive, waits at least `watchMinIntervalMs` between queries
 *   and backs off after errors.
 *
 * Failures are `REGISTRY_UNAVAILABLE` {@link DiscoveryError}s whose `data`
 * holds the HTTP `status` and Consul's `body` when Consul answered (a 403
 * for a missing or wrong ACL token included).
 *
 * @example
 * ```ts
 * import { ConsulRegistry } from "@flotilla/discovery";
 *
 * await using registry = new ConsulRegistry({ endpoint: "http://127.0.0.1:8500" });
 * await using handle = await registry.register({
 *   service: "payment", id: "payment-1", address: "10.0.0.5", port: 7001,
 *   metadata: { protocol: "http" }, ttlMs: 10_000,
 * });
 * const instances = await registry.instances("payment");
 * ```
 */
export class ConsulRegistry implements Registry {
  /** Always `consul`. */
  readonly kind = "consul";
  #endpoint: string;
  #token: string | undefined;
  #datacenter: string | undefined;
  #ttlMs: number;
  #deregisterAfterMs: number;
  #ttlCheck: boolean;
  #httpIntervalMs: number;
  #httpTimeoutMs: number;
  #waitMs: number;
  #minIntervalMs: number;
  #requestTimeoutMs: number;
  #retryInitialMs: number;
  #retryMaxMs: number;
  #onError: ((error: DiscoveryError) => void) | undefined;
  #handles = new Set<RegistrationHandle>();
  #disposed = new AbortController();

  /** Creates a registry for the agent at `endpoint`; it sends nothing until used. */
  constructor(options: ConsulRegistryOptions = {}) {
    const endpoint = options.endpoint ?? "http://127.0.0.1:8500";
    const url = URL.canParse(endpoint) ? new URL(endpoint) : undefined;
    if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
      throw new RangeError(
        `Cannot create the Consul registry as 'endpoint' must be an http or https URL: current value is ${
          JSON.stringify(endpoint)
        }`,
      );
    }
    this.#endpoint = url.href.replace(/\/+$/, "");
    this.#token = options.token;
    this.#datacenter = options.datacenter;
    this.#ttlMs = positive("ttlMs", options.ttlMs ?? 10_000);
    this.#deregisterAfterMs = positive(
      "deregisterCriticalAfterMs",
      options.deregisterCriticalAfterMs ?? 60_000,
    );
    this.#ttlCheck = options.ttlCheck ?? true;
    this.#httpIntervalMs = positive("httpCheckIntervalMs", options.httpCheckIntervalMs ?? 10_000);
    this.#httpTimeoutMs = positive("httpCheckTimeoutMs", options.httpCheckTimeoutMs ?? 5_000);
    this.#waitMs = positive("watchWaitMs", options.watchWaitMs ?? 60_000);
    if (this.#waitMs > 600_000) {
      throw new RangeError(
        `Cannot create the Consul registry as 'watchWaitMs' must be at most 600000: current value is ${this.#waitMs}`,
      );
    }
    this.#minIntervalMs = nonNegative("watchMinIntervalMs", options.watchMinIntervalMs ?? 100);
    this.#requestTimeoutMs = positive("requestTimeoutMs", options.requestTimeoutMs ?? 10_000);
    this.#retryInitialMs = positive("retryInitialMs", options.retryInitialMs ?? 500);
    this.#retryMaxMs = positive("retryMaxMs", options.retryMaxMs ?? 30_000);
    this.#onError = options.onError;
  }

  /**
   * Registers the instance with the agent and keeps its TTL check passing
   * until the handle is deregistered or disposed.
   *
   * @throws {RangeError} when the registration is malformed, or its
   * metadata breaks Consul's rules for `Meta` (keys of letters, digits, `_`
   * and `-`, not starting with `consul-`).
   * @throws {DiscoveryError} `REGISTRY_UNAVAILABLE` when the agent cannot be
   * reached or refuses the registration.
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
    const healthCheckUrl = registration.healthCheckUrl;
    if (healthCheckUrl !== undefined && !isHttpUrl(healthCheckUrl)) {
      throw new RangeError(
        `Cannot register the instance as 'healthCheckUrl' must be an http or https URL: current value is ${
          JSON.stringify(healthCheckUrl)
        }`,
      );
    }
    if (!this.#ttlCheck && healthCheckUrl === undefined) {
      throw new RangeError(
        "Cannot register the instance as 'healthCheckUrl' must be set when the registry's 'ttlCheck' is false: current value is undefined",
      );
    }
    checkMeta(instance.metadata);
    const body = this.#registrationBody(instance, ttlMs, healthCheckUrl);
    const checkId = `service:${instance.id}`;
    const signal = options.signal;
    await this.#register(body, instance.id, signal);
    if (this.#ttlCheck) {
      try {
        await this.#pass(checkId, signal);
      } catch (error) {
        await this.#deregister(instance.id).catch(() => {});
        throw error;
      }
    }

    const stop = new AbortController();
    let beating = Promise.resolve();
    if (this.#ttlCheck) {
      beating = this.#heartbeat(body, instance.id, checkId, ttlMs, stop.signal);
    }
    let deregistering: Promise<void> | undefined;
    const handle: RegistrationHandle = {
      instance,
      deregister: () => {
        deregistering ??= (async () => {
          stop.abort();
          await beating;
          try {
            await this.#deregister(instance.id);
            this.#handles.delete(handle);
          } catch (error) {
            deregistering = undefined; // let a later call try again
            throw error;
          }
        })();
        return deregistering;
      },
      [Symbol.asyncDispose]: () => handle.deregister(),
    };
    this.#handles.add(handle);
    if (this.#disposed.signal.aborted) {
      // Disposed while registering: do not leave a heartbeat behind.
      await handle.deregister();
      throw new Error("Cannot register an instance as the Consul registry is disposed");
    }
    return handle;
  }

  /**
   * The instances of `service` whose checks all pass.
   *
   * @throws {DiscoveryError} `REGISTRY_UNAVAILABLE` when the agent cannot be
   * reached or answers with an error.
   */
  async instances(service: string, options: RegistryCallOptions = {}): Promise<ServiceInstance[]> {
    checkService(service);
    options.signal?.throwIfAborted();
    this.#checkOpen("list instances");
    return (await this.#health(service, undefined, options.signal)).instances;
  }

  /**
   * Yields the instances of `service` whose checks all pass, now and then
   * each time they change, through blocking queries. Failed queries are
   * reported to `onError` and retried with backoff while the last list
   * stands. Ends when `signal` aborts or the registry is disposed.
   */
  async *watch(
    service: string,
    options: RegistryCallOptions = {},
  ): AsyncGenerator<ServiceInstance[], void, undefined> {
    checkService(service, "watch instances");
    const signal = anySignal(options.signal, this.#disposed.signal);
    let index = 0;
    let last: string | undefined;
    let failures = 0;
    let startedAt = -Infinity;
    while (!signal.aborted) {
      const since = Date.now() - startedAt;
      if (since < this.#minIntervalMs && !await delay(this.#minIntervalMs - since, signal)) return;
      startedAt = Date.now();
      let result: { instances: ServiceInstance[]; index: number | undefined };
      try {
        result = await this.#health(service, index > 0 ? index : undefined, signal);
      } catch (error) {
        if (signal.aborted) return;
        if (!(error instanceof DiscoveryError && error.retryable)) throw error;
        this.#onError?.(error);
        const pause = Math.min(this.#retryInitialMs * 2 ** failures, this.#retryMaxMs);
        failures++;
        // Jitter spreads the retries of many watchers.
        if (!await delay(pause / 2 + Math.random() * pause / 2, signal)) return;
        continue;
      }
      failures = 0;
      const next = result.index;
      if (next === undefined || next < index) index = 0; // gone backwards: start over
      else index = Math.max(next, 1); // never 0, which would not block
      const current = fingerprint(result.instances);
      if (current !== last) {
        last = current;
        yield result.instances;
      }
    }
  }

  /** Ends every watch and deregisters every instance still registered through this registry. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#disposed.signal.aborted) return;
    this.#disposed.abort();
    await Promise.allSettled([...this.#handles].map((handle) => handle.deregister()));
  }

  #registrationBody(
    instance: ServiceInstance,
    ttlMs: number,
    healthCheckUrl: string | undefined,
  ): Record<string, unknown> {
    const deregisterAfter = goDuration(this.#deregisterAfterMs);
    const checks: Record<string, unknown>[] = [];
    if (this.#ttlCheck) {
      checks.push({
        CheckID: `service:${instance.id}`,
        Name: `Flotilla TTL of ${instance.id}`,
        Notes: "Passed by the registering process every TTL/3 while it runs.",
        TTL: goDuration(ttlMs),
        DeregisterCriticalServiceAfter: deregisterAfter,
      });
    }
    if (healthCheckUrl !== undefined) {
      checks.push({
        CheckID: `service:${instance.id}:http`,
        Name: `HTTP health of ${instance.id}`,
        HTTP: healthCheckUrl,
        Method: "GET",
        Interval: goDuration(this.#httpIntervalMs),
        Timeout: goDuration(this.#httpTimeoutMs),
        DeregisterCriticalServiceAfter: deregisterAfter,
      });
    }
    return {
      ID: instance.id,
      Name: instance.service,
      Address: instance.address,
      Port: instance.port,
      Meta: { ...instance.metadata },
      ...(checks.length === 1 ? { Check: checks[0] } : { Checks: checks }),
    };
  }

  async #register(body: Record<string, unknown>, id: string, signal?: AbortSignal): Promise<void> {
    const reply = await this.#send(
      "PUT",
      "/v1/agent/service/register",
      { "replace-existing-checks": "true" },
      body,
      signal,
    );
    if (reply.status !== 200) throw this.#failed(`Cannot register ${id}`, reply);
  }

  /** Passes the TTL check; `false` when the agent does not know it. */
  async #pass(checkId: string, signal?: AbortSignal): Promise<boolean> {
    const reply = await this.#send(
      "PUT",
      `/v1/agent/check/pass/${encodeURIComponent(checkId).replaceAll("%3A", ":")}`,
      {},
      undefined,
      signal,
    );
    if (reply.status === 200) return true;
    if (reply.status === 404 || /does not have associated TTL|Unknown check/i.test(reply.text)) {
      return false;
    }
    throw this.#failed(`Cannot pass the TTL check ${checkId}`, reply);
  }

  async #deregister(id: string): Promise<void> {
    const reply = await this.#send(
      "PUT",
      `/v1/agent/service/deregister/${encodeURIComponent(id)}`,
      {},
      undefined,
      undefined,
    );
    // Unknown: already gone (reaped, or deregistered elsewhere).
    if (reply.status === 200 || reply.status === 404 || /Unknown service/i.test(reply.text)) return;
    throw this.#failed(`Cannot deregister ${id}`, reply);
  }

  async #heartbeat(
    body: Record<string, unknown>,
    id: string,
    checkId: string,
    ttlMs: number,
    signal: AbortSignal,
  ): Promise<void> {
    while (await delay(Math.max(1, Math.floor(ttlMs / 3)), signal)) {
      try {
        if (!await this.#pass(checkId, signal)) {
          // The agent forgot the service (restart, or reaped as critical): register again.
          await this.#register(body, id, signal);
          await this.#pass(checkId, signal);
        }
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof DiscoveryError) this.#onError?.(error);
      }
    }
  }

  async #health(
    service: string,
    index: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<{ instances: ServiceInstance[]; index: number | undefined }> {
    const query: Record<string, string> = { passing: "true" };
    if (index !== undefined) {
      query.index = String(index);
      query.wait = goDuration(this.#waitMs);
    }
    const timeoutMs = index === undefined
      ? this.#requestTimeoutMs
      : this.#waitMs + this.#waitMs / 16 + this.#requestTimeoutMs;
    const reply = await this.#send(
      "GET",
      `/v1/health/service/${encodeURIComponent(service)}`,
      query,
      undefined,
      signal,
      timeoutMs,
    );
    if (reply.status !== 200) throw this.#failed(`Cannot list the instances of ${service}`, reply);
    let entries: unknown;
    try {
      entries = JSON.parse(reply.text);
    } catch (error) {
      throw this.#failed(`Cannot list the instances of ${service}`, reply, error);
    }
    if (!Array.isArray(entries)) {
      throw this.#failed(`Cannot list the instances of ${service}`, reply);
    }
    const header = reply.headers.get("X-Consul-Index");
    const next = header === null ? undefined : Number(header);
    return {
      instances: toInstances(service, entries as HealthEntry[]),
      index: next !== undefined && Number.isSafeInteger(next) ? next : undefined,
    };
  }

  async #send(
    method: "GET" | "PUT",
    path: string,
    query: Record<string, string>,
    body: unknown,
    callSignal: AbortSignal | undefined,
    timeoutMs = this.#requestTimeoutMs,
  ): Promise<Reply> {
    const url = new URL(this.#endpoint + path);
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    if (this.#datacenter !== undefined) url.searchParams.set("dc", this.#datacenter);
    const headers = new Headers();
    if (this.#token !== undefined) headers.set("X-Consul-Token", this.#token);
    if (body !== undefined) headers.set("Content-Type", "application/json");
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      const response = await fetch(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: anySignal(callSignal, timeout),
      });
      return { status: response.status, headers: response.headers, text: await response.text() };
    } catch (error) {
      callSignal?.throwIfAborted();
      const reason = timeout.aborted ? `no answer within ${timeoutMs} ms` : String(error);
      throw registryUnavailable(
        "consul",
        `Cannot reach Consul at ${this.#endpoint} (${method} ${path}): ${reason}`,
        { cause: error, data: { endpoint: this.#endpoint } },
      );
    }
  }

  #failed(action: string, reply: Reply, cause?: unknown): DiscoveryError {
    const text = reply.text.trim().slice(0, 500);
    return registryUnavailable(
      "consul",
      `${action}: Consul at ${this.#endpoint} answered ${reply.status}${text ? ` ${text}` : ""}`,
      {
        ...(cause === undefined ? {} : { cause }),
        data: { endpoint: this.#endpoint, status: reply.status, body: text },
      },
    );
  }

  #checkOpen(action: string): void {
    if (this.#disposed.signal.aborted) {
      throw new Error(`Cannot ${action} as the Consul registry is disposed`);
    }
  }
}

/** Maps health entries to instances, telling apart an id that several nodes report. */
function toInstances(service: string, entries: readonly HealthEntry[]): ServiceInstance[] {
  const valid = entries.filter((entry) =>
    typeof entry?.Service?.ID === "string" && typeof entry.Service.Port === "number" &&
    (entry.Service.Address || entry.Node?.Address)
  );
  const counts = new Map<string, number>();
  for (const entry of valid) {
    const id = entry.Service!.ID!;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const instances = valid.map((entry) => {
    const s = entry.Service!;
    const node = entry.Node ?? {};
    const metadata: Record<string, string> = {};
    for (const [key, value] of Object.entries(s.Meta ?? {})) {
      if (typeof value === "string") metadata[key] = value;
    }
    const id = counts.get(s.ID!)! > 1 ? `${s.ID}@${node.Node ?? ""}` : s.ID!;
    return toInstance({
      service,
      id,
      address: (s.Address || node.Address)!,
      port: s.Port!,
      metadata,
    });
  });
  return instances.sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Consul's limits on service `Meta`, checked here so that a bad key is a RangeError, not a 400. */
function checkMeta(metadata: Readonly<Record<string, string>>): void {
  const entries = Object.entries(metadata);
  const fail = (what: string, value: unknown) => {
    throw new RangeError(
      `Cannot register the instance as ${what}: current value is ${JSON.stringify(value)}`,
    );
  };
  if (entries.length > 64) fail("Consul allows at most 64 'metadata' entries", entries.length);
  for (const [key, value] of entries) {
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(key) || key.startsWith("consul-")) {
      fail(
        "each 'metadata' key must be 1-128 letters, digits, '_' or '-' and not start with 'consul-' (Consul's rule)",
        key,
      );
    }
    if (value.length > 512) fail(`'metadata.${key}' must be at most 512 characters`, value);
  }
}

/** A Go duration for `ms`: `10s` when whole seconds, else `1500ms`. */
function goDuration(ms: number): string {
  return ms % 1_000 === 0 ? `${ms / 1_000}s` : `${Math.round(ms)}ms`;
}

function isHttpUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const { protocol } = new URL(value);
  return protocol === "http:" || protocol === "https:";
}

function positive(option: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new RangeError(
      `Cannot create the Consul registry as '${option}' must be a positive number: current value is ${value}`,
    );
  }
  return value;
}

function nonNegative(option: string, value: number): number {
  if (!(Number.isFinite(value) && value >= 0)) {
    throw new RangeError(
      `Cannot create the Consul registry as '${option}' must be a number >= 0: current value is ${value}`,
    );
  }
  return value;
}
