/**
 * A plain grpc-js client with protobufjs messages — what a user of another
 * stack sends — for tests that must not go through this package's codec.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import protobuf from "protobufjs";
import type { Type } from "protobufjs";

/** The outcome of a unary call. */
export interface RawResult {
  /** The decoded response, on success. */
  value?: Record<string, unknown>;
  /** The error, on failure. */
  error?: grpc.ServiceError;
}

/** A grpc-js client that encodes with protobufjs (camelCase field names, enums as names). */
export class RawClient implements Disposable {
  readonly client: grpc.Client;
  readonly #root: protobuf.Root;

  /** Connects to `127.0.0.1:port`, knowing the messages of `sources` (.proto text) and `files`. */
  constructor(port: number, sources: readonly string[], files: readonly string[] = []) {
    this.client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
      "grpc.enable_http_proxy": 0,
    });
    this.#root = new protobuf.Root();
    for (const source of sources) protobuf.parse(source, this.#root);
    if (files.length > 0) this.#root.loadSync([...files]);
    this.#root.resolveAll();
  }

  /** A message type by full name. */
  type(name: string): Type {
    return this.#root.lookupType(name);
  }

  /** Calls a unary method. */
  unary(
    path: string,
    request: string,
    response: string,
    value: Record<string, unknown>,
    options: { metadata?: Record<string, string>; deadline?: number } = {},
  ): Promise<RawResult> {
    const req = this.type(request);
    const res = this.type(response);
    const metadata = new grpc.Metadata();
    for (const [key, item] of Object.entries(options.metadata ?? {})) metadata.set(key, item);
    return new Promise((resolve) => {
      this.client.makeUnaryRequest(
        path,
        (message: Record<string, unknown>) =>
          Buffer.from(req.encode(req.fromObject(message)).finish()),
        (bytes: Buffer) =>
          res.toObject(res.decode(bytes), { enums: String, longs: Number, defaults: true }),
        value,
        metadata,
        options.deadline === undefined ? {} : { deadline: options.deadline },
        (error, result) =>
          resolve(error ? { error } : { value: result as Record<string, unknown> }),
      );
    });
  }

  /** Calls a server-streaming method; yields each message, throws the final error. */
  async *stream(
    path: string,
    request: string,
    response: string,
    value: Record<string, unknown>,
  ): AsyncGenerator<Record<string, unknown>> {
    const req = this.type(request);
    const res = this.type(response);
    const call = this.client.makeServerStreamRequest(
      path,
      (message: Record<string, unknown>) =>
        Buffer.from(req.encode(req.fromObject(message)).finish()),
      (bytes: Buffer) =>
        res.toObject(res.decode(bytes), { enums: String, longs: Number, defaults: true }),
      value,
      new grpc.Metadata(),
      {},
    );
    try {
      for await (const message of call) yield message as Record<string, unknown>;
    } finally {
      call.cancel();
    }
  }

  /** Closes the channel. */
  [Symbol.dispose](): void {
    this.client.close();
  }
}
