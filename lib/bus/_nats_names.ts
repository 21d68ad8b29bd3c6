/**
 * How bus names map onto JetStream names and subjects (private to the NATS
 * adapter).
 *
 * Stream names, groups and event types may hold any character, but
 * JetStream names and subject tokens may not hold `.`, `*`, `>` or
 * whitespace, and the bus stream `shop.order` must not overlap the bus
 * stream `shop`. So each name becomes one **token**: `A-Z a-z 0-9 -` are
 * kept, every other UTF-8 byte is written `_XX` (uppercase hex), e.g.
 * `shop.order` → `shop_2Eorder`. The mapping is injective, so two bus
 * names never share a JetStream name. Tokens longer than
 * {@link MAX_TOKEN_LENGTH} are cut and suffixed with a 64-bit hash (one
 * character longer than any whole token, so they never meet one).
 *
 * @module
 */

/** The JetStream stream of bus stream `s`: `FLOTILLA_<token(s)>`. */
export const STREAM_PREFIX = "FLOTILLA_";
/** The subjects of bus stream `s`: `flotilla.<token(s)>.<token(type)>`. */
export const SUBJECT_PREFIX = "flotilla";
/** The one JetStream stream that holds every dead letter. */
export const DLQ_STREAM = "FLOTILLA_DLQ";
/** Dead letters of group `g` on stream `s`: `flotilla.dlq.<token(s)>.<token(g)>`. */
export const DLQ_SUBJECT_PREFIX = "flotilla.dlq";

/** Longest token kept whole; longer ones are cut and hashed. */
export const MAX_TOKEN_LENGTH = 160;

const KEEP = /^[A-Za-z0-9-]$/;
const encoder = new TextEncoder();

/**
 * One safe, injective subject token (and JetStream name part) for `name`.
 * The token `dlq` (any case) is reserved for dead letters, so the names that
 * would produce it get their first letter escaped instead.
 */
export function token(name: string): string {
  let out = "";
  for (const char of name) {
    if (KEEP.test(char)) {
      out += char;
      continue;
    }
    for (const byte of encoder.encode(char)) {
      out += "_" + byte.toString(16).toUpperCase().padStart(2, "0");
    }
  }
  if (out.toLowerCase() === "dlq") {
    out = "_" + out.charCodeAt(0).toString(16).toUpperCase() + out.slice(1);
  }
  if (out.length > MAX_TOKEN_LENGTH) {
    out = out.slice(0, MAX_TOKEN_LENGTH - 16) + "-" + fnv1a64(name);
  }
  return out;
}

/** The JetStream stream that holds bus stream `stream`. */
export function streamName(stream: string): string {
  return STREAM_PREFIX + token(stream);
}

/** The subject of events of `type` on bus stream `stream`. */
export function eventSubject(stream: string, type: string): string {
  return `${SUBJECT_PREFIX}.${token(stream)}.${token(type)}`;
}

/** Every subject of bus stream `stream`. */
export function streamSubjects(stream: string): string {
  return `${SUBJECT_PREFIX}.${token(stream)}.*`;
}

/** The durable consumer of `group`. */
export function durableName(group: string): string {
  return token(group);
}

/** The subject of the dead letters of `group` on `stream`. */
export function deadLetterSubject(stream: string, group: string): string {
  return `${DLQ_SUBJECT_PREFIX}.${token(stream)}.${token(group)}`;
}

/** FNV-1a, 64 bits, as 16 hex digits: a short stable hash for cut tokens. */
function fnv1a64(text: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of encoder.encode(text)) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, "0");
}
