/**
 * The tracer: starts spans on our own trace contexts.
 *
 * @module
 */

import { type Clock, newTrace, type TraceContext } from "@flotilla/core";
import { hrClock } from "./hr_clock.ts";
import { alwaysOn, parentBased, type Sampler } from "./sampler.ts";
import {
  type Attributes,
  NonRecordingSpan,
  RecordingSpan,
  type Span,
  type SpanKind,
  type SpanLink,
  type SpanProcessor,
} from "./span.ts";

/** Options of {@link Tracer.startSpan}. */
export interface StartSpanOptions {
  /** What the span represents. @default {"internal"} */
  kind?: SpanKind;
  /**
   * The span's own trace context: its `spanId` becomes the span id and its
   * `parentSpanId` the parent — e.g. `ctx.trace` of an inbound call, or
   * `call.trace` of an outbound one.
   */
  trace: TraceContext;
  /** Initial attributes. */
  attributes?: Attributes;
  /** Links to spans of other traces. */
  links?: readonly SpanLink[];
  /** Start time in epoch milliseconds. @default {clock.now()} */
  startTimeMs?: number;
}

/** Options of {@link Tracer}. */
export interface TracerOptions {
  /** Where ended sampled spans go; without one nothing is recorded. */
  processor?: SpanProcessor | undefined;
  /** The sampling decision. @default {parentBased(alwaysOn)} */
  sampler?: Sampler;
  /** Span timestamps. @default {hrClock} */
  clock?: Clock;
}

/**
 * Starts spans whose ids are those of our {@link TraceContext}s, so that the
 * ids propagated over HTTP headers, gRPC metadata, NATS headers and
 * CloudEvents are the ids exported. Sampling is parent-based: a span with a
 * parent follows the parent's flag; a root span asks the root sampler.
 *
 * @example
 * ```ts
 * import { newTrace } from "@flotilla/core";
 * import { InMemorySpanProcessor, Tracer } from "@flotilla/telemetry";
 *
 * const processor = new InMemorySpanProcessor();
 * const tracer = new Tracer({ processor });
 * const span = tracer.startSpan("order/place", {
 *   kind: "server",
 *   trace: newTrace(),
 *   attributes: { "rpc.system": "flotilla", "rpc.service": "order", "rpc.method": "place" },
 * });
 * span.end();
 * processor.spans.length; // 1
 * ```
 */
export class Tracer {
  /** The sampler. */
  readonly sampler: Sampler;
  readonly #processor: SpanProcessor | undefined;
  readonly #clock: Clock;

  /** Creates a tracer. */
  constructor(options: TracerOptions = {}) {
    this.#processor = options.processor;
    this.sampler = options.sampler ?? parentBased(alwaysOn);
    this.#clock = options.clock ?? hrClock;
  }

  /** Whether spans can be recorded at all (a processor is configured). */
  get enabled(): boolean {
    return this.#processor !== undefined;
  }

  /**
   * `trace` with the sampling decision applied: a root (no `parentSpanId`)
   * is decided by the sampler from its trace id; a child keeps its parent's
   * flag (with the default parent-based sampler). Returns `trace` itself
   * when the decision does not change it.
   */
  decide(trace: TraceContext): TraceContext {
    const sampled = this.sampler.shouldSample(
      trace.traceId,
      trace.parentSpanId === undefined ? undefined : trace.sampled,
    );
    return sampled === trace.sampled ? trace : { ...trace, sampled };
  }

  /** A new root trace context, sampled or not by the sampler. */
  root(): TraceContext {
    return this.decide(newTrace());
  }

  /** Starts a span on `options.trace` (after {@link Tracer.decide}). */
  startSpan(name: string, options: StartSpanOptions): Span {
    const trace = this.decide(options.trace);
    if (!trace.sampled || !this.#processor) return new NonRecordingSpan(trace);
    return new RecordingSpan(name, options.kind ?? "internal", trace, {
      attributes: options.attributes,
      links: options.links,
      startTimeMs: options.startTimeMs,
      clock: this.#clock,
      processor: this.#processor,
    });
  }
}
