/**
 * A thin client of etcd v3's HTTP/JSON gateway, shared by the packages that
 * talk to etcd (the etcd registry here, the etcd configuration source of
 * `@flotilla/config`, the `flotilla chaos` command): unary calls, watch
 * streams, and the base64 and prefix helpers the gateway's API needs.
 *
 * @example
 * ```ts
 * import { EtcdGateway, fromBase64, toBase64 } from "@flotilla/discovery/etcd-gateway";
 *
 * const etcd = new EtcdGateway({ endpoint: "http://127.0.0.1:2379", requestTimeoutMs: 2_000 });
 * await etcd.call("/v3/kv/put", { key: toBase64("/flotilla/config/order/chaos"), value: toBase64("{}") });
 * const { kvs } = await etcd.call<{ kvs?: { value: string }[] }>("/v3/kv/range", {
 *   key: toBase64("/flotilla/config/order/chaos"),
 * });
 * fromBase64(kvs?.[0]?.value ?? "");
 * ```
 *
 * @module
 */

export {
  EtcdGateway,
  type EtcdGatewayOptions,
  fromBase64,
  isLeaseNotFound,
  prefixRangeEnd,
  toBase64,
} from "./_etcd_gateway.ts";
