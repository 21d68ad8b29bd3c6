/**
 * W3C Trace Context (`traceparent` / `tracestate`) parsing and ids.
 *
 * @module
 */

/** The trace identity of one unit of work (a span). */
export interface TraceContext {
  /** 32 lowercase hex characters, never all zero. */
  readonly traceId: string;
  /** 16 lowercase hex characters of this span, never all zero. */
  readonly spanId: string;
  /** The caller's span id, when this span continues a remote trace. */
  readonly parentSpanId?: string;
  /** Whether the trace is sampled (trace-flags bit 0). */
  readonly sampled: boolean;
  /** Vendor-specific `tracestate`, carried unchanged. */
  readonly tracestate?: string;
}

/** The W3C grammar, without captures: testing it and slicing costs half of a capturing `exec()`. */
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(?:-.*)?$/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);

/** A parsed `traceparent` header. */
export interface Traceparent {
  /** The trace id. */
  traceId: string;
  /** The caller's span id. */
  parentId: string;
  /** Whether the caller sampled the trace. */
  sampled: boolean;
}

/**
 * Parses a `traceparent` header; returns `undefined` for anything invalid, as
 * the W3C spec requires (the receiver then starts a new trace).
 */
export function parseTraceparent(
  header: string | null | undefined,
): Traceparent | undefined {
  if (!header) return undefined;
  // Every inbound call parses one: hence a test and fixed offsets, not captures.
  const text = header.trim();
  if (!TRACEPARENT.test(text)) return undefined;
  const v0 = text.charCodeAt(0);
  const v1 = text.charCodeAt(1);
  // Version ff is invalid; version 00 has exactly four fields.
  if ((v0 === 0x66 && v1 === 0x66) || (v0 === 0x30 && v1 === 0x30 && text.length > 55)) {
    return undefined;
  }
  const traceId = text.slice(3, 35);
  const parentId = text.slice(36, 52);
  if (traceId === ZERO_TRACE || parentId === ZERO_SPAN) return undefined;
  // Bit 0 of the flags is the low bit of their last hex digit.
  const last = text.charCodeAt(54);
  return { traceId, parentId, sampled: ((last <= 0x39 ? last - 0x30 : last - 0x57) & 1) === 1 };
}

/** Formats the `traceparent` header that announces `trace` to a callee. */
export function formatTraceparent(trace: TraceContext): string {
  return `00-${trace.traceId}-${trace.spanId}-${trace.sampled ? "01" : "00"}`;
}

/** Random 16-byte trace id in lowercase hex. */
export function newTraceId(): string {
  return randomHex(16);
}

/** Random 8-byte span id in lowercase hex. */
export function newSpanId(): string {
  return randomHex(8);
}

/** Starts a new root trace. */
export function newTrace(sampled = true): TraceContext {
  return { traceId: newTraceId(), spanId: newSpanId(), sampled };
}

/**
 * The trace of work that continues a caller's trace: same trace id, a new
 * span id, the caller's span as parent. Starts a new trace when the header
 * is missing or invalid.
 */
export function continueTrace(
  traceparent: string | null | undefined,
  tracestate?: string | null,
): TraceContext {
  const parent = parseTraceparent(traceparent);
  if (!parent) return newTrace();
  return tracestate
    ? {
      traceId: parent.traceId,
      spanId: newSpanId(),
      parentSpanId: parent.parentId,
      sampled: parent.sampled,
      tracestate,
    }
    : {
      traceId: parent.traceId,
      spanId: newSpanId(),
      parentSpanId: parent.parentId,
      sampled: parent.sampled,
    };
}

/** A child span of `parent` in the same process (an outbound call, a step). */
export function childTrace(parent: TraceContext): TraceContext {
  return {
    traceId: parent.traceId,
    spanId: newSpanId(),
    parentSpanId: parent.spanId,
    sampled: parent.sampled,
    ...(parent.tracestate ? { tracestate: parent.tracestate } : {}),
  };
}

const DIGITS = "0123456789abcdef";
/** The char codes of each byte's two hex digits, at `2 * byte` and `2 * byte + 1`. */
const HEX_CODES = Uint16Array.from(
  { length: 512 },
  (_, i) => DIGITS.charCodeAt(i % 2 === 0 ? i >> 5 : (i >> 1) & 15),
);
// Ids are drawn from a pool refilled in bulk: one getRandomValues call serves hundreds of ids.
const pool = new Uint8Array(4096);
let poolOffset = pool.length;
/** The char codes of the id being made, one array per length, reused. */
const codes = new Map<number, number[]>();

function randomHex(bytes: number): string {
  let digits = codes.get(bytes);
  if (digits === undefined) codes.set(bytes, digits = new Array<number>(bytes * 2).fill(0));
  while (true) {
    if (poolOffset + bytes > pool.length) {
      crypto.getRandomValues(pool);
      poolOffset = 0;
    }
    const start = poolOffset;
    poolOffset += bytes;
    let zero = true;
    for (let i = 0; i < bytes; i++) {
      const byte = pool[start + i]!;
      if (byte !== 0) zero = false;
      digits[2 * i] = HEX_CODES[2 * byte]!;
      digits[2 * i + 1] = HEX_CODES[2 * byte + 1]!;
    }
    // One flat string at once: concatenating two digits at a time made a rope of as many
    // pieces, flattened again when the id is written out.
    if (!zero) return String.fromCharCode.apply(null, digits);
  }
}
