/**
 * Registers a running service in a registry, and deregisters it first thing
 * on stop: the bridge between the kernel's lifecycle and discovery.
 *
 * @module
 */

import type { Announcement, Announcer, ServiceHost } from "@flotilla/core";
import type { Registry } from "./registry.ts";

/** Options of {@link registryAnnouncer}. */
export interface RegistryAnnouncerOptions {
  /** This instance's id. @default {`<service>-<random>`} */
  instanceId?: string;
  /** Address peers should connect to. @default {the address the transport bound} */
  advertiseAddress?: string;
  /** How long the instance stays listed after its last heartbeat or lease renewal. @default {10_000} */
  ttlMs?: number;
  /** Extra metadata, beside `protocol`, `version`, `scheme`, `transports` and `<transport>_port`. */
  metadata?: Record<string, string>;
}

/**
 * An {@link Announcer} that registers the service's HTTP address in
 * `registry` (with the contract version and protocol as metadata), keeps it
 * alive, and deregisters it on stop. Registries that cannot register (DNS,
 * static) are skipped: something else publishes those instances.
 *
 * @example
 * ```ts
 * await runService(service, { transports, announcer: registryAnnouncer(registry) });
 * ```
 */
export function registryAnnouncer(
  registry: Registry,
  options: RegistryAnnouncerOptions = {},
): Announcer {
  return {
    async announce(host: ServiceHost, addresses): Promise<Announcement> {
      if (registry.kind === "dns" || registry.kind === "static") {
        host.logger.info("registry is read-only; not registering", { registry: registry.kind });
        return { withdraw: () => Promise.resolve() };
      }
      const http = addresses.http;
      if (!http) throw new RangeError("Cannot register the service as it has no HTTP address");
      const contract = host.service.contract;
      const address = options.advertiseAddress ?? advertised(http.hostname);
      const handle = await registry.register({
        service: contract.name,
        id: options.instanceId ?? `${contract.name}-${crypto.randomUUID().slice(0, 8)}`,
        address,
        port: http.port,
        metadata: {
          protocol: "http",
          scheme: "http",
          version: contract.version,
          ...transportMetadata(addresses),
          ...options.metadata,
        },
        ttlMs: options.ttlMs ?? 10_000,
        healthCheckUrl: `http://${
          address.includes(":") ? `[${address}]` : address
        }:${http.port}/readyz`,
      });
      host.logger.info("registered", { registry: registry.kind, instance: handle.instance.id });
      return {
        async withdraw() {
          await handle.deregister();
          host.logger.info("deregistered", {
            registry: registry.kind,
            instance: handle.instance.id,
          });
        },
      };
    },
  };
}

/**
 * `transports` (the names of every transport, comma-separated, e.g.
 * `http,grpc`) and `<name>_port` for each transport besides HTTP (e.g.
 * `grpc_port`), so a caller can reach the instance over any of them.
 */
function transportMetadata(
  addresses: Readonly<Record<string, { hostname: string; port: number }>>,
): Record<string, string> {
  const metadata: Record<string, string> = { transports: Object.keys(addresses).join(",") };
  for (const [name, address] of Object.entries(addresses)) {
    if (name !== "http") metadata[`${name}_port`] = String(address.port);
  }
  return metadata;
}

function advertised(bound: string): string {
  // A wildcard bind is reachable on loopback from this machine; set advertiseAddress for others.
  if (bound === "0.0.0.0") return "127.0.0.1";
  if (bound === "::") return "::1";
  return bound;
}
