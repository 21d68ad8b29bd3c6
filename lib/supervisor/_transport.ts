// Internal helper; not exported by mod.ts.

import { redactPassword } from "@flotilla/core";
import { parseBusUrl } from "@flotilla/bus";
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
 * `nats://host[:port][,host[:port]…]` (port 4222 by default), parsed as
 * `FLOTILLA_BUS` parses NATS servers.
 *
 * @throws {InvalidSettingError} when it is none of those.
 */
export function transportSetting(raw: string | undefined): TransportSetting {
  const value = raw === undefined || raw.trim() === "" ? "http" : raw.trim();
  const lower = value.toLowerCase();
  if (lower === "http") return { value: lower, type: lower, addresses: [], envPrefixes: [] };
  if (lower === "grpc") return { value: lower, type: lower, addresses: [], envPrefixes: ["GRPC_"] };
  if (!lower.startsWith("nats://")) throw invalid(value, undefined);
  let parsed: ReturnType<typeof parseBusUrl>;
  try {
    parsed = parseBusUrl(value);
  } catch (error) {
    throw invalid(value, error);
  }
  if (parsed.type !== "nats") throw invalid(value, undefined);
  const addresses = parsed.servers.map((server) => {
    const url = new URL(`http${server.slice("nats".length)}`);
    return {
      hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: Number(url.port),
    };
  });
  return { value, type: "nats", addresses, envPrefixes: [] };
}

function invalid(value: string, cause: unknown): InvalidSettingError {
  return new InvalidSettingError(
    "FLOTILLA_TRANSPORT",
    `Cannot start the supervisor as FLOTILLA_TRANSPORT must be http, grpc or nats://host:port: current value is "${
      redactPassword(value)
    }"${cause instanceof Error ? ` (${cause.message})` : ""}`,
    { cause },
  );
}
