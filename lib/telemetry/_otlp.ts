// Internal helper; not exported by mod.ts. OTLP trace encodings: JSON and protobuf.

import type { Attributes, AttributeValue, SpanData, SpanKind } from "./span.ts";

/** The instrumentation scope of our spans. */
export interface Scope {
  name: string;
  version: string;
}

const KIND: Readonly<Record<SpanKind, number>> = {
  internal: 1,
  server: 2,
  client: 3,
  producer: 4,
  consumer: 5,
};
const STATUS = { unset: 0, ok: 1, error: 2 } as const;

/** Epoch milliseconds (fractional) to epoch nanoseconds. */
export function toNanos(ms: number): bigint {
  const whole = Math.floor(ms);
  return BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6));
}

// ---- JSON (OTLP/HTTP JSON: ids as hex, 64-bit integers as decimal strings) ----

function jsonValue(value: AttributeValue): unknown {
  if (typeof value === "string") return { stringValue: value };
  if (typeof value === "boolean") return { boolValue: value };
  if (typeof value === "number") {
    return Number.isSafeInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  }
  return { arrayValue: { values: (value as readonly AttributeValue[]).map(jsonValue) } };
}

function jsonAttributes(attributes: Readonly<Attributes> | undefined): unknown[] {
  const out: unknown[] = [];
  if (!attributes) return out;
  for (const key in attributes) out.push({ key, value: jsonValue(attributes[key]!) });
  return out;
}

/** An `ExportTraceServiceRequest` as OTLP/JSON. */
export function encodeJson(
  spans: readonly SpanData[],
  resource: Readonly<Attributes>,
  scope: Scope,
): string {
  return JSON.stringify({
    resourceSpans: [{
      resource: { attributes: jsonAttributes(resource) },
      scopeSpans: [{
        scope: { name: scope.name, version: scope.version },
        spans: spans.map((span) => ({
          traceId: span.traceId,
          spanId: span.spanId,
          ...(span.parentSpanId ? { parentSpanId: span.parentSpanId } : {}),
          ...(span.tracestate ? { traceState: span.tracestate } : {}),
          name: span.name,
          kind: KIND[span.kind],
          startTimeUnixNano: toNanos(span.startTimeMs).toString(),
          endTimeUnixNano: toNanos(span.endTimeMs).toString(),
          attributes: jsonAttributes(span.attributes),
          events: span.events.map((event) => ({
            timeUnixNano: toNanos(event.timeMs).toString(),
            name: event.name,
            attributes: jsonAttributes(event.attributes),
          })),
          links: span.links.map((link) => ({
            traceId: link.traceId,
            spanId: link.spanId,
            attributes: jsonAttributes(link.attributes),
          })),
          status: {
            code: STATUS[span.status.code],
            ...(span.status.message ? { message: span.status.message } : {}),
          },
        })),
      }],
    }],
  });
}

// ---- protobuf (opentelemetry/proto/collector/trace/v1) ----

const encoder = new TextEncoder();
const HEX_VALUE = new Uint8Array(128);
for (let i = 0; i < 16; i++) {
  HEX_VALUE["0123456789abcdef".charCodeAt(i)] = i;
  HEX_VALUE["0123456789ABCDEF".charCodeAt(i)] = i;
}
const TWO_32 = 2 ** 32;

function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

/**
 * One growing buffer for the whole request, kept from one export to the next.
 * A nested message reserves one byte for its length ({@link Writer.begin})
 * and shifts itself right in {@link Writer.end} in the case the length needs
 * more, so nothing is encoded twice. No closure, no BigInt on the way: this
 * runs once per exported span, on the service's own thread.
 */
class Writer {
  #buf: Uint8Array<ArrayBuffer> = new Uint8Array(64 * 1024);
  #view = new DataView(this.#buf.buffer);
  #len = 0;

  #ensure(n: number): void {
    if (this.#len + n > this.#buf.length) this.#grow(n);
  }

  #grow(n: number): void {
    let size = this.#buf.length * 2;
    while (size < this.#len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  /** Starts writing a request from the beginning of the buffer. */
  reset(): void {
    this.#len = 0;
  }

  /** A varint of a non-negative safe integer, or of any integer as 64-bit two's complement. */
  varint(value: number): void {
    this.#ensure(10);
    const buf = this.#buf;
    let len = this.#len;
    if (value >= 0 && value <= 0x7fffffff) {
      let n = value;
      while (n > 0x7f) {
        buf[len++] = (n & 0x7f) | 0x80;
        n >>>= 7;
      }
      buf[len++] = n;
    } else if (value > 0 && value <= Number.MAX_SAFE_INTEGER) {
      let n = value;
      while (n > 0x7f) {
        buf[len++] = (n % 0x80) | 0x80;
        n = Math.floor(n / 0x80);
      }
      buf[len++] = n;
    } else {
      let v = BigInt.asUintN(64, BigInt(value));
      while (v > 0x7fn) {
        buf[len++] = Number(v & 0x7fn) | 0x80;
        v >>= 7n;
      }
      buf[len++] = Number(v);
    }
    this.#len = len;
  }

  /** A field's key: `(field << 3) | wire`, every field number here being below 16. */
  tag(field: number, wire: number): void {
    this.#ensure(1);
    this.#buf[this.#len++] = (field << 3) | wire;
  }

  /** Writes `field` and a one-byte length placeholder; returns where the message starts. */
  begin(field: number): number {
    this.#ensure(2);
    this.#buf[this.#len++] = (field << 3) | 2;
    return ++this.#len;
  }

  /** Fixes the length of the message that {@link Writer.begin} returned `start` for. */
  end(start: number): void {
    const size = this.#len - start;
    if (size < 0x80) {
      this.#buf[start - 1] = size;
      return;
    }
    const extra = varintSize(size) - 1;
    this.#ensure(extra);
    const buf = this.#buf;
    buf.copyWithin(start + extra, start, this.#len);
    this.#len += extra;
    let n = size;
    let at = start - 1;
    while (n > 0x7f) {
      buf[at++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    buf[at] = n;
  }

  string(field: number, value: string): void {
    const length = value.length;
    this.#ensure(length * 3 + 6);
    const buf = this.#buf;
    buf[this.#len++] = (field << 3) | 2;
    if (length < 0x80) {
      // Mostly ASCII and short (keys, names, ids): the length fits one byte, written after.
      const at = this.#len + 1;
      let i = 0;
      for (; i < length; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) break;
        buf[at + i] = c;
      }
      if (i === length) {
        buf[this.#len] = length;
        this.#len = at + length;
        return;
      }
    }
    const start = ++this.#len;
    this.#len += encoder.encodeInto(value, buf.subarray(start)).written;
    this.end(start);
  }

  hex(field: number, hex: string): void {
    const n = hex.length >> 1;
    this.#ensure(n + 6);
    const buf = this.#buf;
    buf[this.#len++] = (field << 3) | 2;
    this.varint(n); // one byte: ids are 8 or 16 bytes
    let len = this.#len;
    for (let i = 0; i < n; i++) {
      buf[len++] = (HEX_VALUE[hex.charCodeAt(2 * i)]! << 4) | HEX_VALUE[hex.charCodeAt(2 * i + 1)]!;
    }
    this.#len = len;
  }

  /** A `fixed64` of epoch milliseconds (fractional) as epoch nanoseconds, without BigInt. */
  nanos(field: number, ms: number): void {
    this.#ensure(9);
    this.#buf[this.#len++] = (field << 3) | 1;
    const whole = Math.floor(ms);
    const sub = Math.round((ms - whole) * 1e6);
    // ns = whole × 10^6 + sub, split so that every product stays an exact double:
    // whole = high × 2^16 + low, so ns = (high × 10^6) × 2^16 + (low × 10^6 + sub).
    const low = whole % 65536;
    const high = (whole - low) / 65536;
    const a = high * 1e6; // < 2^46
    const lower = (a % 65536) * 65536 + low * 1e6 + sub; // < 2^37
    const lo = lower % TWO_32;
    const hi = (a - (a % 65536)) / 65536 + (lower - lo) / TWO_32;
    this.#view.setUint32(this.#len, lo, true);
    this.#view.setUint32(this.#len + 4, hi, true);
    this.#len += 8;
  }

  double(field: number, value: number): void {
    this.#ensure(9);
    this.#buf[this.#len++] = (field << 3) | 1;
    this.#view.setFloat64(this.#len, value, true);
    this.#len += 8;
  }

  /** A copy of what was written. */
  finish(): Uint8Array<ArrayBuffer> {
    return this.#buf.slice(0, this.#len);
  }
}

function protoValue(w: Writer, value: AttributeValue): void {
  if (typeof value === "string") w.string(1, value);
  else if (typeof value === "boolean") {
    w.tag(2, 0);
    w.varint(value ? 1 : 0);
  } else if (typeof value === "number") {
    if (Number.isSafeInteger(value)) {
      w.tag(3, 0);
      w.varint(value);
    } else w.double(4, value);
  } else {
    const array = w.begin(5);
    for (const item of value as readonly AttributeValue[]) {
      const v = w.begin(1);
      protoValue(w, item);
      w.end(v);
    }
    w.end(array);
  }
}

function protoAttributes(w: Writer, field: number, attributes: Readonly<Attributes> | undefined) {
  if (!attributes) return;
  for (const key in attributes) {
    const kv = w.begin(field);
    w.string(1, key);
    const value = w.begin(2);
    protoValue(w, attributes[key]!);
    w.end(value);
    w.end(kv);
  }
}

let shared: Writer | undefined;

/** An `ExportTraceServiceRequest` as protobuf. */
export function encodeProto(
  spans: readonly SpanData[],
  resource: Readonly<Attributes>,
  scope: Scope,
): Uint8Array<ArrayBuffer> {
  // Encoding is synchronous: one writer serves every export of the thread.
  const w = shared ??= new Writer();
  w.reset();
  const rs = w.begin(1);
  const r = w.begin(1);
  protoAttributes(w, 1, resource);
  w.end(r);
  const ss = w.begin(2);
  const sc = w.begin(1);
  w.string(1, scope.name);
  w.string(2, scope.version);
  w.end(sc);
  for (const span of spans) {
    const s = w.begin(2);
    w.hex(1, span.traceId);
    w.hex(2, span.spanId);
    if (span.tracestate) w.string(3, span.tracestate);
    if (span.parentSpanId) w.hex(4, span.parentSpanId);
    w.string(5, span.name);
    w.tag(6, 0);
    w.varint(KIND[span.kind]);
    w.nanos(7, span.startTimeMs);
    w.nanos(8, span.endTimeMs);
    protoAttributes(w, 9, span.attributes);
    for (const event of span.events) {
      const e = w.begin(11);
      w.nanos(1, event.timeMs);
      w.string(2, event.name);
      protoAttributes(w, 3, event.attributes);
      w.end(e);
    }
    for (const link of span.links) {
      const l = w.begin(13);
      w.hex(1, link.traceId);
      w.hex(2, link.spanId);
      protoAttributes(w, 4, link.attributes);
      w.end(l);
    }
    const st = w.begin(15);
    if (span.status.message) w.string(2, span.status.message);
    if (span.status.code !== "unset") {
      w.tag(3, 0);
      w.varint(STATUS[span.status.code]);
    }
    w.end(st);
    w.end(s);
  }
  w.end(ss);
  w.end(rs);
  return w.finish();
}

// ---- the collector's answer: ExportTraceServiceResponse.partial_success ----

/** What an `ExportTraceServiceResponse` says: spans the collector rejected, and why. */
export interface PartialSuccess {
  readonly rejected: number;
  readonly message: string;
}

/**
 * The `partial_success` of a protobuf `ExportTraceServiceResponse`, or
 * `undefined` for a full success (absent, or zero spans rejected) or bytes
 * that do not read as one.
 */
export function decodePartialSuccess(bytes: Uint8Array): PartialSuccess | undefined {
  try {
    let rejected = 0;
    let message = "";
    for (const [field, value] of fields(bytes)) {
      if (field !== 1 || !(value instanceof Uint8Array)) continue;
      for (const [inner, part] of fields(value)) {
        if (inner === 1 && typeof part === "number") rejected = part;
        if (inner === 2 && part instanceof Uint8Array) message = new TextDecoder().decode(part);
      }
    }
    return rejected > 0 ? { rejected, message } : undefined;
  } catch {
    return undefined;
  }
}

/** The `partialSuccess` of an OTLP/JSON response body, as {@link decodePartialSuccess}. */
export function parsePartialSuccess(text: string): PartialSuccess | undefined {
  try {
    const partial = (JSON.parse(text) as { partialSuccess?: Record<string, unknown> })
      ?.partialSuccess;
    const rejected = Number(partial?.rejectedSpans ?? 0);
    if (!(Number.isSafeInteger(rejected) && rejected > 0)) return undefined;
    return { rejected, message: String(partial?.errorMessage ?? "") };
  } catch {
    return undefined;
  }
}

/** The fields of a protobuf message: varints as numbers, length-delimited ones as bytes. */
function* fields(bytes: Uint8Array): Generator<[number, number | Uint8Array]> {
  let at = 0;
  const varint = () => {
    let value = 0;
    let scale = 1;
    while (true) {
      if (at >= bytes.length) throw new RangeError("truncated varint");
      const byte = bytes[at++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
  };
  while (at < bytes.length) {
    const key = varint();
    const wire = key & 7;
    if (wire === 0) yield [key >>> 3, varint()];
    else if (wire === 2) {
      const length = varint();
      if (at + length > bytes.length) throw new RangeError("truncated field");
      yield [key >>> 3, bytes.subarray(at, at += length)];
    } else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else throw new RangeError(`unknown wire type ${wire}`);
  }
}
