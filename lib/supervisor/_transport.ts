// Internal helper; not exported by mod.ts.

import { InvalidSettingError } from "./errors.ts";
import type { Address } from "./permissions.ts";

/** The transport of calls between the services, as `FLOTILLA_TRANSPORT` names it. */
export interface TransportSetting {
  /** The value given to every service, as `FLOTILLA_TRANSPORT`. */
  value: string;
  /** Its kind. */
  type: "http" | "grpc" | "nats";
  /** The NATS servers every service must reach. */
  addresses: Address[];
  /** Prefixes of the variables its client reads (`GRPC_` for grpc-js). */
  envPrefixes: string[];
}

/**
 * Reads and checks `FLOTILLA_TRANSPORT` (default `http`): `http`, `grpc`, or
 * `nats://host[:port][,host[:port]…]` (port 4222 by default).
 *
 * @throws {InvalidSettingError} when it is none of those.
 */
export function transportSetting(raw: string | undefined): TransportSetting {
  const value = raw === undefined || raw.trim() === "" ? "http" : raw.trim();
  const lower = value.toLowerCase();
  if (lower === "http") return { value: lower, type: lower, addresses: [], envPrefixes: [] };
  if (lower === "grpc") return { value: lower, type: lower, addresses: [], envPrefixes: ["GRPC_"] };
  if (lower.startsWith("nats://")) {
    const addresses = value.slice("nats://".length).split(",").map((part) => {
      let url: URL;
      try {
        url = new URL(`http://${part.trim().replace(/^nats:\/\//i, "")}`);
      } catch {
        throw invalid(value, new Error("every server must be a host[:port]"));
      }
      if (url.hostname === "" || (url.pathname !== "/" && url.pathname !== "")) {
        throw invalid(value, new Error("every server must be a host[:port], with no path"));
      }
      return {
        hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"),
        port: url.port === "" ? 4222 : Number(url.port),
      };
    });
    return { value, type: "nats", addresses, envPrefixes: [] };
  }
  throw invalid(value, undefined);
}

function invalid(value: string, cause: unknown): InvalidSettingError {
  const shown = value.replace(/\/\/([^/@:,]*):([^/@,]*)@/g, "//$1:***@");
  return new InvalidSettingError(
    "FLOTILLA_TRANSPORT",
    `Cannot start the supervisor as FLOTILLA_TRANSPORT must be http, grpc or nats://host:port: current value is "${shown}"${
      cause instanceof Error ? ` (${cause.message})` : ""
    }`,
    { cause },
  );
}
