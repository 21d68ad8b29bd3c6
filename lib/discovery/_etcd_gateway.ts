/**
 * Calls to etcd's v3 HTTP/JSON gateway (grpc-gateway) through `fetch`.
 * Private to the package.
 *
 * @module
 */

import { DiscoveryError, registryUnavailable } from "./errors.ts";
import { anySignal, isAbortError } from "./_shared_abort.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Base64 of the UTF-8 bytes of `value`, as the gateway wants keys and values. */
export function toBase64(value: string | Uint8Array): string {
  const bytes = typeof value === "string" ? encoder.encode(value) : value;
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** The UTF-8 text of base64 `value`. */
export function fromBase64(value: string): string {
  return decoder.decode(Uint8Array.from(atob(value), (c) => c.charCodeAt(0)));
}

/**
 * The `range_end` that selects every key starting with `prefix` (the prefix
 * with its last byte below 0xff incremented), base64-encoded.
 */
export function prefixRangeEnd(prefix: string): string {
  const bytes = encoder.encode(prefix);
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      const end = bytes.slice(0, i + 1);
      end[i]! += 1;
      return toBase64(end);
    }
  }
  return toBase64(new Uint8Array([0]));
}

/** The error body the gateway sends: `{ error, message, code }` (or nested in streams). */
interface GatewayError {
  error?: unknown;
  message?: unknown;
  code?: unknown;
  grpc_code?: unknown;
}

/** Options of {@link EtcdGateway}. */
export interface EtcdGatewayOptions {
  /** The client URL of etcd, e.g. `http://127.0.0.1:2379`. */
  endpoint: string;
  /** The HTTP client to send requests with, if not the default. */
  client?: Deno.HttpClient | undefined;
  /** How long one unary call may take. */
  requestTimeoutMs: number;
}

/**
 * A thin client of the gateway: unary POSTs and newline-delimited JSON
 * streams. Every failure becomes a `REGISTRY_UNAVAILABLE` {@link DiscoveryError}
 * whose `data` carries etcd's `etcdCode` (a gRPC status code) and
 * `etcdMessage` when etcd answered; an abort by the caller's signal is
 * rethrown as is.
 */
export class EtcdGateway {
  /** etcd's client URL, without a trailing slash. */
  readonly endpoint: string;
  #client: Deno.HttpClient | undefined;
  #requestTimeoutMs: number;

  /** Creates the client; nothing is sent until a call. */
  constructor(options: EtcdGatewayOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, "");
    this.#client = options.client;
    this.#requestTimeoutMs = options.requestTimeoutMs;
  }

  /** POSTs `body` to `path` (e.g. `/v3/kv/range`) and returns the parsed answer. */
  async call<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    const timeout = AbortSignal.timeout(this.#requestTimeoutMs);
    const response = await this.#post(path, body, anySignal(signal, timeout), signal);
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw this.#failure(path, error, signal);
    }
    const parsed = parseJson(text);
    if (!response.ok) throw this.#rejected(path, response.status, parsed);
    // Streaming endpoints (keepalive) answer 200 with `{ result }` or `{ error }` lines.
    const first = typeof parsed === "object" && parsed !== null
      ? parsed as { result?: unknown; error?: GatewayError }
      : parseJson(text.split("\n")[0] ?? "") as { result?: unknown; error?: GatewayError };
    if (first?.error !== undefined) throw this.#rejected(path, response.status, first.error);
    return (first?.result ?? first) as T;
  }

  /**
   * POSTs `body` to a streaming `path` (`/v3/watch`) and yields each
   * message's `result`; a message carrying an `error` ends the stream with a
   * `REGISTRY_UNAVAILABLE` error.
   */
  async *stream<T>(path: string, body: unknown, signal: AbortSignal): AsyncGenerator<T> {
    const response = await this.#post(path, body, signal, signal);
    if (!response.ok) {
      const text = await response.text().catch(() => "");
      throw this.#rejected(path, response.status, parseJson(text));
    }
    if (response.body === null) return;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    try {
      while (true) {
        let chunk: ReadableStreamReadResult<string>;
        try {
          chunk = await reader.read();
        } catch (error) {
          throw this.#failure(path, error, signal);
        }
        if (chunk.done) return;
        buffer += chunk.value;
        let newline: number;
        while ((newline = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          if (line === "") continue;
          const message = parseJson(line) as { result?: T; error?: GatewayError } | undefined;
          if (message?.error !== undefined) {
            throw this.#rejected(path, response.status, message.error);
          }
          if (message?.result !== undefined) yield message.result;
        }
      }
    } finally {
      await reader.cancel().catch(() => {});
    }
  }

  async #post(
    path: string,
    body: unknown,
    signal: AbortSignal,
    callerSignal: AbortSignal | undefined,
  ): Promise<Response> {
    try {
      return await fetch(`${this.endpoint}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal,
        ...(this.#client === undefined ? {} : { client: this.#client }),
      });
    } catch (error) {
      throw this.#failure(path, error, callerSignal);
    }
  }

  #failure(path: string, error: unknown, callerSignal: AbortSignal | undefined): unknown {
    if (callerSignal?.aborted) return callerSignal.reason ?? error;
    if (error instanceof DiscoveryError) return error;
    const timedOut = isAbortError(error);
    return registryUnavailable(
      "etcd",
      timedOut
        ? `Cannot reach etcd at ${this.endpoint} (${path}): no answer in ${this.#requestTimeoutMs} ms`
        : `Cannot reach etcd at ${this.endpoint} (${path}): ${
          error instanceof Error ? error.message : String(error)
        }`,
      { cause: error, data: { endpoint: this.endpoint, path } },
    );
  }

  #rejected(path: string, status: number, body: unknown): DiscoveryError {
    const error = (typeof body === "object" && body !== null ? body : {}) as GatewayError;
    const etcdMessage = typeof error.message === "string"
      ? error.message
      : typeof error.error === "string"
      ? error.error
      : `HTTP ${status}`;
    const code = typeof error.code === "number"
      ? error.code
      : typeof error.grpc_code === "number"
      ? error.grpc_code
      : undefined;
    return registryUnavailable(
      "etcd",
      `etcd at ${this.endpoint} refused ${path}: ${etcdMessage}`,
      {
        data: {
          endpoint: this.endpoint,
          path,
          httpStatus: status,
          etcdMessage,
          ...(code === undefined ? {} : { etcdCode: code }),
        },
      },
    );
  }
}

/** Whether `error` is etcd's "requested lease not found". */
export function isLeaseNotFound(error: unknown): boolean {
  if (!(error instanceof DiscoveryError)) return false;
  const message = error.data?.etcdMessage;
  return typeof message === "string" && message.includes("requested lease not found");
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
