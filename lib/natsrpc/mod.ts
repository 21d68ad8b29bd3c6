/**
 * Flotilla calls over NATS request/reply: a service transport that answers
 * a host's actions on NATS subjects (queue group per service, plus one
 * subject per instance), and a caller for the call pipeline that keeps one
 * connection and one multiplexed reply subscription.
 *
 * @example
 * ```ts
 * import { runService } from "@flotilla/core";
 * import { callPipeline } from "@flotilla/client";
 * import { natsRpcCaller, natsRpcTransport } from "@flotilla/natsrpc";
 *
 * // the service
 * await runService(service, {
 *   transports: [natsRpcTransport({ servers: "nats://127.0.0.1:4222", instanceId: "order-1" })],
 * });
 *
 * // a caller: its endpoints name instances (`nats://127.0.0.1:4222/order-1`, or a discovered id)
 * await using transport = natsRpcCaller({ servers: "nats://127.0.0.1:4222" });
 * const pipeline = callPipeline({ service: "order", endpoints, transport, policy });
 * ```
 *
 * @module
 */

export {
  type NatsRpcTransport,
  natsRpcTransport,
  type NatsRpcTransportOptions,
} from "./nats_rpc_transport.ts";
export {
  type NatsRpcAddressing,
  type NatsRpcCaller,
  natsRpcCaller,
  type NatsRpcCallerOptions,
} from "./nats_rpc_caller.ts";
export {
  DEFAULT_SUBJECT_PREFIX,
  natsRpcSubject,
  type NatsRpcSubjectOptions,
  subjectToken,
} from "./subjects.ts";
export type { NatsRpcConnection, NatsRpcMsg, NatsRpcSubscription } from "./connection.ts";
export {
  fromWireError,
  NATS_RPC_HEADERS,
  type NatsRpcReply,
  toWireError,
  type WireError,
} from "./envelope.ts";
