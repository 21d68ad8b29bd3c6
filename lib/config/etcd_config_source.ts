/**
 * A configuration source on etcd v3: the keys under a prefix, watched.
 * Talks to etcd's HTTP/JSON gateway through `fetch`; no driver.
 *
 * @module
 */

import {
  EtcdGateway,
  fromBase64,
  prefixRangeEnd,
  toBase64,
} from "@flotilla/discovery/etcd-gateway";
import type { ConfigChange, ConfigSource } from "./config_source.ts";
import { ConfigError } from "./errors.ts";
import { pause } from "./_pause.ts";
import { setPath } from "./_values.ts";

/** Options of {@link EtcdConfigSource}. */
export interface EtcdConfigSourceOptions {
  /** etcd's client URL. @default {"http://127.0.0.1:2379"} */
  endpoint?: string;
  /** The key prefix whose keys are the configuration, e.g. `/flotilla/config/order/`. */
  prefix: string;
  /** How long one request to etcd may take, in milliseconds. @default {5_000} */
  requestTimeoutMs?: number;
  /** First pause before the watch reconnects after an error, in milliseconds. @default {100} */
  reconnectMinMs?: number;
  /** Longest pause between reconnection attempts, in milliseconds. @default {5_000} */
  reconnectMaxMs?: number;
  /** The HTTP client for requests to etcd (not closed by the source). @default {direct to a loopback endpoint} */
  client?: Deno.HttpClient;
}

interface KeyValue {
  key?: string;
  value?: string;
}

interface RangeResponse {
  header?: { revision?: string };
  kvs?: KeyValue[];
}

interface WatchResult {
  header?: { revision?: string };
  created?: boolean;
  canceled?: boolean;
  events?: Array<{ type?: string; kv?: KeyValue & { mod_revision?: string } }>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/i;

/**
 * A {@link ConfigSource} on the keys under a prefix in etcd: each key below
 * the prefix is a config path (`<prefix>pool/size` → `pool.size`), each
 * value JSON (`8`, `"text"`, `{"a":1}`). The source reads the keys, then
 * follows etcd's watch stream from the next revision; all events of one
 * etcd revision (one transaction) are applied together, so a multi-key
 * update written in one transaction is never seen half-applied. A value
 * that is not JSON makes the whole layer an `INVALID_CONFIG` error (the
 * configuration in force stays). A broken stream is reopened with backoff
 * after reading the keys again, reported as `CONFIG_SOURCE_UNAVAILABLE`.
 *
 * @example
 * ```ts
 * import { EtcdConfigSource } from "@flotilla/config";
 *
 * const source = new EtcdConfigSource({
 *   endpoint: "http://127.0.0.1:2379",
 *   prefix: "/flotilla/config/order/",
 * });
 * // etcdctl put /flotilla/config/order/pool/size 8  →  { pool: { size: 8 } }
 * ```
 */
export class EtcdConfigSource implements ConfigSource {
  /** Always `etcd`. */
  readonly kind = "etcd";
  /** `etcd://host:port<prefix>`. */
  readonly name: string;
  /** etcd's client URL. */
  readonly endpoint: string;
  /** The key prefix, ending with `/`. */
  readonly prefix: string;
  readonly #gateway: EtcdGateway;
  readonly #ownClient: Deno.HttpClient | undefined;
  readonly #reconnectMinMs: number;
  readonly #reconnectMaxMs: number;
  readonly #disposed = new AbortController();

  /**
   * Creates the source; no request is made until `changes()` is iterated.
   *
   * @throws {RangeError} when an option is invalid.
   */
  constructor(options: EtcdConfigSourceOptions) {
    const endpoint = options.endpoint ?? "http://127.0.0.1:2379";
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "") {
      throw new RangeError(
        `Cannot create the etcd config source as 'endpoint' must be an http(s) URL: current value is ${
          JSON.stringify(endpoint)
        }`,
      );
    }
    if (typeof options.prefix !== "string" || options.prefix === "") {
      throw new RangeError(
        `Cannot create the etcd config source as 'prefix' must be a non-empty string: current value is ${
          JSON.stringify(options.prefix)
        }`,
      );
    }
    this.#reconnectMinMs = positive("reconnectMinMs", options.reconnectMinMs ?? 100);
    this.#reconnectMaxMs = positive("reconnectMaxMs", options.reconnectMaxMs ?? 5_000);
    const requestTimeoutMs = positive("requestTimeoutMs", options.requestTimeoutMs ?? 5_000);
    this.endpoint = url.origin;
    this.prefix = options.prefix.endsWith("/") ? options.prefix : `${options.prefix}/`;
    this.name = `etcd://${url.host}${this.prefix}`;
    let client = options.client;
    if (client === undefined && url.protocol === "http:" && LOOPBACK.test(url.hostname)) {
      // Deno's fetch sends even loopback requests through HTTP_PROXY: connect straight instead.
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

  /** The layer under the prefix now, then after each etcd revision that touches it. */
  async *changes(signal?: AbortSignal): AsyncGenerator<ConfigChange> {
    const stop = signal ? AbortSignal.any([signal, this.#disposed.signal]) : this.#disposed.signal;
    let backoff = this.#reconnectMinMs;
    let lastYielded: string | undefined;
    while (!stop.aborted) {
      const attempt = new AbortController();
      const attemptSignal = AbortSignal.any([stop, attempt.signal]);
      try {
        const range = await this.#gateway.call<RangeResponse>("/v3/kv/range", {
          key: toBase64(this.prefix),
          range_end: prefixRangeEnd(this.prefix),
        }, attemptSignal);
        const keys = new Map<string, string>();
        for (const kv of range.kvs ?? []) {
          if (kv.key !== undefined) keys.set(fromBase64(kv.key), fromBase64(kv.value ?? ""));
        }
        let revision = BigInt(range.header?.revision ?? "0");
        const emit = (): ConfigChange | undefined => {
          const change = this.#layer(keys, String(revision));
          const fingerprint = JSON.stringify(
            change.type === "values" ? change.values : change.error.message,
          );
          if (fingerprint === lastYielded) return undefined;
          lastYielded = fingerprint;
          return change;
        };
        const first = emit();
        if (first) yield first;
        const stream = this.#gateway.stream<WatchResult>("/v3/watch", {
          create_request: {
            key: toBase64(this.prefix),
            range_end: prefixRangeEnd(this.prefix),
            start_revision: String(revision + 1n),
          },
        }, attemptSignal);
        for await (const result of stream) {
          if (result.created) backoff = this.#reconnectMinMs;
          if (result.canceled) break; // e.g. compacted: read the keys again
          const events = result.events ?? [];
          if (events.length === 0) continue;
          for (const event of events) {
            if (event.kv?.key === undefined) continue;
            const key = fromBase64(event.kv.key);
            if (event.type === "DELETE") keys.delete(key);
            else keys.set(key, fromBase64(event.kv.value ?? ""));
          }
          revision = BigInt(result.header?.revision ?? String(revision));
          const change = emit();
          if (change) yield change;
        }
        if (!await pause(backoff, stop)) return;
        backoff = Math.min(backoff * 2, this.#reconnectMaxMs);
      } catch (error) {
        if (stop.aborted) return;
        yield {
          type: "error",
          error: new ConfigError(
            "CONFIG_SOURCE_UNAVAILABLE",
            `Cannot follow the configuration in ${this.name}: ${
              error instanceof Error ? error.message : String(error)
            }`,
            { cause: error, data: { source: this.name } },
          ),
        };
        lastYielded = undefined;
        if (!await pause(backoff, stop)) return;
        backoff = Math.min(backoff * 2, this.#reconnectMaxMs);
      } finally {
        attempt.abort();
      }
    }
  }

  #layer(keys: ReadonlyMap<string, string>, revision: string): ConfigChange {
    const values: Record<string, unknown> = {};
    for (const key of [...keys.keys()].sort()) {
      const path = key.slice(this.prefix.length).split("/").filter((part) => part !== "");
      if (path.length === 0) continue;
      const text = keys.get(key)!;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        return {
          type: "error",
          error: new ConfigError(
            "INVALID_CONFIG",
            `The configuration key ${key} in ${this.name} is not valid JSON: ${
              JSON.stringify(
                text.slice(0, 80),
              )
            }`,
            { cause: error, data: { source: this.name, key } },
          ),
        };
      }
      setPath(values, path, value);
    }
    return { type: "values", values, revision };
  }

  /** Ends every `changes()` iterator and closes the source's own HTTP client. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#disposed.signal.aborted) return;
    this.#disposed.abort();
    // Let aborted requests settle before the client goes.
    await Promise.resolve();
    this.#ownClient?.close();
  }
}

function positive(name: string, value: number): number {
  if (!(Number.isInteger(value) && value > 0)) {
    throw new RangeError(
      `Cannot create the etcd config source as '${name}' must be a positive integer: current value is ${value}`,
    );
  }
  return value;
}
