/**
 * The standard `grpc.health.v1.Health` service of a transport: `SERVING`
 * while the host is ready and its readiness checks pass, `NOT_SERVING` while
 * it starts or drains.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import { NotFoundError, type ServiceHost } from "@flotilla/core";
import type { Root } from "protobufjs";
import { decodeMessage, encodeMessage, type MessagePlan, planOf, toBuffer } from "./_codec.ts";
import { serverError } from "./errors.ts";

type Status = "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN";

interface Watcher {
  service: string;
  last: Status | undefined;
  call: grpc.ServerWritableStream<Buffer, Buffer>;
}

const identity = <T>(value: T): T => value;

/** The health service of one transport. */
export class HealthService {
  readonly #host: ServiceHost;
  readonly #names: ReadonlySet<string>;
  readonly #pollMs: number;
  readonly #watchers = new Set<Watcher>();
  readonly #request: MessagePlan;
  readonly #response: MessagePlan;
  readonly #list: MessagePlan;
  #timer: ReturnType<typeof setInterval> | undefined;
  #polling = false;
  #draining = false;

  /** Reports on `names` (and `""`, the server as a whole) of `host`. */
  constructor(host: ServiceHost, names: readonly string[], root: Root, pollMs: number) {
    this.#host = host;
    this.#names = new Set(["", ...names]);
    this.#pollMs = pollMs;
    this.#request = planOf(root.lookupType("grpc.health.v1.HealthCheckRequest"));
    this.#response = planOf(root.lookupType("grpc.health.v1.HealthCheckResponse"));
    this.#list = planOf(root.lookupType("grpc.health.v1.HealthListResponse"));
  }

  /** Registers Check, List and Watch on `server`. */
  register(server: grpc.Server): void {
    server.register<Buffer, Buffer>(
      "/grpc.health.v1.Health/Check",
      ((call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        void this.#check(call.request).then(
          (bytes) => callback(null, bytes),
          (error) => callback(serverError(error)),
        );
      }) as grpc.handleUnaryCall<Buffer, Buffer>,
      identity,
      identity,
      "unary",
    );
    server.register<Buffer, Buffer>(
      "/grpc.health.v1.Health/List",
      ((_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        void this.#statuses().then(
          (statuses) => callback(null, toBuffer(encodeMessage(this.#list, { statuses }))),
          (error) => callback(serverError(error)),
        );
      }) as grpc.handleUnaryCall<Buffer, Buffer>,
      identity,
      identity,
      "unary",
    );
    server.register<Buffer, Buffer>(
      "/grpc.health.v1.Health/Watch",
      ((call: grpc.ServerWritableStream<Buffer, Buffer>) =>
        void this.#watch(call)) as grpc.handleServerStreamingCall<Buffer, Buffer>,
      identity,
      identity,
      "serverStream",
    );
  }

  /** The host drains: every watcher hears `NOT_SERVING` now, and every later check says so. */
  async drain(): Promise<void> {
    this.#draining = true;
    await Promise.all([...this.#watchers].map((watcher) => this.#push(watcher)));
  }

  /** Ends every watch (with `UNAVAILABLE`: the server is going away) and stops polling. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const watcher of this.#watchers) {
      watcher.call.emit("error", {
        code: grpc.status.UNAVAILABLE,
        details: "The server is stopping",
      });
    }
    this.#watchers.clear();
  }

  async #status(service: string): Promise<Status> {
    if (!this.#names.has(service)) return "SERVICE_UNKNOWN";
    if (this.#draining) return "NOT_SERVING";
    const { ready } = await this.#host.readiness();
    return ready ? "SERVING" : "NOT_SERVING";
  }

  async #statuses(): Promise<Record<string, { status: Status }>> {
    const out: Record<string, { status: Status }> = {};
    for (const name of this.#names) out[name] = { status: await this.#status(name) };
    return out;
  }

  async #check(bytes: Buffer): Promise<Buffer> {
    const { service } = decodeMessage(this.#request, bytes) as { service: string };
    const status = await this.#status(service);
    if (status === "SERVICE_UNKNOWN") {
      throw new NotFoundError("UNKNOWN_SERVICE", `No health status for "${service}"`);
    }
    return toBuffer(encodeMessage(this.#response, { status }));
  }

  async #watch(call: grpc.ServerWritableStream<Buffer, Buffer>): Promise<void> {
    let service: string;
    try {
      ({ service } = decodeMessage(this.#request, call.request) as { service: string });
    } catch (error) {
      call.emit("error", serverError(error));
      return;
    }
    const watcher: Watcher = { service, last: undefined, call };
    this.#watchers.add(watcher);
    call.once("cancelled", () => {
      this.#watchers.delete(watcher);
      if (this.#watchers.size === 0) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    });
    await this.#push(watcher);
    this.#timer ??= setInterval(() => void this.#poll(), this.#pollMs);
  }

  async #poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      for (const watcher of [...this.#watchers]) await this.#push(watcher);
    } finally {
      this.#polling = false;
    }
  }

  async #push(watcher: Watcher): Promise<void> {
    const status = await this.#status(watcher.service);
    // A poll that began before the drain must not announce SERVING after NOT_SERVING.
    if (this.#draining && status === "SERVING") return;
    if (status === watcher.last || !this.#watchers.has(watcher)) return;
    watcher.last = status;
    watcher.call.write(toBuffer(encodeMessage(this.#response, { status })));
  }
}
