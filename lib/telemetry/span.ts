/**
 * Spans: one timed operation of a trace, identified by the ids of our own
 * {@link TraceContext}, so what is exported matches what was propagated.
 *
 * @module
 */

import type { Clock, TraceContext } from "@flotilla/core";

/** What a span represents, as in OpenTelemetry. */
export type SpanKind = "internal" | "server" | "client" | "producer" | "consumer";

/** A span attribute value. */
export type AttributeValue =
  | string
  | number
  | boolean
  | readonly string[]
  | readonly number[]
  | readonly boolean[];

/** Span attributes, keyed by semantic-convention names (`rpc.method`…). */
export type Attributes = Record<string, AttributeValue>;

/** Something that happened during a span (an attempt, an exception). */
export interface SpanEvent {
  /** Event name, e.g. `exception`. */
  readonly name: string;
  /** When, in epoch milliseconds. */
  readonly timeMs: number;
  /** Its attributes. */
  readonly attributes: Attributes | undefined;
}

/** A link to a span of another trace (the events a batch publish carries). */
export interface SpanLink {
  /** The linked trace. */
  readonly traceId: string;
  /** The linked span. */
  readonly spanId: string;
  /** Its attributes. */
  readonly attributes?: Attributes;
}

/** The status of a span: `error` only for failures of the span's own side. */
export interface SpanStatus {
  /** `unset` by default, `ok` when explicitly set, `error` on failure. */
  readonly code: "unset" | "ok" | "error";
  /** A description of the error. */
  readonly message?: string;
}

/** An ended span, as exporters receive it. */
export interface SpanData {
  /** Span name, e.g. `order/place`. */
  readonly name: string;
  /** Span kind. */
  readonly kind: SpanKind;
  /** Trace id, 32 hex characters. */
  readonly traceId: string;
  /** Span id, 16 hex characters. */
  readonly spanId: string;
  /** Parent span id, if any. */
  readonly parentSpanId: string | undefined;
  /** W3C tracestate. */
  readonly tracestate: string | undefined;
  /** Start, epoch milliseconds (fractional). */
  readonly startTimeMs: number;
  /** End, epoch milliseconds (fractional). */
  readonly endTimeMs: number;
  /** Attributes. */
  readonly attributes: Readonly<Attributes>;
  /** Events. */
  readonly events: readonly SpanEvent[];
  /** Links. */
  readonly links: readonly SpanLink[];
  /** Status. */
  readonly status: SpanStatus;
}

/** A span being recorded (or a no-op one when the trace is not sampled). */
export interface Span {
  /** The span's trace context, with the sampling decision: propagate this one. */
  readonly trace: TraceContext;
  /** Whether the span is recorded and will be exported. */
  readonly recording: boolean;
  /** Sets one attribute; `undefined` is ignored. */
  setAttribute(key: string, value: AttributeValue | undefined): this;
  /** Sets several attributes. */
  setAttributes(attributes: Attributes): this;
  /** Adds an event now. */
  addEvent(name: string, attributes?: Attributes): this;
  /**
   * Records a failure: an `exception` event, the `error.type` attribute (the
   * error's `code`, else its name) and, unless it is the caller's fault on a
   * server span, the `error` status.
   */
  recordError(error: unknown): this;
  /** Sets the status. */
  setStatus(status: SpanStatus): this;
  /**
   * Ends the span, now or at `endTimeMs` (epoch milliseconds, e.g. a clock
   * reading the caller already took); later calls are ignored.
   */
  end(endTimeMs?: number): void;
}

/** Receives ended spans (a {@link BatchSpanProcessor}). */
export interface SpanProcessor {
  /** A sampled span ended. Must not throw nor block. */
  onEnd(span: SpanData): void;
  /** Exports what is queued. */
  forceFlush(): Promise<void>;
  /** Flushes and stops. */
  shutdown(): Promise<void>;
}

// Kinds that are the server's own fault (OpenTelemetry RPC semantic conventions).
const SERVER_FAULTS: ReadonlySet<string> = new Set([
  "UNKNOWN",
  "DEADLINE_EXCEEDED",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
]);

// Shared by every span that has none: nothing is allocated for them per span.
const NO_EVENTS: readonly SpanEvent[] = Object.freeze([]);
const NO_LINKS: readonly SpanLink[] = Object.freeze([]);
const UNSET: SpanStatus = Object.freeze({ code: "unset" });

/** The span of an unsampled trace: keeps the ids, records nothing. */
export class NonRecordingSpan implements Span {
  /** The span's trace context. */
  readonly trace: TraceContext;
  /** Always false. */
  readonly recording = false;
  /** Wraps `trace`. */
  constructor(trace: TraceContext) {
    this.trace = trace;
  }
  /** Ignored. */
  setAttribute(): this {
    return this;
  }
  /** Ignored. */
  setAttributes(): this {
    return this;
  }
  /** Ignored. */
  addEvent(): this {
    return this;
  }
  /** Ignored. */
  recordError(): this {
    return this;
  }
  /** Ignored. */
  setStatus(): this {
    return this;
  }
  /** Ignored. */
  end(): void {}
}

/**
 * A sampled span; handed to its processor when it ends, as its own
 * {@link SpanData} (no copy is made: after `end()` it no longer changes).
 * Built by `Tracer.startSpan()`.
 */
export class RecordingSpan implements Span, SpanData {
  /** The span's trace context. */
  readonly trace: TraceContext;
  /** Always true. */
  readonly recording = true;
  /** Span name, e.g. `order/place`. */
  readonly name: string;
  /** Span kind. */
  readonly kind: SpanKind;
  /** Start, epoch milliseconds (fractional). */
  readonly startTimeMs: number;
  readonly #attributes: Attributes;
  readonly #links: readonly SpanLink[];
  readonly #clock: Clock;
  readonly #processor: SpanProcessor;
  #events: SpanEvent[] | undefined;
  #status: SpanStatus = UNSET;
  #end: number | undefined;

  /** Starts the span now (or at `startTimeMs`). */
  constructor(
    name: string,
    kind: SpanKind,
    trace: TraceContext,
    options: {
      attributes?: Attributes | undefined;
      links?: readonly SpanLink[] | undefined;
      startTimeMs?: number | undefined;
      clock: Clock;
      processor: SpanProcessor;
    },
  ) {
    this.name = name;
    this.kind = kind;
    this.trace = trace;
    // Ids built by concatenation are ropes of short pieces, several hundred bytes a span; reading
    // one character makes V8 flatten each in place, so the span, which lives until its export
    // (and often into the old generation), keeps plain strings. The encoder would flatten them
    // anyway, later, after the garbage collector had copied every piece.
    void (trace.traceId.charCodeAt(0) + trace.spanId.charCodeAt(0) +
      (trace.parentSpanId?.charCodeAt(0) ?? 0));
    this.#clock = options.clock;
    this.#processor = options.processor;
    this.startTimeMs = options.startTimeMs ?? options.clock.now();
    this.#attributes = options.attributes ? { ...options.attributes } : {};
    this.#links = options.links ?? NO_LINKS;
  }

  /** Trace id, 32 hex characters. */
  get traceId(): string {
    return this.trace.traceId;
  }

  /** Span id, 16 hex characters. */
  get spanId(): string {
    return this.trace.spanId;
  }

  /** Parent span id, if any. */
  get parentSpanId(): string | undefined {
    return this.trace.parentSpanId;
  }

  /** W3C tracestate. */
  get tracestate(): string | undefined {
    return this.trace.tracestate;
  }

  /** End, epoch milliseconds (fractional); `NaN` until the span ends. */
  get endTimeMs(): number {
    return this.#end ?? NaN;
  }

  /** Attributes (no longer change once the span ended). */
  get attributes(): Readonly<Attributes> {
    return this.#attributes;
  }

  /** Events. */
  get events(): readonly SpanEvent[] {
    return this.#events ?? NO_EVENTS;
  }

  /** Links. */
  get links(): readonly SpanLink[] {
    return this.#links;
  }

  /** Status. */
  get status(): SpanStatus {
    return this.#status;
  }

  /** Sets one attribute; `undefined` is ignored. */
  setAttribute(key: string, value: AttributeValue | undefined): this {
    if (this.#end === undefined && value !== undefined) this.#attributes[key] = value;
    return this;
  }

  /** Sets several attributes. */
  setAttributes(attributes: Attributes): this {
    if (this.#end === undefined) Object.assign(this.#attributes, attributes);
    return this;
  }

  /** Adds an event now. */
  addEvent(name: string, attributes?: Attributes): this {
    if (this.#end === undefined) {
      (this.#events ??= []).push({ name, timeMs: this.#clock.now(), attributes });
    }
    return this;
  }

  /** Records a failure (see {@link Span.recordError}). */
  recordError(error: unknown): this {
    if (this.#end !== undefined) return this;
    const e = error as { name?: unknown; message?: unknown; code?: unknown; kind?: unknown };
    const type = typeof e?.code === "string"
      ? e.code
      : typeof e?.name === "string"
      ? e.name
      : typeof error;
    const message = typeof e?.message === "string" ? e.message : String(error);
    this.addEvent("exception", {
      "exception.type": typeof e?.name === "string" ? e.name : typeof error,
      "exception.message": message,
    });
    this.#attributes["error.type"] = type;
    const callerFault = this.kind === "server" && typeof e?.kind === "string" &&
      !SERVER_FAULTS.has(e.kind);
    if (!callerFault) this.#status = { code: "error", message };
    return this;
  }

  /** Sets the status. */
  setStatus(status: SpanStatus): this {
    if (this.#end === undefined) this.#status = status;
    return this;
  }

  /** Ends the span (now or at `endTimeMs`) and hands it to the processor; later calls are ignored. */
  end(endTimeMs?: number): void {
    if (this.#end !== undefined) return;
    this.#end = endTimeMs ?? this.#clock.now();
    this.#processor.onEnd(this);
  }
}
