/**
 * The gRPC transport of Flotilla: serve a service's contract over gRPC
 * (grpc-js on `node:http2`, .proto files loaded at run time) with health,
 * reflection and server streaming, and call peers over gRPC from the call
 * pipeline.
 *
 * An action maps to the method named after it in PascalCase of a proto
 * service ({@link grpcBinding}); its request message is validated again by
 * the contract, so bad input gets `INVALID_ARGUMENT` naming the field.
 * Contracts without a .proto are served (and called) over the JSON fallback
 * service `flotilla.json.v1.Json` ({@link jsonBinding}). Errors travel as
 * gRPC status codes with the rich error details of {@link toGrpcStatus}.
 *
 * Permissions: `--allow-net` for the port and the peers, `--allow-read` of
 * the .proto files a binding loads, and `--allow-env=GRPC_*` (grpc-js reads
 * its `GRPC_*` settings when it is imported).
 *
 * @example
 * ```ts
 * import { grpcBinding, grpcCaller, grpcTransport } from "@flotilla/grpc";
 *
 * const binding = grpcBinding(inventoryContract, {
 *   proto: new URL("./shop.proto", import.meta.url),
 *   service: "flotilla.shop.v1.InventoryService",
 * });
 * await runService(service, { transports: [grpcTransport({ port: 9090, binding })] });
 *
 * // In a caller: the pipeline's transport.
 * await using caller = grpcCaller({ bindings: [binding] });
 * const peers = new Peers({ caller: "order", registry, transport: caller });
 * ```
 *
 * @module
 */

export {
  type GrpcBinding,
  grpcBinding,
  type GrpcBindingOptions,
  type GrpcMethod,
  jsonBinding,
} from "./grpc_binding.ts";
export { grpcTransport, type GrpcTransportOptions } from "./grpc_transport.ts";
export {
  grpcAddressOf,
  type GrpcCaller,
  grpcCaller,
  type GrpcCallerOptions,
} from "./grpc_caller.ts";
export { streamOf, type StreamSchema } from "@flotilla/core";
export { METADATA } from "./metadata.ts";
export {
  ERROR_DOMAIN,
  fromGrpcStatus,
  GRPC_STATUS_CODES,
  type GrpcErrorStatus,
  type GrpcStatusMetadata,
  grpcStatusOf,
  kindOfGrpcStatus,
  toGrpcStatus,
} from "./errors.ts";
