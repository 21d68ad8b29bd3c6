/**
 * The servers of the gRPC benchmark, in a process of their own: a raw
 * grpc-js echo (protobufjs messages, what a hand-written grpc-js service
 * does), and the same echo as a Flotilla service on the gRPC transport
 * (proto binding, host, contract validation both ways). Prints
 * `ready <rawPort> <servicePort>`.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import protobuf from "protobufjs";
import { defineService, Logger, MemorySink, runService } from "@flotilla/core";
import { grpcBinding, grpcTransport } from "@flotilla/grpc";
import { benchEchoContract } from "./_echo_servers.ts";

/** The .proto of the benchmark. */
export const ECHO_PROTO: URL = new URL("./grpc_echo.proto", import.meta.url);
/** The path of its one method. */
export const ECHO_PATH = "/flotilla.bench.v1.EchoService/Echo";

/** The echo contract bound to `flotilla.bench.v1.EchoService`. */
export function echoBinding(): ReturnType<typeof grpcBinding<typeof benchEchoContract>> {
  return grpcBinding(benchEchoContract, {
    proto: ECHO_PROTO,
    service: "flotilla.bench.v1.EchoService",
  });
}

if (import.meta.main) {
  const root = protobuf.loadSync(ECHO_PROTO.pathname);
  const Echo = root.lookupType("flotilla.bench.v1.EchoMessage");
  const raw = new grpc.Server();
  raw.register(
    ECHO_PATH,
    (
      call: grpc.ServerUnaryCall<protobuf.Message, protobuf.Message>,
      callback: grpc.sendUnaryData<protobuf.Message>,
    ) => callback(null, call.request),
    (value: protobuf.Message) => Buffer.from(Echo.encode(value).finish()),
    (bytes: Buffer) => Echo.decode(bytes),
    "unary",
  );
  const rawPort = await new Promise<number>((resolve, reject) =>
    raw.bindAsync(
      "127.0.0.1:0",
      grpc.ServerCredentials.createInsecure(),
      (error, port) => error ? reject(error) : resolve(port),
    )
  );
  const running = await runService(
    defineService(benchEchoContract, { echo: ({ n, text }) => ({ n, text }) }),
    {
      logger: new Logger({ sink: new MemorySink() }),
      transports: [grpcTransport({ port: 0, binding: echoBinding() })],
      signals: [],
    },
  );
  await Deno.stdout.write(
    new TextEncoder().encode(`ready ${rawPort} ${running.addresses.grpc!.port}\n`),
  );
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
}
