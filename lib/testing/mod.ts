/**
 * Helpers for tests that run real processes and servers: free ports,
 * polling, line-splitting of a child's output.
 *
 * @module
 */

export { freePort } from "./free_port.ts";
export { waitFor, type WaitForOptions } from "./wait_for.ts";
export { TextLineStream } from "./text_line_stream.ts";
export { type EtcdServer, startEtcd, type StartEtcdOptions } from "./etcd.ts";
export {
  Dnsmasq,
  type DnsmasqHostRecord,
  type DnsmasqOptions,
  type DnsmasqRecords,
  type DnsmasqSrvRecord,
} from "./dnsmasq.ts";
export {
  ConsulDouble,
  type ConsulDoubleCheck,
  type ConsulDoubleOptions,
  type ConsulDoubleRequest,
  type ConsulDoubleService,
} from "./consul_double.ts";
export {
  type RedisAppendFsync,
  type RedisServer,
  startRedis,
  type StartRedisOptions,
} from "./redis.ts";
export { type NatsServer, startNats, type StartNatsOptions } from "./nats.ts";
export {
  type PostgresServer,
  type PostgresServerKind,
  startPostgres,
  type StartPostgresOptions,
} from "./postgres.ts";
