/**
 * An in-process registry for unit tests of code that discovers services.
 *
 * @module
 */

import { type Clock, systemClock } from "@flotilla/core";
import type {
  Registration,
  RegistrationHandle,
  Registry,
  RegistryCallOptions,
  ServiceInstance,
} from "./registry.ts";
import { anySignal, delay } from "./_shared_abort.ts";
import {
  checkRegistration,
  checkService,
  fingerprint,
  sortInstances,
} from "./_shared_instances.ts";

/** Options of {@link MemoryRegistry}. */
export interface MemoryRegistryOptions {
  /** The source of time that TTLs are measured on. @default {systemClock} */
  clock?: Clock;
  /**
   * While an instance whose renewals stopped (see
   * {@linkcode MemoryRegistry.prototype.simulateCrash}) waits for its TTL to
   * pass, how often a watch looks at the clock again, in milliseconds.
   * @default {20}
   */
  expiryCheckIntervalMs?: number;
}

interface Entry {
  readonly instance: ServiceInstance;
  readonly ttlMs: number;
  readonly token: symbol;
  /** `undefined` while a live handle renews the entry. */
  expiresAt: number | undefined;
}

/**
 * A {@link Registry} held in memory, for unit tests of balancers, clients and
 * services: no timers, no I/O. A registered instance stays listed while its
 * handle lives (renewal is implicit); {@linkcode MemoryRegistry.simulateCrash}
 * stops the renewals the way a killed process would, and the instance then
 * disappears once its TTL has passed on the injected clock. Watches are told
 * of changes in-process, at once.
 *
 * @example
 * ```ts
 * import { ManualClock } from "@flotilla/core";
 * import { MemoryRegistry } from "@flotilla/discovery";
 *
 * const clock = new ManualClock(0);
 * await using registry = new MemoryRegistry({ clock });
 * await registry.register({
 *   service: "payment", id: "payment-1", address: "127.0.0.1", port: 7001, metadata: {}, ttlMs: 5_000,
 * });
 * registry.simulateCrash("payment", "payment-1");
 * clock.advance(5_000);
 * await registry.instances("payment"); // []
 * ```
 */
export class MemoryRegistry implements Registry {
  /** Always `memory`. */
  readonly kind = "memory";
  #clock: Clock;
  #expiryCheckIntervalMs: number;
  #services = new Map<string, Map<string, Entry>>();
  #wakers = new Map<string, Set<() => void>>();
  #disposed = new AbortController();

  /** Creates an empty registry. */
  constructor(options: MemoryRegistryOptions = {}) {
    const interval = options.expiryCheckIntervalMs ?? 20;
    if (!(Number.isFinite(interval) && interval > 0)) {
      throw new RangeError(
        `Cannot create the memory registry as 'expiryCheckIntervalMs' must be a positive number: current value is ${interval}`,
      );
    }
    this.#clock = options.clock ?? systemClock;
    this.#expiryCheckIntervalMs = interval;
  }

  /**
   * Lists the instance until the handle is deregistered or disposed. A second
   * registration with the same service and id replaces the first (whose
   * handle then no longer affects the listing).
   */
  // deno-lint-ignore require-await
  async register(
    registration: Registration,
    options: RegistryCallOptions = {},
  ): Promise<RegistrationHandle> {
    options.signal?.throwIfAborted();
    this.#checkOpen("register an instance");
    const { instance, ttlMs } = checkRegistration(registration);
    const token = Symbol(instance.id);
    this.#entriesOf(instance.service, true).set(instance.id, {
      instance,
      ttlMs,
      token,
      expiresAt: undefined,
    });
    this.#notify(instance.service);
    let active = true;
    const deregister = () => {
      if (!active) return Promise.resolve();
      active = false;
      const entries = this.#entriesOf(instance.service, false);
      if (entries?.get(instance.id)?.token === token) {
        entries.delete(instance.id);
        this.#notify(instance.service);
      }
      return Promise.resolve();
    };
    return { instance, deregister, [Symbol.asyncDispose]: deregister };
  }

  /**
   * Stops renewing the instance `id` of `service`, as if the process that
   * registered it were killed: it stays listed until its TTL has passed on
   * the clock. Returns whether such a live instance was found.
   */
  simulateCrash(service: string, id: string): boolean {
    const entry = this.#entriesOf(service, false)?.get(id);
    if (entry === undefined || entry.expiresAt !== undefined) return false;
    entry.expiresAt = this.#clock.now() + entry.ttlMs;
    return true;
  }

  /** The live instances of `service`, sorted by id. */
  // deno-lint-ignore require-await
  async instances(
    service: string,
    options: RegistryCallOptions = {},
  ): Promise<ServiceInstance[]> {
    options.signal?.throwIfAborted();
    checkService(service);
    this.#checkOpen("list instances");
    return this.#live(service);
  }

  /**
   * Yields the live instances of `service` now, then each time they change:
   * at once on a registration or deregistration, and within
   * `expiryCheckIntervalMs` of the clock passing a crashed instance's TTL.
   * Ends when `signal` aborts or the registry is disposed.
   */
  async *watch(
    service: string,
    options: RegistryCallOptions = {},
  ): AsyncGenerator<ServiceInstance[], void, undefined> {
    checkService(service, "watch instances");
    const signal = anySignal(options.signal, this.#disposed.signal);
    let last: string | undefined;
    while (!signal.aborted) {
      const wake = new AbortController();
      const wakers = this.#wakersOf(service);
      const waker = () => wake.abort();
      wakers.add(waker);
      try {
        const instances = this.#live(service);
        const current = fingerprint(instances);
        if (current !== last) {
          last = current;
          yield instances;
        }
        const waiting = anySignal(signal, wake.signal);
        if (this.#hasPendingExpiry(service)) {
          await delay(this.#expiryCheckIntervalMs, waiting);
        } else {
          await delay(2 ** 31 - 1, waiting);
        }
      } finally {
        wakers.delete(waker);
        wake.abort();
      }
    }
  }

  /** Ends every watch. Registered instances are forgotten with the registry. */
  [Symbol.asyncDispose](): Promise<void> {
    this.#disposed.abort();
    return Promise.resolve();
  }

  #checkOpen(action: string): void {
    if (this.#disposed.signal.aborted) {
      throw new Error(`Cannot ${action} as the memory registry is disposed`);
    }
  }

  #entriesOf(service: string, create: true): Map<string, Entry>;
  #entriesOf(service: string, create: false): Map<string, Entry> | undefined;
  #entriesOf(service: string, create: boolean): Map<string, Entry> | undefined {
    let entries = this.#services.get(service);
    if (entries === undefined && create) {
      entries = new Map();
      this.#services.set(service, entries);
    }
    return entries;
  }

  #wakersOf(service: string): Set<() => void> {
    let wakers = this.#wakers.get(service);
    if (wakers === undefined) {
      wakers = new Set();
      this.#wakers.set(service, wakers);
    }
    return wakers;
  }

  #notify(service: string): void {
    for (const waker of [...this.#wakers.get(service) ?? []]) waker();
  }

  #live(service: string): ServiceInstance[] {
    const entries = this.#entriesOf(service, false);
    if (entries === undefined) return [];
    const now = this.#clock.now();
    const live: ServiceInstance[] = [];
    for (const [id, entry] of entries) {
      if (entry.expiresAt === undefined || entry.expiresAt > now) live.push(entry.instance);
      else entries.delete(id);
    }
    return sortInstances(live);
  }

  #hasPendingExpiry(service: string): boolean {
    for (const entry of this.#entriesOf(service, false)?.values() ?? []) {
      if (entry.expiresAt !== undefined) return true;
    }
    return false;
  }
}
