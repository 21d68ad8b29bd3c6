/**
 * The live endpoints of one peer, kept current by watching the registry.
 *
 * @module
 */

import type { Logger } from "@flotilla/core";
import type { Registry, ServiceInstance } from "@flotilla/discovery";

/** One instance of a peer as the pipeline calls it. */
export interface PeerEndpoint {
  /** The instance id; balancers and breakers key their state by it. */
  readonly id: string;
  /** Base URL, e.g. `http://127.0.0.1:7102`. */
  readonly url: string;
  /** The discovered instance. */
  readonly instance: ServiceInstance;
}

/** Options of {@link PeerEndpoints}. */
export interface PeerEndpointsOptions {
  /** Where problems with the registry are reported. */
  logger?: Logger;
  /** Pause before re-opening a watch that failed. @default {500} */
  retryDelayMs?: number;
}

/**
 * Watches `registry` for the instances of one service and keeps the latest
 * set in memory, so a call reads it without a round trip. When the registry
 * becomes unreachable the last known set stays in use (stale but serving);
 * the watch is re-opened until it works again.
 */
export class PeerEndpoints implements AsyncDisposable {
  /** The service watched. */
  readonly service: string;
  readonly #registry: Registry;
  readonly #logger: Logger | undefined;
  readonly #retryDelayMs: number;
  readonly #abort = new AbortController();
  #endpoints: readonly PeerEndpoint[] = [];
  #first: Promise<void>;
  #resolveFirst!: () => void;
  #loaded = false;
  #loop: Promise<void> | undefined;

  /** Starts watching `service` in `registry`. */
  constructor(registry: Registry, service: string, options: PeerEndpointsOptions = {}) {
    this.service = service;
    this.#registry = registry;
    this.#logger = options.logger;
    this.#retryDelayMs = options.retryDelayMs ?? 500;
    this.#first = new Promise((resolve) => this.#resolveFirst = resolve);
  }

  /**
   * The current endpoints. The first call waits for the registry's first
   * answer (or for `signal`), later calls return the cached set at once.
   */
  current(signal?: AbortSignal): readonly PeerEndpoint[] | Promise<readonly PeerEndpoint[]> {
    this.#loop ??= this.#watch();
    if (this.#loaded) return this.#endpoints;
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal?.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#first.then(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve(this.#endpoints);
      });
    });
  }

  /** Stops watching. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#abort.abort();
    this.#resolveFirst();
    await this.#loop;
  }

  async #watch(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        for await (const instances of this.#registry.watch(this.service, { signal })) {
          this.#update(instances);
        }
      } catch (error) {
        if (signal.aborted) break;
        this.#logger?.warn("discovery watch failed; keeping the last known endpoints", {
          peer: this.service,
          error,
        });
        if (!this.#loaded) {
          // Nothing known yet: answer the waiting calls with what a one-off lookup gives.
          try {
            this.#update(await this.#registry.instances(this.service, { signal }));
          } catch { /* try the watch again */ }
        }
      }
      await sleep(this.#retryDelayMs, signal);
    }
  }

  #update(instances: readonly ServiceInstance[]): void {
    this.#endpoints = instances.map((instance) => ({
      id: instance.id,
      url: `${instance.metadata.scheme ?? "http"}://${
        hostForUrl(instance.address)
      }:${instance.port}`,
      instance,
    }));
    if (!this.#loaded) {
      this.#loaded = true;
      this.#resolveFirst();
    }
  }
}

function hostForUrl(address: string): string {
  return address.includes(":") && !address.startsWith("[") ? `[${address}]` : address;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
