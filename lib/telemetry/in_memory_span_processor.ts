/**
 * A span processor that keeps ended spans in memory, for tests.
 *
 * @module
 */

import type { SpanData, SpanProcessor } from "./span.ts";

/**
 * Keeps every ended span in {@link InMemorySpanProcessor.spans}.
 *
 * @example
 * ```ts
 * import { InMemorySpanProcessor, Tracer } from "@flotilla/telemetry";
 *
 * const processor = new InMemorySpanProcessor();
 * const tracer = new Tracer({ processor });
 * ```
 */
export class InMemorySpanProcessor implements SpanProcessor {
  /** The ended spans, in the order they ended. */
  readonly spans: SpanData[] = [];

  /** Stores the span. */
  onEnd(span: SpanData): void {
    this.spans.push(span);
  }

  /** Nothing to flush. */
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  /** Nothing to stop. */
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
