/**
 * Cheap bytes for the hot path (private): strings encoded into a shared
 * slab instead of a fresh buffer each, and request headers written in one
 * go instead of through `MsgHdrs.set()`.
 *
 * @module
 */

import { MsgHdrsImpl } from "@nats-io/transport-node";
import type { TraceContext } from "@flotilla/core";
import { NATS_RPC_HEADERS } from "./envelope.ts";

const SLAB_SIZE = 64 * 1024;
const ASCII_COPY_LIMIT = 1024;
const encoder = new TextEncoder();

/**
 * Writes UTF-8 into views of one large buffer, a fresh one when it is full.
 * A view is never written again, so the driver may hold it until it
 * flushes. Allocating a buffer per message instead is what makes
 * `TextEncoder.encode()` costly, and feeds the garbage collector; writing
 * the constant parts of a message as ready-made bytes also spares the
 * flattening of a concatenated string.
 */
export class Slab {
  #buffer = new Uint8Array(SLAB_SIZE);
  #offset = 0;
  #start = 0;

  /** The UTF-8 bytes of `text`, in a view nobody else writes. */
  encode(text: string): Uint8Array {
    this.begin(text.length * 3);
    this.text(text);
    return this.end();
  }

  /** Starts a view that will take at most `maxBytes`. */
  begin(maxBytes: number): void {
    if (this.#buffer.length - this.#offset < maxBytes) {
      this.#buffer = new Uint8Array(Math.max(SLAB_SIZE, maxBytes));
      this.#offset = 0;
    }
    this.#start = this.#offset;
  }

  /** Appends `bytes` to the view. */
  bytes(bytes: Uint8Array): void {
    this.#buffer.set(bytes, this.#offset);
    this.#offset += bytes.length;
  }

  /** Appends `text` as UTF-8 (at most 3 bytes per UTF-16 code unit) to the view. */
  text(text: string): void {
    const buffer = this.#buffer;
    const start = this.#offset;
    const length = text.length;
    // Short ASCII (what headers and most JSON are) is copied here: cheaper than a call into
    // the runtime's encoder, which takes over at the first other character.
    let i = 0;
    if (length <= ASCII_COPY_LIMIT) {
      for (; i < length; i++) {
        const code = text.charCodeAt(i);
        if (code > 0x7f) break;
        buffer[start + i] = code;
      }
    }
    let end = start + i;
    if (i < length) {
      end += encoder.encodeInto(i === 0 ? text : text.slice(i), buffer.subarray(end)).written;
    }
    this.#offset = end;
  }

  /** Ends the view begun last and returns it. */
  end(): Uint8Array {
    return this.#buffer.subarray(this.#start, this.#offset);
  }
}

/** What a request's headers say. */
export interface RequestMeta {
  /** The call's trace; its span is the callee's parent. */
  trace: TraceContext;
  /** Milliseconds left, as a decimal string. */
  timeout: string;
  /** The calling service's name (no CR or LF). */
  caller: string;
  /** The idempotency key, if any (no CR or LF). */
  idempotencyKey: string | undefined;
}

const bytesOf = (text: string) => encoder.encode(text);
const TRACEPARENT = bytesOf(`NATS/1.0\r\n${NATS_RPC_HEADERS.traceparent}: 00-`);
const DASH = bytesOf("-");
const SAMPLED = bytesOf(`-01\r\n${NATS_RPC_HEADERS.timeout}: `);
const UNSAMPLED = bytesOf(`-00\r\n${NATS_RPC_HEADERS.timeout}: `);
const CALLER = bytesOf(`\r\n${NATS_RPC_HEADERS.caller}: `);
const TRACESTATE = bytesOf(`\r\n${NATS_RPC_HEADERS.tracestate}: `);
const IDEMPOTENCY_KEY = bytesOf(`\r\n${NATS_RPC_HEADERS.idempotencyKey}: `);
const END = bytesOf("\r\n\r\n");

/**
 * The headers of a request, written straight into their wire form in a
 * slab: `traceparent` (as `formatTraceparent` writes it), then
 * `flotilla-timeout-ms`, `flotilla-caller`, and `tracestate` and
 * `idempotency-key` when present (callers pass values without CR or LF).
 *
 * The driver only asks headers for their `encode()`d bytes, so no `MsgHdrs`
 * map is filled for every request: its keys, values and arrays cost a
 * third of the headers' time. Whoever reads them (a test, another driver)
 * gets them decoded from the bytes, which nothing writes again.
 */
export class WireHeaders implements Iterable<[string, string[]]> {
  readonly #bytes: Uint8Array;
  #decoded: MsgHdrsImpl | undefined;

  /** The headers of `meta`, written into `slab`. */
  constructor(slab: Slab, meta: RequestMeta) {
    const { trace, timeout, caller, idempotencyKey } = meta;
    const tracestate = trace.tracestate || undefined;
    slab.begin(
      160 + 3 * (caller.length + (tracestate?.length ?? 0) + (idempotencyKey?.length ?? 0)),
    );
    slab.bytes(TRACEPARENT);
    slab.text(trace.traceId);
    slab.bytes(DASH);
    slab.text(trace.spanId);
    slab.bytes(trace.sampled ? SAMPLED : UNSAMPLED);
    slab.text(timeout);
    slab.bytes(CALLER);
    slab.text(caller);
    if (tracestate !== undefined) {
      slab.bytes(TRACESTATE);
      slab.text(tracestate);
    }
    if (idempotencyKey !== undefined) {
      slab.bytes(IDEMPOTENCY_KEY);
      slab.text(idempotencyKey);
    }
    slab.bytes(END);
    this.#bytes = slab.end();
  }

  /** The wire form's bytes. */
  encode(): Uint8Array {
    return this.#bytes;
  }

  /** The first value of `key` (its case as written), or `""`. */
  get(key: string): string {
    return this.#headers().get(key);
  }

  /** Each key with its values. */
  [Symbol.iterator](): Iterator<[string, string[]]> {
    return this.#headers()[Symbol.iterator]();
  }

  #headers(): MsgHdrsImpl {
    return this.#decoded ??= MsgHdrsImpl.decode(this.#bytes);
  }
}

/** The request headers the transport reads; `""` for a header that is absent. */
export interface RequestHeaderValues {
  /** `traceparent`. */
  traceparent: string;
  /** `tracestate`. */
  tracestate: string;
  /** `flotilla-timeout-ms`. */
  timeout: string;
  /** `flotilla-caller`. */
  caller: string;
  /** `idempotency-key`. */
  idempotencyKey: string;
}

const decoder = new TextDecoder();

/**
 * The Flotilla headers of a request message, keys matched without regard
 * to case, the first value of a repeated key winning (as `MsgHdrs.get()`).
 *
 * nats.js decodes a message's headers into a generic map on first access,
 * with a key lookup, a canonicalisation and a validation per header: on a
 * busy service that is a tenth of the transport's work. When the message
 * is the driver's own (nats.js 3 keeps the raw bytes in `_rdata` and the
 * header length in `_msg.hdr`), the header block is read here in one pass
 * instead; any other message goes through its public `headers`.
 */
export function readRequestHeaders(msg: {
  readonly headers?: { get(key: string): string } | undefined;
}): RequestHeaderValues {
  const raw = msg as { _rdata?: unknown; _msg?: { hdr?: unknown } };
  const length = raw._msg?.hdr;
  if (typeof length === "number" && raw._rdata instanceof Uint8Array) {
    return length > 0 ? readHeaderBlock(decoder.decode(raw._rdata.subarray(0, length))) : none();
  }
  const headers = msg.headers;
  if (!headers) return none();
  return {
    traceparent: headers.get(NATS_RPC_HEADERS.traceparent),
    tracestate: headers.get(NATS_RPC_HEADERS.tracestate),
    timeout: headers.get(NATS_RPC_HEADERS.timeout),
    caller: headers.get(NATS_RPC_HEADERS.caller),
    idempotencyKey: headers.get(NATS_RPC_HEADERS.idempotencyKey),
  };
}

/**
 * A header block exactly as `WireHeaders` writes it: the keys in its order
 * and case, each once, nothing else. One match of this reads every value
 * in a third of the time of the line-by-line parse, which reads any other
 * block (another client's, or one a proxy rewrote).
 */
const OWN_BLOCK = new RegExp(
  `^NATS/1\\.0\r\n${NATS_RPC_HEADERS.traceparent}: ([^\r\n]*)\r\n` +
    `${NATS_RPC_HEADERS.timeout}: ([^\r\n]*)\r\n${NATS_RPC_HEADERS.caller}: ([^\r\n]*)\r\n` +
    `(?:${NATS_RPC_HEADERS.tracestate}: ([^\r\n]*)\r\n)?` +
    `(?:${NATS_RPC_HEADERS.idempotencyKey}: ([^\r\n]*)\r\n)?\r\n$`,
);

/** The values of a header block: Flotilla's own layout at once, any other line by line. */
export function readHeaderBlock(block: string): RequestHeaderValues {
  const own = OWN_BLOCK.exec(block);
  if (own === null) return parseHeaderBlock(block);
  return {
    traceparent: trimmed(own[1]!),
    tracestate: own[4] === undefined ? "" : trimmed(own[4]),
    timeout: trimmed(own[2]!),
    caller: trimmed(own[3]!),
    idempotencyKey: own[5] === undefined ? "" : trimmed(own[5]),
  };
}

/** `value` without surrounding spaces, as `parseHeaderBlock` reads it. */
function trimmed(value: string): string {
  return value.charCodeAt(0) === 0x20 || value.charCodeAt(value.length - 1) === 0x20
    ? value.trim()
    : value;
}

/** Reads a header block `NATS/1.0[ status]\r\nkey: value\r\n…\r\n\r\n`. */
export function parseHeaderBlock(block: string): RequestHeaderValues {
  const values = none();
  let lineEnd = block.indexOf("\r\n");
  while (lineEnd >= 0) {
    const start = lineEnd + 2;
    lineEnd = block.indexOf("\r\n", start);
    const end = lineEnd < 0 ? block.length : lineEnd;
    if (end === start) break;
    const colon = block.indexOf(":", start);
    if (colon < 0 || colon > end) continue;
    const key = block.slice(start, colon);
    // Flotilla writes its keys in lowercase; other clients may canonicalise or pad them.
    const field = FIELDS.get(key) ?? FIELDS.get(key.trim().toLowerCase());
    if (field !== undefined && values[field] === "") {
      // `key: value` has one space after the colon: trim only when there is more.
      const from = block.charCodeAt(colon + 1) === 0x20 ? colon + 2 : colon + 1;
      values[field] = trimmed(block.slice(from, end));
    }
  }
  return values;
}

const FIELDS = new Map<string, keyof RequestHeaderValues>([
  [NATS_RPC_HEADERS.traceparent, "traceparent"],
  [NATS_RPC_HEADERS.tracestate, "tracestate"],
  [NATS_RPC_HEADERS.timeout, "timeout"],
  [NATS_RPC_HEADERS.caller, "caller"],
  [NATS_RPC_HEADERS.idempotencyKey, "idempotencyKey"],
]);

function none(): RequestHeaderValues {
  return { traceparent: "", tracestate: "", timeout: "", caller: "", idempotencyKey: "" };
}

/**
 * The request id at the end of a reply subject `<inbox><id in base 36>`,
 * read from the subject's bytes when the message is the driver's own
 * (nats.js 3 keeps them in `_msg.subject`) rather than decoding the whole
 * subject into a string; `NaN` for anything else.
 */
export function replyToken(msg: { readonly subject: string }, prefixLength: number): number {
  const bytes = (msg as { _msg?: { subject?: unknown } })._msg?.subject;
  if (!(bytes instanceof Uint8Array)) return parseBase36(msg.subject.substring(prefixLength));
  if (bytes.length <= prefixLength || bytes.length - prefixLength > 10) return NaN;
  let id = 0;
  for (let i = prefixLength; i < bytes.length; i++) {
    const code = bytes[i]!;
    if (code >= 0x30 && code <= 0x39) id = id * 36 + code - 0x30;
    else if (code >= 0x61 && code <= 0x7a) id = id * 36 + code - 0x57;
    else return NaN;
  }
  return id;
}

function parseBase36(text: string): number {
  return /^[0-9a-z]{1,10}$/.test(text) ? parseInt(text, 36) : NaN;
}
