/**
 * The NATS subjects of Flotilla RPC.
 *
 * - `<prefix>.<service>.<action>` — any instance: every instance subscribes it
 *   in the queue group `<service>`, so NATS hands each request to one of them
 *   and skips instances that have gone away;
 * - `<prefix>.<service>.<instance>.<action>` — one instance, for a caller
 *   that picked it (per-endpoint breakers and balancing).
 *
 * The prefix is `flotilla.rpc` unless configured. Names become subject tokens
 * (`A-Z a-z 0-9 - _` kept, every other UTF-8 byte written `%XX`), so a service
 * or instance id holding a `.` cannot add a token; the two forms always
 * differ in their number of tokens.
 *
 * @module
 */

/** The subject prefix of requests unless configured. */
export const DEFAULT_SUBJECT_PREFIX = "flotilla.rpc";

/** Options of {@link natsRpcSubject}. */
export interface NatsRpcSubjectOptions {
  /** Address this instance only; without it, the subject of the service's queue group. */
  instanceId?: string | undefined;
  /** The subject prefix. @default {"flotilla.rpc"} */
  prefix?: string | undefined;
}

const KEEP = /^[A-Za-z0-9_-]$/;
const encoder = new TextEncoder();

/**
 * One safe subject token for `name`: `A-Z a-z 0-9 - _` are kept and every
 * other UTF-8 byte is written `%XX` (uppercase hex), e.g. `shop.order` →
 * `shop%2Eorder`. Injective, so two names never share a token.
 *
 * @example
 * ```ts
 * subjectToken("bench-echo"); // "bench-echo"
 * subjectToken("a.b"); // "a%2Eb"
 * ```
 */
export function subjectToken(name: string): string {
  if (name.length === 0) {
    throw new RangeError("Cannot build a NATS subject token as the name is empty");
  }
  let out = "";
  for (const char of name) {
    if (KEEP.test(char)) {
      out += char;
      continue;
    }
    for (const byte of encoder.encode(char)) {
      out += "%" + byte.toString(16).toUpperCase().padStart(2, "0");
    }
  }
  return out;
}

/**
 * The subject a request for `service`'s `action` is published on: the queue
 * group's, or one instance's with `instanceId`.
 *
 * @example
 * ```ts
 * natsRpcSubject("order", "placeOrder"); // "flotilla.rpc.order.placeOrder"
 * natsRpcSubject("order", "placeOrder", { instanceId: "order-1" }); // "flotilla.rpc.order.order-1.placeOrder"
 * ```
 */
export function natsRpcSubject(
  service: string,
  action: string,
  options: NatsRpcSubjectOptions = {},
): string {
  const prefix = options.prefix ?? DEFAULT_SUBJECT_PREFIX;
  const instance = options.instanceId === undefined ? "" : `${subjectToken(options.instanceId)}.`;
  return `${prefix}.${subjectToken(service)}.${instance}${subjectToken(action)}`;
}
