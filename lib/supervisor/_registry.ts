// Internal helper; not exported by mod.ts.

import { parseRegistryUrl } from "@flotilla/discovery";
import { InvalidSettingError } from "./errors.ts";
import type { Address } from "./permissions.ts";

/** The registry a supervisor's services use, as `FLOTILLA_REGISTRY` names it. */
export interface RegistrySetting {
  /** The value given to every service as `FLOTILLA_REGISTRY`. */
  value: string;
  /** Its kind. */
  type: "local" | "static" | "etcd" | "dns" | "consul";
  /** The server (etcd, Consul) or DNS name server the services must reach. */
  address?: Address;
}

/** The registry when `FLOTILLA_REGISTRY` is unset: the embedded one. */
export const DEFAULT_REGISTRY = "local";

/**
 * Reads and checks `FLOTILLA_REGISTRY` (default `local`).
 *
 * @throws {InvalidSettingError} when it is not a registry URL.
 */
export function registrySetting(raw: string | undefined): RegistrySetting {
  const value = raw === undefined || raw.trim() === "" ? DEFAULT_REGISTRY : raw.trim();
  let parsed: ReturnType<typeof parseRegistryUrl>;
  try {
    parsed = parseRegistryUrl(value);
  } catch (error) {
    throw new InvalidSettingError(
      "FLOTILLA_REGISTRY",
      `Cannot start the supervisor as FLOTILLA_REGISTRY must be local, static, etcd://host:port, dns://ip:port or consul://host:port: current value is "${value}"${
        error instanceof Error ? ` (${error.message})` : ""
      }`,
      { cause: error },
    );
  }
  switch (parsed.type) {
    case "local":
    case "static":
      return { value, type: parsed.type };
    case "dns":
      return {
        value,
        type: "dns",
        address: { hostname: parsed.nameServer.ipAddr, port: parsed.nameServer.port },
      };
    case "etcd":
    case "consul": {
      const url = new URL(parsed.endpoint);
      const port = url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port);
      return {
        value,
        type: parsed.type,
        address: { hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"), port },
      };
    }
  }
}
