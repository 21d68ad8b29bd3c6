/**
 * The gRPC transport of outbound calls.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import {
  DeadlineExceededError,
  FlotillaError,
  formatTraceparent,
  type OutboundCall,
  UnavailableError,
  ValidationError,
} from "@flotilla/core";
import type { PeerEndpoint } from "@flotilla/client";
import { EncodeError, toBuffer } from "./_codec.ts";
import { type ActionCodec, bindingInternals, type GrpcBinding, jsonCodec } from "./grpc_binding.ts";
import { METADATA } from "./metadata.ts";
import { fromGrpcStatus, kindOfGrpcStatus } from "./errors.ts";

/** A call as a grpc-js channel makes it: raw message bytes in and out, no interceptors. */
type ChannelCall = ReturnType<grpc.Channel["createCall"]>;

/** Options of {@link grpcCaller}. */
export interface GrpcCallerOptions {
  /**
   * The bindings of the peers called over their .proto ({@link grpcBinding}),
   * or over the JSON fallback with streaming actions ({@link jsonBinding}).
   * A peer without a binding is called over `flotilla.json.v1.Json/Call`.
   * @default {[]}
   */
  bindings?: readonly GrpcBinding[];
  /**
   * grpc-js channel options (`grpc.keepalive_time_ms`…), over ours: no proxy from the
   * environment (`grpc.enable_http_proxy: 0`), reconnects after 200 ms growing to 2 s at most.
   * @default {{}}
   */
  channelOptions?: Readonly<Record<string, string | number>>;
  /** Most channels kept open; the oldest is closed to open one more. @default {256} */
  maxChannels?: number;
}

/**
 * Sends one attempt of a call to one endpoint over gRPC: an
 * `EndpointTransport` of the call pipeline (`@flotilla/client`), with one
 * channel (one HTTP/2 connection) per endpoint, closed on dispose.
 */
export interface GrpcCaller extends AsyncDisposable {
  /** Sends `call` to `endpoint`; resolves to the output (an `AsyncIterable` for streaming actions). */
  (endpoint: PeerEndpoint, call: OutboundCall): Promise<unknown>;
  /** Closes every channel; calls in flight fail. */
  close(): void;
}

/**
 * The gRPC transport of outbound calls. It finds an endpoint's gRPC address
 * with {@link grpcAddressOf}, sends the deadline as `grpc-timeout`, the trace
 * as `traceparent`/`tracestate`, the caller as `flotilla-caller` and the
 * idempotency key as `idempotency-key`, and rebuilds the callee's errors as
 * {@link FlotillaError}s (with their code, kind, data and field issues).
 *
 * Failures are told apart because retries depend on them: a connection that
 * could not be made, or a stream the server refused, is `UNAVAILABLE` with
 * code `CONNECTION_REFUSED` (nothing was sent, so the pipeline may retry any
 * call elsewhere); a connection lost after the request left is
 * `CONNECTION_FAILED` (the callee may have acted); the deadline passing is
 * `DEADLINE_EXCEEDED`.
 *
 * A streaming action's call resolves, once the callee has started the
 * stream, to an `AsyncIterable` of its items; leaving the loop cancels the
 * stream, and the deadline bounds the whole stream.
 *
 * @example
 * ```ts
 * import { Peers } from "@flotilla/client";
 * await using caller = grpcCaller({ bindings: [inventoryBinding, paymentBinding] });
 * await using peers = new Peers({ caller: "order", registry, transport: caller });
 * ```
 *
 * @throws {RangeError} for an invalid option.
 */
export function grpcCaller(options: GrpcCallerOptions = {}): GrpcCaller {
  const maxChannels = options.maxChannels ?? 256;
  if (!(Number.isInteger(maxChannels) && maxChannels > 0)) {
    throw new RangeError(
      `Cannot create the gRPC caller as 'maxChannels' must be a positive integer: current value is ${maxChannels}`,
    );
  }
  const channelOptions: grpc.ChannelOptions = {
    "grpc.enable_http_proxy": 0,
    // grpc-js waits up to 120 s between reconnects, failing calls fast meanwhile: a restarted
    // instance would be shunned that long. The pipeline's breaker paces the retries instead.
    "grpc.initial_reconnect_backoff_ms": 200,
    "grpc.max_reconnect_backoff_ms": 2_000,
    ...options.channelOptions,
  };
  const bound = new Map<string, ReadonlyMap<string, ActionCodec>>();
  for (const binding of options.bindings ?? []) {
    bound.set(binding.contract.name, bindingInternals(binding).codecs);
  }
  const fallbacks = new Map<string, ActionCodec>();
  const codecOf = (service: string, action: string): ActionCodec => {
    const codec = bound.get(service)?.get(action);
    if (codec) return codec;
    const key = `${service} ${action}`;
    let fallback = fallbacks.get(key);
    if (!fallback) fallbacks.set(key, fallback = jsonCodec(service, action));
    return fallback;
  };
  const channels = new Map<string, grpc.Channel>();
  const channelOf = (address: string): grpc.Channel => {
    let channel = channels.get(address);
    if (!channel) {
      if (channels.size >= maxChannels) {
        const [oldest, old] = channels.entries().next().value!;
        channels.delete(oldest);
        old.close();
      }
      channel = new grpc.Channel(address, grpc.credentials.createInsecure(), channelOptions);
      channels.set(address, channel);
    }
    return channel;
  };

  const send = (endpoint: PeerEndpoint, call: OutboundCall): Promise<unknown> => {
    const address = grpcAddressOf(endpoint);
    if (address === undefined) {
      return Promise.reject(
        new UnavailableError(`${call.service} at ${endpoint.url} has no gRPC address`, {
          code: "NO_GRPC_ADDRESS",
          data: { service: call.service, endpoint: endpoint.id },
        }),
      );
    }
    const codec = codecOf(call.service, call.action);
    let request: Buffer;
    try {
      request = toBuffer(codec.encodeInput(call.input));
    } catch (error) {
      return Promise.reject(encodeFailure(call, error));
    }
    if (call.signal.aborted) return Promise.reject(abortError(call, call.signal.reason));
    const metadata = new grpc.Metadata();
    metadata.set(METADATA.traceparent, formatTraceparent(call.trace));
    if (call.trace.tracestate) metadata.set(METADATA.tracestate, call.trace.tracestate);
    metadata.set(METADATA.caller, call.caller);
    if (call.idempotencyKey !== undefined) {
      metadata.set(METADATA.idempotencyKey, call.idempotencyKey);
    }
    // The deadline in this process's wall clock, whatever clock the call measures it with.
    const deadline = Date.now() + Math.max(1, call.deadline - call.clock.now());
    const grpcCall = channelOf(address).createCall(codec.method.path, deadline, null, null, null);
    return codec.method.stream
      ? startStream(grpcCall, codec, request, metadata, call, address)
      : unary(grpcCall, codec, request, metadata, call, address);
  };

  return Object.assign(send, {
    close() {
      for (const channel of channels.values()) channel.close();
      channels.clear();
    },
    [Symbol.asyncDispose]() {
      for (const channel of channels.values()) channel.close();
      channels.clear();
      return Promise.resolve();
    },
  });
}

/**
 * The gRPC address (`host:port`) of an endpoint, or `undefined` if it has
 * none. In order: the `grpc_port` metadata that `registryAnnouncer` records
 * for an instance that runs a `grpc` transport (with the instance's
 * address); an endpoint URL with the `grpc:` scheme; an instance whose
 * `protocol` (or `scheme`) metadata is `grpc` — a static peer listed as
 * `grpc://host:port` — at its own address and port.
 *
 * @example
 * ```ts
 * grpcAddressOf(endpoint); // "127.0.0.1:7002" for { address: "127.0.0.1", metadata: { grpc_port: "7002" } }
 * ```
 */
export function grpcAddressOf(endpoint: PeerEndpoint): string | undefined {
  let address = addresses.get(endpoint);
  if (address === undefined && !addresses.has(endpoint)) {
    address = findAddress(endpoint);
    addresses.set(endpoint, address);
  }
  return address;
}

const addresses = new WeakMap<PeerEndpoint, string | undefined>();

function findAddress(endpoint: PeerEndpoint): string | undefined {
  const instance = endpoint.instance;
  const metadata = instance.metadata ?? {};
  const host = instance.address.includes(":") && !instance.address.startsWith("[")
    ? `[${instance.address}]`
    : instance.address;
  const port = metadata.grpc_port;
  if (port !== undefined && /^\d{1,5}$/.test(port)) return `${host}:${port}`;
  if (endpoint.url.startsWith("grpc://")) {
    try {
      const url = new URL(endpoint.url);
      if (url.port) return `${url.hostname}:${url.port}`;
    } catch { /* not a URL */ }
  }
  if (metadata.protocol === "grpc" || metadata.scheme === "grpc") return `${host}:${instance.port}`;
  return undefined;
}

function unary(
  grpcCall: ChannelCall,
  codec: ActionCodec,
  request: Buffer,
  metadata: grpc.Metadata,
  call: OutboundCall,
  address: string,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let response: Buffer | undefined;
    let headers = false;
    const onAbort = () =>
      grpcCall.cancelWithStatus(grpc.status.CANCELLED, "Cancelled by the caller");
    call.signal.addEventListener("abort", onAbort, { once: true });
    grpcCall.start(metadata, {
      onReceiveMetadata() {
        headers = true;
      },
      onReceiveMessage(message: Buffer) {
        response = message;
        grpcCall.startRead();
      },
      onReceiveStatus(status) {
        call.signal.removeEventListener("abort", onAbort);
        if (status.code !== grpc.status.OK) {
          reject(statusError(status, headers, call, address));
        } else if (response === undefined) {
          reject(badResponse(call, new Error("the response has no message")));
        } else {
          try {
            resolve(codec.decodeOutput(response));
          } catch (error) {
            reject(badResponse(call, error));
          }
        }
      },
    });
    grpcCall.sendMessageWithContext({}, request);
    grpcCall.halfClose();
    grpcCall.startRead();
  });
}

function startStream(
  grpcCall: ChannelCall,
  codec: ActionCodec,
  request: Buffer,
  metadata: grpc.Metadata,
  call: OutboundCall,
  address: string,
): Promise<AsyncIterable<unknown>> {
  return new Promise((resolve, reject) => {
    const queue: Buffer[] = [];
    let waiting: ((result: IteratorResult<unknown>) => void) | undefined;
    let failing: ((error: unknown) => void) | undefined;
    let status: grpc.StatusObject | undefined;
    let headers = false;
    let reading = false;
    let done = false;
    const onAbort = () =>
      grpcCall.cancelWithStatus(grpc.status.CANCELLED, "Cancelled by the caller");
    call.signal.addEventListener("abort", onAbort, { once: true });
    const outcome = (): IteratorResult<unknown> | Error | undefined => {
      const message = queue.shift();
      if (message !== undefined) {
        try {
          return { done: false, value: codec.decodeOutput(message) };
        } catch (error) {
          done = true;
          grpcCall.cancelWithStatus(grpc.status.CANCELLED, "Bad message");
          return badResponse(call, error);
        }
      }
      if (status) {
        done = true;
        return status.code === grpc.status.OK
          ? { done: true, value: undefined }
          : statusError(status, headers, call, address);
      }
      return undefined;
    };
    const settle = () => {
      if (!waiting) return;
      const result = outcome();
      if (result === undefined) return;
      const [ok, fail] = [waiting, failing!];
      waiting = failing = undefined;
      if (result instanceof Error) fail(result);
      else ok(result);
    };
    const iterator: AsyncIterator<unknown> & AsyncIterable<unknown> = {
      next() {
        if (done) return Promise.resolve({ done: true, value: undefined });
        const result = outcome();
        if (result instanceof Error) return Promise.reject(result);
        if (result !== undefined) return Promise.resolve(result);
        if (!reading) {
          reading = true;
          grpcCall.startRead();
        }
        return new Promise((ok, fail) => {
          waiting = ok;
          failing = fail;
        });
      },
      return() {
        if (!done) {
          done = true;
          if (!status) {
            grpcCall.cancelWithStatus(grpc.status.CANCELLED, "The caller stopped reading");
          }
        }
        return Promise.resolve({ done: true, value: undefined });
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    grpcCall.start(metadata, {
      onReceiveMetadata() {
        headers = true;
        resolve(iterator);
      },
      onReceiveMessage(message: Buffer) {
        queue.push(message);
        reading = false;
        settle();
      },
      onReceiveStatus(received) {
        call.signal.removeEventListener("abort", onAbort);
        status = received;
        if (!headers) {
          done = true;
          if (received.code === grpc.status.OK) {
            resolve((async function* () {})());
          } else reject(statusError(received, false, call, address));
          return;
        }
        settle();
      },
    });
    grpcCall.sendMessageWithContext({}, request);
    grpcCall.halfClose();
  });
}

/** Connection-level failures grpc-js reports before a request could leave. */
const REFUSED =
  /No connection established|ECONNREFUSED|Connection refused|failed to connect|Stream refused|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|getaddrinfo/i;

function statusError(
  status: grpc.StatusObject,
  headers: boolean,
  call: OutboundCall,
  address: string,
): FlotillaError {
  if (call.signal.aborted) return abortError(call, call.signal.reason);
  const remote = fromGrpcStatus(status);
  if (remote) return remote;
  const target = `${call.service}.${call.action}`;
  switch (status.code) {
    case grpc.status.DEADLINE_EXCEEDED:
      return new DeadlineExceededError(`${target} did not answer in time`, {
        cause: new Error(status.details),
      });
    case grpc.status.UNAVAILABLE:
    case grpc.status.CANCELLED:
    case grpc.status.INTERNAL:
      if (!headers) {
        const refused = status.code === grpc.status.UNAVAILABLE && REFUSED.test(status.details);
        return new UnavailableError(`Cannot reach ${call.service} at ${address}`, {
          code: refused ? "CONNECTION_REFUSED" : "CONNECTION_FAILED",
          cause: new Error(`${grpc.status[status.code]}: ${status.details}`),
          data: { service: call.service, endpoint: address },
        });
      }
  }
  const kind = kindOfGrpcStatus(status.code);
  return new FlotillaError(kind, status.details || `${target} failed with ${kind}`, { kind });
}

function abortError(call: OutboundCall, reason: unknown): FlotillaError {
  if (reason instanceof FlotillaError) return reason;
  if (reason instanceof DOMException && reason.name === "TimeoutError") {
    return new DeadlineExceededError(`${call.service}.${call.action} did not answer in time`, {
      cause: reason,
    });
  }
  return new FlotillaError("CANCELLED", `${call.service}.${call.action} was cancelled`, {
    kind: "CANCELLED",
    cause: reason,
  });
}

function encodeFailure(call: OutboundCall, error: unknown): FlotillaError {
  if (error instanceof EncodeError) {
    return new ValidationError([{ pointer: error.pointer, message: error.detail }], {
      code: "INPUT_NOT_ENCODABLE",
      cause: error,
    });
  }
  return new FlotillaError(
    "INPUT_NOT_ENCODABLE",
    `The input of ${call.service}.${call.action} cannot be encoded`,
    { kind: "INVALID_ARGUMENT", cause: error },
  );
}

function badResponse(call: OutboundCall, error: unknown): FlotillaError {
  return new FlotillaError(
    "BAD_RESPONSE",
    `${call.service}.${call.action} replied with a message that cannot be decoded`,
    { kind: "INTERNAL", cause: error },
  );
}
