/**
 * Service discovery: the {@link Registry} port and its adapters.
 *
 * | adapter | for | registers by |
 * |---|---|---|
 * | {@link MemoryRegistry} | unit tests | an in-memory map, TTL on an injected clock |
 * | {@link LocalRegistry} | one machine, no server (the default) | a row in a shared SQLite file, renewed by heartbeats |
 * | {@link StaticRegistry} | fixed peers (`FLOTILLA_PEER_<NAME>_URL`) | (read-only) |
 * | {@link EtcdRegistry} | a cluster with etcd | a key bound to a renewed lease |
 * | {@link ConsulRegistry} | a cluster with Consul | the local agent's service API, TTL checks |
 * | {@link DnsRegistry} | Kubernetes headless Services, DNS SRV | (read-only) |
 *
 * {@link openRegistry} opens the one a `FLOTILLA_REGISTRY` value names.
 * Importing this module loads no driver: the adapters use `fetch`,
 * `node:sqlite` and `Deno.resolveDns`.
 *
 * @example
 * ```ts
 * import { openRegistry } from "@flotilla/discovery";
 *
 * await using registry = await openRegistry("local", { localDir: ".flotilla/registry" });
 * await using _handle = await registry.register({
 *   service: "payment", id: "payment-1", address: "127.0.0.1", port: 7001,
 *   metadata: { protocol: "http" }, ttlMs: 6_000,
 * });
 * for await (const instances of registry.watch("payment")) {
 *   console.log(instances.length); // 1
 *   break;
 * }
 * ```
 *
 * @module
 */

export type {
  Registration,
  RegistrationHandle,
  Registry,
  RegistryCallOptions,
  ServiceInstance,
} from "./registry.ts";
export {
  DiscoveryError,
  type DiscoveryErrorCode,
  type DiscoveryErrorOptions,
  invalidRegistryUrl,
  registrationUnsupported,
  registryUnavailable,
} from "./errors.ts";
export { MemoryRegistry, type MemoryRegistryOptions } from "./memory_registry.ts";
export { LocalRegistry, type LocalRegistryOptions } from "./local_registry.ts";
export {
  parsePeerUrls,
  type PeerAddress,
  type StaticPeer,
  type StaticPeers,
  StaticRegistry,
} from "./static_registry.ts";
export { EtcdRegistry, type EtcdRegistryOptions } from "./etcd_registry.ts";
export {
  type DnsProtocol,
  openRegistry,
  type OpenRegistryOptions,
  parseRegistryUrl,
  type RegistryUrl,
} from "./open_registry.ts";
export { type DnsNameServer, DnsRegistry, type DnsRegistryOptions } from "./dns_registry.ts";
export { ConsulRegistry, type ConsulRegistryOptions } from "./consul_registry.ts";
export { registryAnnouncer, type RegistryAnnouncerOptions } from "./registry_announcer.ts";
// Types of @flotilla/core that this package's public API refers to.
export type { Clock, ErrorKind, FieldIssue, FlotillaError } from "@flotilla/core";
