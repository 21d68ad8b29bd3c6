/**
 * Exports ended spans in batches, in the background, from a bounded queue.
 *
 * @module
 */

import type { Timers } from "@flotilla/resilience";
import { SpansRejectedError } from "./errors.ts";
import type { SpanData, SpanProcessor } from "./span.ts";

/** What an exporter tells of a batch its receiver took only in part. */
export interface ExportResult {
  /** Spans the receiver rejected (counted lost). */
  readonly rejected: number;
  /** Why, as the receiver put it. */
  readonly message?: string;
}

/** Sends a batch of spans somewhere (an {@link OtlpHttpExporter}). */
export interface SpanExporter {
  /**
   * Exports `spans`; rejects on failure, resolves with an
   * {@link ExportResult} when the receiver rejected some of them. Gives up
   * when `signal` aborts.
   */
  export(spans: readonly SpanData[], signal: AbortSignal): Promise<void | ExportResult>;
  /** Releases resources. */
  shutdown?(): Promise<void>;
}

/** Options of {@link BatchSpanProcessor}; the defaults are OpenTelemetry's `OTEL_BSP_*` ones. */
export interface BatchSpanProcessorOptions {
  /** Spans queued at most; more are dropped and counted. @default {2048} */
  maxQueueSize?: number;
  /** Spans per export at most. @default {512} */
  maxExportBatchSize?: number;
  /** Delay between two scheduled exports. @default {5000} */
  scheduledDelayMs?: number;
  /** Time an export may take before it is abandoned. @default {30000} */
  exportTimeoutMs?: number;
  /** Timers of the schedule. @default {unref'd system timers: they never keep the process alive} */
  timers?: Timers;
  /** Told of each span dropped because the queue was full. */
  onDrop?: (count: number) => void;
  /** Told of each batch exported. */
  onExport?: (count: number) => void;
  /** Told of each failed export (its spans are lost). */
  onExportError?: (error: unknown, count: number) => void;
}

/** System timers that do not keep the process alive. */
export const unrefTimers: Timers = {
  setTimeout(callback, ms) {
    const id = setTimeout(callback, ms) as unknown as number;
    Deno.unrefTimer(id);
    return id;
  },
  clearTimeout: (id) => clearTimeout(id),
};

/**
 * Queues ended spans (up to `maxQueueSize`, dropping and counting the rest:
 * tracing must never hold memory or slow a service down) and exports them
 * by `maxExportBatchSize` every `scheduledDelayMs`, or as soon as a full
 * batch waits. One export runs at a time. Dispose it (or `shutdown()`) to
 * flush on the way out.
 *
 * @example
 * ```ts
 * import { BatchSpanProcessor, OtlpHttpExporter, Tracer } from "@flotilla/telemetry";
 *
 * const processor = new BatchSpanProcessor(
 *   new OtlpHttpExporter({ url: "http://127.0.0.1:4318/v1/traces", protocol: "http/json" }),
 * );
 * const tracer = new Tracer({ processor });
 * // … on shutdown:
 * await processor.shutdown();
 * ```
 */
export class BatchSpanProcessor implements SpanProcessor, AsyncDisposable {
  readonly #exporter: SpanExporter;
  readonly #maxQueueSize: number;
  readonly #maxBatch: number;
  readonly #delayMs: number;
  readonly #timeoutMs: number;
  readonly #timers: Timers;
  readonly #onDrop: (count: number) => void;
  readonly #onExport: (count: number) => void;
  readonly #onExportError: (error: unknown, count: number) => void;
  #queue: SpanData[] = [];
  #timer: number | undefined;
  /** Whether the pending timer is the immediate one of a full batch. */
  #exportSoon = false;
  #exporting: Promise<void> | undefined;
  #dropped = 0;
  #stopped = false;

  /** Creates the processor; it exports through `exporter`. */
  constructor(exporter: SpanExporter, options: BatchSpanProcessorOptions = {}) {
    this.#exporter = exporter;
    this.#maxQueueSize = positiveInteger("maxQueueSize", options.maxQueueSize ?? 2048);
    this.#maxBatch = positiveInteger("maxExportBatchSize", options.maxExportBatchSize ?? 512);
    if (this.#maxBatch > this.#maxQueueSize) {
      throw new RangeError(
        `Cannot create the span processor as 'maxExportBatchSize' must not exceed 'maxQueueSize' (${this.#maxQueueSize}): current value is ${this.#maxBatch}`,
      );
    }
    this.#delayMs = nonNegative("scheduledDelayMs", options.scheduledDelayMs ?? 5000);
    this.#timeoutMs = positiveInteger("exportTimeoutMs", options.exportTimeoutMs ?? 30_000);
    this.#timers = options.timers ?? unrefTimers;
    this.#onDrop = options.onDrop ?? (() => {});
    this.#onExport = options.onExport ?? (() => {});
    this.#onExportError = options.onExportError ?? (() => {});
  }

  /** Spans dropped so far because the queue was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Spans waiting to be exported. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Queues an ended span, or drops it when the queue is full. */
  onEnd(span: SpanData): void {
    if (this.#stopped) return;
    if (this.#queue.length >= this.#maxQueueSize) {
      this.#dropped++;
      this.#onDrop(1);
      return;
    }
    this.#queue.push(span);
    // While an export runs, the drain after it schedules what is left.
    if (this.#exporting) return;
    // A full batch goes out on the next turn. Spans ending before that turn must not re-arm the
    // timer: at thousands of spans a second that was a timer created and cancelled per span.
    if (this.#queue.length >= this.#maxBatch) {
      if (!this.#exportSoon) this.#schedule(0);
    } else if (this.#timer === undefined) this.#schedule(this.#delayMs);
  }

  /** Exports everything queued now; resolves when done (failures are reported, not thrown). */
  async forceFlush(): Promise<void> {
    this.#cancelTimer();
    while (this.#exporting) await this.#exporting;
    while (this.#queue.length > 0) {
      await this.#exportOne();
    }
  }

  /** Flushes, then stops taking spans and shuts the exporter down. Idempotent. */
  async shutdown(): Promise<void> {
    if (this.#stopped) return;
    await this.forceFlush();
    this.#stopped = true;
    this.#cancelTimer();
    await this.#exporter.shutdown?.();
  }

  /** Same as {@link BatchSpanProcessor.shutdown}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  #schedule(ms: number): void {
    this.#cancelTimer();
    this.#exportSoon = ms === 0;
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      this.#exportSoon = false;
      void this.#drain();
    }, ms);
  }

  #cancelTimer(): void {
    if (this.#timer !== undefined) {
      this.#timers.clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#exportSoon = false;
    }
  }

  async #drain(): Promise<void> {
    if (this.#exporting) return;
    await this.#exportOne();
    // A full batch waits: send it now; a partial one waits for the next tick of the schedule.
    if (this.#queue.length >= this.#maxBatch) this.#schedule(0);
    else if (this.#queue.length > 0) this.#schedule(this.#delayMs);
  }

  #exportOne(): Promise<void> {
    const batch = this.#queue.length <= this.#maxBatch
      ? this.#queue
      : this.#queue.slice(0, this.#maxBatch);
    this.#queue = batch === this.#queue ? [] : this.#queue.slice(this.#maxBatch);
    if (batch.length === 0) return Promise.resolve();
    const exporting = (async () => {
      try {
        const result = await this.#exporter.export(batch, AbortSignal.timeout(this.#timeoutMs));
        const rejected = Math.min(batch.length, Math.max(0, result?.rejected ?? 0));
        if (batch.length > rejected) this.#onExport(batch.length - rejected);
        if (rejected > 0) {
          this.#onExportError(new SpansRejectedError(rejected, result?.message ?? ""), rejected);
        }
      } catch (error) {
        this.#onExportError(error, batch.length);
      } finally {
        this.#exporting = undefined;
      }
    })();
    this.#exporting = exporting;
    return exporting;
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot create the span processor as '${name}' must be a positive integer: current value is ${value}`,
    );
  }
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!(Number.isFinite(value) && value >= 0)) {
    throw new RangeError(
      `Cannot create the span processor as '${name}' must be a finite number >= 0: current value is ${value}`,
    );
  }
  return value;
}
