/**
 * An in-memory configuration source, for tests and for configuration set by
 * the program itself.
 *
 * @module
 */

import type { ConfigChange, ConfigSource } from "./config_source.ts";
import type { ConfigError } from "./errors.ts";
import { clonePlain } from "./_values.ts";

/**
 * A {@link ConfigSource} whose layer is set with {@link MemoryConfigSource.set}.
 * Every change is delivered, in order, to every `changes()` iterator.
 *
 * @example
 * ```ts
 * import { MemoryConfigSource } from "@flotilla/config";
 *
 * const source = new MemoryConfigSource({ pool: { size: 4 } });
 * source.set({ pool: { size: 8 } });
 * ```
 */
export class MemoryConfigSource implements ConfigSource {
  /** Always `memory`. */
  readonly kind = "memory";
  /** The name shown as the snapshot's source. */
  readonly name: string;
  #current: ConfigChange;
  #revision = 1;
  #listeners = new Set<(change: ConfigChange) => void>();
  #disposed = new AbortController();

  /** Creates the source holding `values` (a plain object). */
  constructor(values: unknown = {}, options: { name?: string } = {}) {
    this.name = options.name ?? "memory";
    this.#current = { type: "values", values: clonePlain(values), revision: "1" };
  }

  /** Replaces the whole layer with `values`. */
  set(values: unknown): void {
    this.#emit({ type: "values", values: clonePlain(values), revision: String(++this.#revision) });
  }

  /** Reports a failure, as a real source does when it cannot read. */
  fail(error: ConfigError): void {
    this.#emit({ type: "error", error });
  }

  #emit(change: ConfigChange): void {
    if (change.type === "values") this.#current = change;
    for (const listener of this.#listeners) listener(change);
  }

  /** The current layer, then every change. */
  async *changes(signal?: AbortSignal): AsyncGenerator<ConfigChange> {
    const queue: ConfigChange[] = [this.#current];
    let wake: (() => void) | undefined;
    const listener = (change: ConfigChange) => {
      queue.push(change);
      wake?.();
    };
    const stop = signal ? AbortSignal.any([signal, this.#disposed.signal]) : this.#disposed.signal;
    const onStop = () => wake?.();
    stop.addEventListener("abort", onStop);
    this.#listeners.add(listener);
    try {
      while (!stop.aborted) {
        const next = queue.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        await new Promise<void>((resolve) => wake = resolve);
        wake = undefined;
      }
    } finally {
      this.#listeners.delete(listener);
      stop.removeEventListener("abort", onStop);
    }
  }

  /** Ends every `changes()` iterator. */
  [Symbol.asyncDispose](): Promise<void> {
    this.#disposed.abort();
    return Promise.resolve();
  }
}
