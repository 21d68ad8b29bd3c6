/**
 * A configuration source on a JSON file, watched with `Deno.watchFs`: the
 * embedded default of `FLOTILLA_CONFIG`.
 *
 * @module
 */

import { basename, dirname, resolve } from "node:path";
import type { ConfigChange, ConfigSource } from "./config_source.ts";
import { ConfigError } from "./errors.ts";
import { pause } from "./_pause.ts";
import { parseJsonLayer } from "./_json.ts";

/** Options of {@link FileConfigSource}. */
export interface FileConfigSourceOptions {
  /**
   * How long the file must stay quiet after a change before it is read, so
   * an editor's several writes make one reload. @default {100}
   */
  debounceMs?: number;
}

/**
 * A {@link ConfigSource} reading a JSON file, then again whenever it
 * changes. The file's folder is watched (not the file), so a file replaced
 * by rename — what editors and `mv` of a temporary file do, the safe way to
 * write it — is followed too. Changes are debounced; content equal to what
 * was last read is not reported again. A missing file is an empty layer
 * (the service runs on its other layers); a file that is not JSON is
 * reported as an `INVALID_CONFIG` error and the configuration in force stays.
 *
 * @example
 * ```ts
 * import { ConfigStore, FileConfigSource } from "@flotilla/config";
 * import { z } from "zod";
 *
 * await using config = await ConfigStore.open(z.object({ pool: z.number().default(4) }), {
 *   source: new FileConfigSource("/srv/order/config.json"),
 * });
 * ```
 */
export class FileConfigSource implements ConfigSource {
  /** Always `file`. */
  readonly kind = "file";
  /** `file:<absolute path>`. */
  readonly name: string;
  /** The absolute path of the file. */
  readonly path: string;
  readonly #debounceMs: number;
  readonly #disposed = new AbortController();

  /**
   * Creates the source; nothing is read until `changes()` is iterated.
   *
   * @throws {RangeError} when `debounceMs` is not a non-negative number.
   */
  constructor(path: string, options: FileConfigSourceOptions = {}) {
    const debounceMs = options.debounceMs ?? 100;
    if (!(Number.isFinite(debounceMs) && debounceMs >= 0)) {
      throw new RangeError(
        `Cannot watch the configuration file as 'debounceMs' must be >= 0: current value is ${debounceMs}`,
      );
    }
    this.path = resolve(path);
    this.name = `file:${this.path}`;
    this.#debounceMs = debounceMs;
  }

  /** The file's layer now, then after each change. */
  async *changes(signal?: AbortSignal): AsyncGenerator<ConfigChange> {
    const stop = signal ? AbortSignal.any([signal, this.#disposed.signal]) : this.#disposed.signal;
    if (stop.aborted) return;
    // Watch before the first read, so a write between the two is not missed.
    const watcher = Deno.watchFs(dirname(this.path), { recursive: false });
    const name = basename(this.path);
    let dirty = false;
    let wake: (() => void) | undefined;
    const onStop = () => {
      try {
        watcher.close();
      } catch {
        // already closed
      }
      wake?.();
    };
    stop.addEventListener("abort", onStop, { once: true });
    const pump = (async () => {
      try {
        for await (const event of watcher) {
          if (event.paths.some((path) => basename(path) === name)) {
            dirty = true;
            wake?.();
          }
        }
      } catch {
        // the watcher closed
      }
      wake?.();
    })();
    try {
      let last = await this.#read();
      yield last.change;
      while (!stop.aborted) {
        if (!dirty) {
          await new Promise<void>((resolve) => wake = resolve);
          wake = undefined;
          continue;
        }
        // Debounce: read once the file has been quiet for debounceMs.
        do {
          dirty = false;
          if (!await pause(this.#debounceMs, stop)) return;
        } while (dirty);
        const next = await this.#read();
        if (next.text !== undefined && next.text === last.text) continue;
        last = next;
        yield next.change;
      }
    } finally {
      stop.removeEventListener("abort", onStop);
      onStop();
      await pump;
    }
  }

  async #read(): Promise<{ text: string | undefined; change: ConfigChange }> {
    let text: string;
    let mtime: Date | null = null;
    try {
      text = await Deno.readTextFile(this.path);
      mtime = (await Deno.stat(this.path).catch(() => undefined))?.mtime ?? null;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        return { text: "", change: { type: "values", values: {}, revision: "missing" } };
      }
      return {
        text: undefined,
        change: {
          type: "error",
          error: new ConfigError(
            "CONFIG_SOURCE_UNAVAILABLE",
            `Cannot read the configuration file ${this.path}: ${
              error instanceof Error ? error.message : String(error)
            }`,
            { cause: error, data: { source: this.name } },
          ),
        },
      };
    }
    try {
      const values = parseJsonLayer(text, this.name);
      return {
        text,
        change: { type: "values", values, revision: mtime ? mtime.toISOString() : undefined },
      };
    } catch (error) {
      return { text, change: { type: "error", error: error as ConfigError } };
    }
  }

  /** Ends every `changes()` iterator and closes its watcher. */
  [Symbol.asyncDispose](): Promise<void> {
    this.#disposed.abort();
    return Promise.resolve();
  }
}
