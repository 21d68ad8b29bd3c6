/**
 * Discovery through DNS SRV records, the way a Kubernetes headless Service
 * publishes its ready endpoints.
 *
 * @module
 */

import { isIP } from "node:net";
import { DiscoveryError, registrationUnsupported, registryUnavailable } from "./errors.ts";
import type {
  Registration,
  RegistrationHandle,
  Registry,
  RegistryCallOptions,
  ServiceInstance,
} from "./registry.ts";
import { anySignal, delay } from "./_shared_abort.ts";
import { checkService, fingerprint, toInstance } from "./_shared_instances.ts";

/** The DNS server a {@link DnsRegistry} asks. */
export interface DnsNameServer {
  /** Its IP address, e.g. `10.96.0.10`. */
  ipAddr: string;
  /** Its port. @default {53} */
  port?: number | undefined;
}

/** Options of {@link DnsRegistry}. */
export interface DnsRegistryOptions {
  /** The name server to query. @default {the system's resolver (`/etc/resolv.conf`)} */
  nameServer?: DnsNameServer | undefined;
  /**
   * The domain the services live in: the SRV name of service `payment` is
   * `_<portName>._<protocol>.payment.<domain>`. In Kubernetes that is
   * `<namespace>.svc.cluster.local`. @default {"default.svc.cluster.local"}
   */
  domain?: string | undefined;
  /** The name of the port, as in a Kubernetes Service's `ports[].name`. @default {"http"} */
  portName?: string | undefined;
  /** The transport protocol of the port. @default {"tcp"} */
  protocol?: string | undefined;
  /**
   * Builds the SRV name to query for `service`, instead of
   * `_<portName>._<protocol>.<service>.<domain>.`; `domain`, `portName` and
   * `protocol` are then unused.
   */
  name?: ((service: string) => string) | undefined;
  /**
   * How often {@linkcode DnsRegistry.prototype.watch} asks again, in
   * milliseconds. (`Deno.resolveDns` does not report record TTLs, so the
   * interval cannot follow them.) @default {1_000}
   */
  intervalMs?: number | undefined;
  /**
   * After this many milliseconds without an answer, a lookup fails with
   * `REGISTRY_UNAVAILABLE`. @default {5_000}
   */
  timeoutMs?: number | undefined;
  /**
   * Whether to resolve each SRV target's A and AAAA records. When `false`, an
   * instance's `address` is the target's host name. @default {true}
   */
  resolveTargets?: boolean | undefined;
  /** Labels added to the metadata of every instance, e.g. `{ protocol: "http" }`. @default {{}} */
  metadata?: Readonly<Record<string, string>> | undefined;
  /**
   * Told about each failed lookup of a watch; the watch keeps its last list
   * and retries with a growing pause (up to 30 × `intervalMs`).
   */
  onError?: ((error: DiscoveryError) => void) | undefined;
}

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;

/**
 * A read-only {@link Registry} that finds instances in DNS SRV records.
 *
 * For service `payment` it asks the SRV records of
 * `_http._tcp.payment.<domain>`, then the A and AAAA records of each target
 * that is not already an IP address. Each record becomes an instance with
 * id `<target>:<port>`, the target's first IPv4 address (else its first IPv6
 * address) and metadata `priority`, `weight` and `target`; instances are
 * sorted by priority (lowest first), then by weight (highest first), then by
 * id. A name that does not exist or has no records gives an empty list;
 * a name server that cannot be reached, or does not answer within
 * `timeoutMs`, gives a `REGISTRY_UNAVAILABLE` {@link DiscoveryError}.
 *
 * Registration is managed elsewhere (by Kubernetes, or whoever owns the
 * zone): {@linkcode DnsRegistry.prototype.register} fails with
 * `REGISTRATION_UNSUPPORTED`.
 *
 * Limits, from `Deno.resolveDns`: record TTLs are not reported, so watches
 * poll every `intervalMs`; and a REFUSED answer cannot be told apart from
 * NXDOMAIN, so a server that refuses the zone also gives an empty list.
 *
 * @example
 * ```ts
 * import { DnsRegistry } from "@flotilla/discovery";
 *
 * await using registry = new DnsRegistry({
 *   nameServer: { ipAddr: "10.96.0.10", port: 53 },
 *   domain: "shop.svc.cluster.local",
 *   portName: "http",
 * });
 * const instances = await registry.instances("payment");
 * // [{ service: "payment", id: "10-1-2-3.payment.shop.svc.cluster.local:7001",
 * //    address: "10.1.2.3", port: 7001, metadata: { priority: "0", weight: "100", … } }]
 * ```
 */
export class DnsRegistry implements Registry {
  /** Always `dns`. */
  readonly kind = "dns";
  #nameServer: { ipAddr: string; port?: number } | undefined;
  #name: (service: string) => string;
  #intervalMs: number;
  #timeoutMs: number;
  #resolveTargets: boolean;
  #metadata: Readonly<Record<string, string>>;
  #onError: ((error: DiscoveryError) => void) | undefined;
  #disposed = new AbortController();

  /** Creates a registry that asks `nameServer`; it sends nothing until used. */
  constructor(options: DnsRegistryOptions = {}) {
    const { nameServer } = options;
    if (nameServer !== undefined) {
      if (isIP(nameServer.ipAddr) === 0) {
        throw new RangeError(
          `Cannot create the DNS registry as 'nameServer.ipAddr' must be an IP address: current value is ${
            JSON.stringify(nameServer.ipAddr)
          }`,
        );
      }
      const port = nameServer.port;
      if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535)) {
        throw new RangeError(
          `Cannot create the DNS registry as 'nameServer.port' must be an integer between 1 and 65535: current value is ${port}`,
        );
      }
      this.#nameServer = port === undefined
        ? { ipAddr: nameServer.ipAddr }
        : { ipAddr: nameServer.ipAddr, port };
    }
    const portName = checkLabel("portName", options.portName ?? "http");
    const protocol = checkLabel("protocol", options.protocol ?? "tcp");
    const domain = (options.domain ?? "default.svc.cluster.local").replace(/\.$/, "");
    if (domain === "" || domain.startsWith(".") || domain.includes("..")) {
      throw new RangeError(
        `Cannot create the DNS registry as 'domain' must be a domain name: current value is ${
          JSON.stringify(options.domain)
        }`,
      );
    }
    this.#name = options.name ?? ((service) => `_${portName}._${protocol}.${service}.${domain}.`);
    this.#intervalMs = checkPositive("intervalMs", options.intervalMs ?? 1_000);
    this.#timeoutMs = checkPositive("timeoutMs", options.timeoutMs ?? 5_000);
    this.#resolveTargets = options.resolveTargets ?? true;
    this.#metadata = { ...options.metadata };
    this.#onError = options.onError;
  }

  /**
   * Always fails: DNS records are managed elsewhere.
   *
   * @throws {DiscoveryError} `REGISTRATION_UNSUPPORTED`.
   */
  register(
    _registration: Registration,
    _options?: RegistryCallOptions,
  ): Promise<RegistrationHandle> {
    return Promise.reject(registrationUnsupported("dns"));
  }

  /**
   * The instances the SRV records of `service` name, sorted by priority.
   *
   * @throws {DiscoveryError} `REGISTRY_UNAVAILABLE` when the name server
   * cannot be reached or does not answer in time.
   */
  async instances(service: string, options: RegistryCallOptions = {}): Promise<ServiceInstance[]> {
    checkService(service);
    if (this.#disposed.signal.aborted) {
      throw new Error("Cannot list instances as the DNS registry is disposed");
    }
    return await this.#lookup(service, options.signal);
  }

  /**
   * Yields the instances of `service` now, then each time they change, asking
   * every `intervalMs`. A failed lookup is reported to `onError` and retried
   * with a growing pause while the last list stands. Ends when `signal`
   * aborts or the registry is disposed.
   */
  async *watch(
    service: string,
    options: RegistryCallOptions = {},
  ): AsyncGenerator<ServiceInstance[], void, undefined> {
    checkService(service, "watch instances");
    const signal = anySignal(options.signal, this.#disposed.signal);
    let last: string | undefined;
    let failures = 0;
    while (!signal.aborted) {
      let pause = this.#intervalMs;
      try {
        const instances = await this.#lookup(service, signal);
        failures = 0;
        const current = fingerprint(instances);
        if (current !== last) {
          last = current;
          yield instances;
        }
      } catch (error) {
        if (signal.aborted) return;
        if (!(error instanceof DiscoveryError && error.retryable)) throw error;
        failures++;
        pause = this.#intervalMs * Math.min(2 ** (failures - 1), 30);
        this.#onError?.(error);
      }
      if (!await delay(pause, signal)) return;
    }
  }

  /** Ends every watch; later calls fail. */
  [Symbol.asyncDispose](): Promise<void> {
    this.#disposed.abort();
    return Promise.resolve();
  }

  async #lookup(service: string, callSignal: AbortSignal | undefined): Promise<ServiceInstance[]> {
    callSignal?.throwIfAborted();
    const name = this.#name(service);
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signal = anySignal(callSignal, timeout);
    const ask = async <T>(
      query: string,
      type: "SRV" | "A" | "AAAA",
      run: (options: Deno.ResolveDnsOptions) => Promise<T[]>,
    ): Promise<T[]> => {
      try {
        const options: Deno.ResolveDnsOptions = { signal };
        if (this.#nameServer !== undefined) options.nameServer = this.#nameServer;
        return await run(options);
      } catch (error) {
        callSignal?.throwIfAborted();
        // NXDOMAIN, or a name without records of this type (also REFUSED).
        if (error instanceof Deno.errors.NotFound) return [];
        const server = this.#nameServer === undefined
          ? "the system's name server"
          : `${this.#nameServer.ipAddr}:${this.#nameServer.port ?? 53}`;
        const reason = timeout.aborted || error instanceof Deno.errors.TimedOut
          ? `no answer within ${this.#timeoutMs} ms`
          : error instanceof Error
          ? error.message
          : String(error);
        throw registryUnavailable(
          "dns",
          `Cannot resolve ${type} ${query} at ${server}: ${reason}`,
          {
            cause: error,
            data: { name: query, type, server },
          },
        );
      }
    };

    const records = await ask(name, "SRV", (o) => Deno.resolveDns(name, "SRV", o));
    const targets = new Map<string, Promise<string | undefined>>();
    const addressOf = (target: string): Promise<string | undefined> => {
      let address = targets.get(target);
      if (address === undefined) {
        address = isIP(target) !== 0 || !this.#resolveTargets
          ? Promise.resolve(target)
          : Promise.all([
            ask(target, "A", (o) => Deno.resolveDns(`${target}.`, "A", o)),
            ask(target, "AAAA", (o) => Deno.resolveDns(`${target}.`, "AAAA", o)),
          ]).then(([v4, v6]) => v4[0] ?? v6[0]);
        targets.set(target, address);
      }
      return address;
    };
    const byId = new Map<string, { instance: ServiceInstance; priority: number; weight: number }>();
    // A target of "." means "no service here" (RFC 2782).
    const resolved = await Promise.all(
      records.filter((record) => record.target !== "." && record.target !== "").map(
        async (record) => {
          const target = record.target.replace(/\.$/, "");
          return { record, target, address: await addressOf(target) };
        },
      ),
    );
    for (const { record, target, address } of resolved) {
      // A target without addresses cannot be connected to (e.g. a pod that is gone).
      if (address === undefined) continue;
      const id = `${target}:${record.port}`;
      const known = byId.get(id);
      if (known !== undefined && known.priority <= record.priority) continue;
      byId.set(id, {
        priority: record.priority,
        weight: record.weight,
        instance: toInstance({
          service,
          id,
          address,
          port: record.port,
          metadata: {
            ...this.#metadata,
            priority: String(record.priority),
            weight: String(record.weight),
            target,
          },
        }),
      });
    }
    return [...byId.values()]
      .sort((a, b) =>
        a.priority - b.priority || b.weight - a.weight ||
        (a.instance.id < b.instance.id ? -1 : a.instance.id > b.instance.id ? 1 : 0)
      )
      .map((entry) => entry.instance);
  }
}

function checkLabel(option: string, value: string): string {
  if (!LABEL.test(value)) {
    throw new RangeError(
      `Cannot create the DNS registry as '${option}' must be a DNS label without a leading underscore: current value is ${
        JSON.stringify(value)
      }`,
    );
  }
  return value;
}

function checkPositive(option: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new RangeError(
      `Cannot create the DNS registry as '${option}' must be a positive number: current value is ${value}`,
    );
  }
  return value;
}
