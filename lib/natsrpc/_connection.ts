/**
 * Opening the NATS connection of a transport or caller (private).
 *
 * @module
 */

import { connect } from "@nats-io/transport-node";
import type { NatsRpcConnection } from "./connection.ts";

/** Where a connection comes from: servers to connect to, or an open one. */
export interface ConnectionSource {
  /** The NATS server(s), e.g. `"nats://127.0.0.1:4222"`. */
  servers?: string | readonly string[] | undefined;
  /** An open connection to use; never closed by its borrower. */
  nc?: NatsRpcConnection | undefined;
}

/** Throws a RangeError unless exactly one of `servers` and `nc` is given. */
export function checkSource(source: ConnectionSource, action: string): void {
  const hasServers = source.servers !== undefined &&
    (typeof source.servers === "string" ? source.servers !== "" : source.servers.length > 0);
  if (hasServers === (source.nc !== undefined)) {
    throw new RangeError(
      `Cannot ${action} as exactly one of 'servers' and 'nc' must be given: current values are ${
        JSON.stringify(source.servers)
      } and ${source.nc === undefined ? "undefined" : "a connection"}`,
    );
  }
}

/**
 * The connection of `source`: `nc` as is (not owned), or a new connection
 * to `servers` that reconnects forever (owned: its opener closes it).
 */
export async function openConnection(
  source: ConnectionSource,
  name: string,
): Promise<{ nc: NatsRpcConnection; owned: boolean }> {
  if (source.nc) return { nc: source.nc, owned: false };
  const servers = typeof source.servers === "string" ? source.servers : [...source.servers ?? []];
  const nc = await connect({
    servers,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    noAsyncTraces: true,
  });
  return { nc, owned: true };
}

/** Throws a RangeError unless `prefix` is dot-separated literal subject tokens. */
export function checkSubjectPrefix(prefix: string, action: string): string {
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(prefix)) {
    throw new RangeError(
      `Cannot ${action} as 'subjectPrefix' must be dot-separated tokens of A-Z a-z 0-9 - _: current value is ${
        JSON.stringify(prefix)
      }`,
    );
  }
  return prefix;
}

/** `host:port` (or `[v6]:port`) split into the address the announcer wants. */
export function parseHostPort(server: string): { hostname: string; port: number } {
  const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(server);
  if (!match) return { hostname: server, port: 4222 };
  return { hostname: match[1]!, port: Number(match[2]) };
}
