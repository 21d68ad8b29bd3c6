/**
 * An async mutex per key, so work on one key runs one at a time while work
 * on different keys runs concurrently.
 *
 * @module
 */

/**
 * Serialises async work per key, in arrival order. Keys with nothing queued
 * take no memory.
 *
 * @example
 * ```ts
 * const mutex = new KeyedMutex();
 * await mutex.run("order-1", async () => { … }); // waits for earlier work on "order-1"
 * ```
 */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();

  /** Number of keys with work running or queued. */
  get size(): number {
    return this.#tails.size;
  }

  /** Runs `work` once all earlier work on `key` has settled; resolves or rejects as it does. */
  async run<T>(key: string, work: () => Promise<T> | T): Promise<T> {
    const previous = this.#tails.get(key);
    let release!: () => void;
    const done = new Promise<void>((resolve) => release = resolve);
    const tail = previous ? previous.then(() => done) : done;
    this.#tails.set(key, tail);
    try {
      await previous;
      return await work();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}
