/**
 * A fixed, read-only registry: each service's instances are listed up front,
 * e.g. from `FLOTILLA_PEER_<NAME>_URL`.
 *
 * @module
 */

import { registrationUnsupported } from "./errors.ts";
import type {
  Registration,
  RegistrationHandle,
  Registry,
  RegistryCallOptions,
  ServiceInstance,
} from "./registry.ts";
import { anySignal, delay } from "./_shared_abort.ts";
import { checkPort, checkService, sortInstances, toInstance } from "./_shared_instances.ts";

/** One address of a static peer, as {@link parsePeerUrls} returns it. */
export interface PeerAddress {
  /** Host name or IP address (IPv6 without brackets). */
  address: string;
  /** Port; the scheme's default (80, 443) when the URL names none. */
  port: number;
  /** Labels taken from the URL: `protocol` (its scheme) and `path` when not `/`. */
  metadata: Record<string, string>;
}

/** One instance of a static peer: a URL (or a comma-separated list of them), or an address. */
export type StaticPeer =
  | string
  | {
    /** Host name or IP address. */
    address: string;
    /** Port. */
    port: number;
    /** The instance's id. @default {"<address>:<port>"} */
    id?: string;
    /** Labels. @default {{}} */
    metadata?: Record<string, string>;
  };

/** The instances of each service: `service → peers`. */
export type StaticPeers =
  | Readonly<Record<string, readonly StaticPeer[] | StaticPeer>>
  | ReadonlyMap<string, readonly StaticPeer[] | StaticPeer>;

const DEFAULT_PORTS: Readonly<Record<string, number>> = { "http:": 80, "https:": 443 };

/**
 * Parses a comma-separated list of URLs (the value of a
 * `FLOTILLA_PEER_<NAME>_URL` variable) into addresses. Blanks around commas
 * and empty items are ignored.
 *
 * @example
 * ```ts
 * import { parsePeerUrls } from "@flotilla/discovery";
 *
 * parsePeerUrls("http://127.0.0.1:7001, http://127.0.0.1:7002");
 * // [{ address: "127.0.0.1", port: 7001, metadata: { protocol: "http" } },
 * //  { address: "127.0.0.1", port: 7002, metadata: { protocol: "http" } }]
 * ```
 *
 * @throws {RangeError} naming the item that is not a URL with a host and a
 * port (or a scheme whose default port is known: `http`, `https`).
 */
export function parsePeerUrls(value: string): PeerAddress[] {
  const peers: PeerAddress[] = [];
  for (const item of value.split(",").map((part) => part.trim()).filter(Boolean)) {
    let url: URL;
    try {
      url = new URL(item);
    } catch {
      throw new RangeError(
        `Cannot parse the peer URLs as each item must be a URL such as http://host:port: current value is ${
          JSON.stringify(item)
        }`,
      );
    }
    if (url.hostname === "") {
      throw new RangeError(
        `Cannot parse the peer URLs as each item must be a URL with a host, such as http://host:port: current value is ${
          JSON.stringify(item)
        }`,
      );
    }
    const port = url.port === "" ? DEFAULT_PORTS[url.protocol] : Number(url.port);
    if (port === undefined) {
      throw new RangeError(
        `Cannot parse the peer URLs as a '${url.protocol}' URL must name a port: current value is ${
          JSON.stringify(item)
        }`,
      );
    }
    const metadata: Record<string, string> = { protocol: url.protocol.slice(0, -1) };
    if (url.pathname !== "/" && url.pathname !== "") metadata.path = url.pathname;
    peers.push({ address: url.hostname.replace(/^\[(.*)\]$/, "$1"), port, metadata });
  }
  return peers;
}

/**
 * A read-only {@link Registry} over a fixed list of instances per service.
 * `register()` fails with `REGISTRATION_UNSUPPORTED`; `watch()` yields the
 * list once and then waits, as it never changes.
 *
 * @example
 * ```ts
 * import { StaticRegistry } from "@flotilla/discovery";
 *
 * await using registry = new StaticRegistry({
 *   payment: ["http://127.0.0.1:7001,http://127.0.0.1:7002"],
 *   inventory: [{ address: "10.0.0.5", port: 7003, metadata: { protocol: "grpc" } }],
 * });
 * (await registry.instances("payment")).length; // 2
 * ```
 */
export class StaticRegistry implements Registry {
  /** Always `static`. */
  readonly kind = "static";
  #services = new Map<string, readonly ServiceInstance[]>();
  #disposed = new AbortController();

  /**
   * Lists `peers`; string items are parsed with {@link parsePeerUrls}.
   *
   * @throws {RangeError} when a service name, URL or port is invalid.
   */
  constructor(peers: StaticPeers = {}) {
    const entries = peers instanceof Map ? [...peers] : Object.entries(peers);
    for (const [service, value] of entries) {
      checkService(service, "create the static registry");
      const items: readonly StaticPeer[] = Array.isArray(value) ? value : [value as StaticPeer];
      const byId = new Map<string, ServiceInstance>();
      for (const item of items) {
        const addresses = typeof item === "string" ? parsePeerUrls(item) : [item];
        for (const peer of addresses) {
          checkPort(peer.port, "create the static registry");
          const id = ("id" in peer ? peer.id : undefined) ?? `${peer.address}:${peer.port}`;
          byId.set(
            id,
            toInstance({
              service,
              id,
              address: peer.address,
              port: peer.port,
              metadata: peer.metadata ?? {},
            }),
          );
        }
      }
      this.#services.set(service, sortInstances([...byId.values()]));
    }
  }

  /** Always fails: a static registry is read-only. */
  register(
    _registration: Registration,
    _options?: RegistryCallOptions,
  ): Promise<RegistrationHandle> {
    return Promise.reject(registrationUnsupported("static"));
  }

  /** The listed instances of `service`, sorted by id. */
  // deno-lint-ignore require-await
  async instances(
    service: string,
    options: RegistryCallOptions = {},
  ): Promise<ServiceInstance[]> {
    options.signal?.throwIfAborted();
    checkService(service);
    return [...this.#services.get(service) ?? []];
  }

  /** Yields the listed instances once, then ends when `signal` aborts or the registry is disposed. */
  async *watch(
    service: string,
    options: RegistryCallOptions = {},
  ): AsyncGenerator<ServiceInstance[], void, undefined> {
    checkService(service, "watch instances");
    const signal = anySignal(options.signal, this.#disposed.signal);
    if (signal.aborted) return;
    yield [...this.#services.get(service) ?? []];
    while (await delay(2 ** 31 - 1, signal));
  }

  /** Ends every watch. */
  [Symbol.asyncDispose](): Promise<void> {
    this.#disposed.abort();
    return Promise.resolve();
  }
}
