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

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
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
  const match = TRACEPARENT.exec(header.trim());
  if (!match) return undefined;
  const [, version, traceId, parentId, flags, rest] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string | undefined,
  ];
  if (version === "ff" || (version === "00" && rest !== undefined)) {
    return undefined;
  }
  if (traceId === ZERO_TRACE || parentId === ZERO_SPAN) return undefined;
  return { traceId, parentId, sampled: (parseInt(flags, 16) & 1) === 1 };
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
  const trace: TraceContext = {
    traceId: parent.traceId,
    spanId: newSpanId(),
    parentSpanId: parent.parentId,
    sampled: parent.sampled,
    ...(tracestate ? { tracestate } : {}),
  };
  return trace;
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

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
// Ids are drawn from a pool refilled in bulk: one getRandomValues call serves hundreds of ids.
const pool = new Uint8Array(4096);
let poolOffset = pool.length;

function randomHex(bytes: number): string {
  while (true) {
    if (poolOffset + bytes > pool.length) {
      crypto.getRandomValues(pool);
      poolOffset = 0;
    }
    const start = poolOffset;
    poolOffset += bytes;
    let hex = "";
    let zero = true;
    for (let i = start; i < start + bytes; i++) {
      const byte = pool[i]!;
      if (byte !== 0) zero = false;
      hex += HEX[byte];
    }
    if (!zero) return hex;
  }
}
