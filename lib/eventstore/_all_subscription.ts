/**
 * The subscription to all that every adapter of this folder runs: read a
 * batch after the position, hand it to the handler, save the checkpoint,
 * repeat; when caught up, wait to be woken (an append of this process, a
 * `NOTIFY`) or for the poll interval. Private to the package.
 *
 * @module
 */

import { FlotillaError } from "@flotilla/core";
import type {
  AllHandler,
  AllSubscription,
  ReadAllOptions,
  RecordedEvent,
  SubscribeToAllOptions,
} from "./event_store.ts";
import { EventStoreError } from "./errors.ts";
import { checkName, checkPosition, checkPositive, invalid } from "./_append.ts";

/** What the loop needs of its store. */
export interface AllSubscriptionSource {
  /** The store's `readAll`. */
  readAll(options: ReadAllOptions): Promise<RecordedEvent[]>;
  /** The store's `loadCheckpoint`. */
  loadCheckpoint(name: string): Promise<string | undefined>;
  /** The store's `saveCheckpoint`. */
  saveCheckpoint(name: string, position: string | undefined): Promise<void>;
}

/** How the loop waits. */
export interface AllSubscriptionSettings {
  /** How long an idle subscription waits before reading again; `Infinity`: until woken. */
  readonly pollIntervalMs: number;
  /** Called once the loop has stopped (to forget the subscription). */
  readonly onClose?: (subscription: AllSubscriptionLoop) => void;
}

/**
 * Checks the options, loads the checkpoint and starts the loop.
 *
 * @throws {RangeError} for an invalid option.
 */
export async function startAllSubscription(
  source: AllSubscriptionSource,
  handler: AllHandler,
  options: SubscribeToAllOptions,
  settings: AllSubscriptionSettings,
): Promise<AllSubscriptionLoop> {
  const action = "subscribe to all";
  if (typeof handler !== "function") throw invalid(action, "handler", "a function", handler);
  if (options.checkpoint !== undefined) checkName(options.checkpoint, action, "checkpoint");
  const after = checkPosition(options.after, action, "after");
  const batchSize = checkPositive(options.batchSize, 500, action, "batchSize");
  options.signal?.throwIfAborted();
  const start = options.checkpoint === undefined
    ? after
    : (await source.loadCheckpoint(options.checkpoint)) ?? after;
  options.signal?.throwIfAborted();
  return new AllSubscriptionLoop(source, handler, {
    start,
    batchSize,
    checkpoint: options.checkpoint,
    signal: options.signal,
    settings,
  });
}

interface LoopOptions {
  readonly start: string | undefined;
  readonly batchSize: number;
  readonly checkpoint: string | undefined;
  readonly signal: AbortSignal | undefined;
  readonly settings: AllSubscriptionSettings;
}

/** A running subscription to all (see `EventStore.subscribeToAll`). */
export class AllSubscriptionLoop implements AllSubscription {
  readonly #source: AllSubscriptionSource;
  readonly #handler: AllHandler;
  readonly #options: LoopOptions;
  readonly #caughtUp = Promise.withResolvers<void>();
  readonly #closed = Promise.withResolvers<void>();
  #position: string | undefined;
  #isCaughtUp = false;
  #stopping = false;
  #nudged = false;
  #wake: (() => void) | undefined;
  #failures = 0;
  readonly #onAbort = () => this.stop();

  /** Starts the loop at once (use {@link startAllSubscription}). */
  constructor(source: AllSubscriptionSource, handler: AllHandler, options: LoopOptions) {
    this.#source = source;
    this.#handler = handler;
    this.#options = options;
    this.#position = options.start;
    // Nobody has to listen: the rejections are for those who do.
    this.#caughtUp.promise.catch(() => {});
    this.#closed.promise.catch(() => {});
    options.signal?.addEventListener("abort", this.#onAbort, { once: true });
    this.#run();
  }

  /** The position of the last event handled (or the one it started after). */
  get position(): string | undefined {
    return this.#position;
  }

  /** Resolves once the subscription has caught up with the store. */
  get caughtUp(): Promise<void> {
    return this.#caughtUp.promise;
  }

  /** Resolves once stopped; rejects with the handler's error. */
  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  /** Wakes an idle subscription to read again (new events were committed). */
  notify(): void {
    this.#nudged = true;
    this.#wake?.();
  }

  /** Asks the loop to stop after the batch in progress. */
  stop(): void {
    this.#stopping = true;
    this.#wake?.();
  }

  /** Stops after the batch in progress, and waits for it. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.stop();
    await this.#closed.promise.catch(() => {});
  }

  async #run(): Promise<void> {
    await null;
    let failure: { error: unknown } | undefined;
    try {
      failure = await this.#loop();
    } catch (error) {
      failure = { error };
    }
    this.#options.signal?.removeEventListener("abort", this.#onAbort);
    this.#options.settings.onClose?.(this);
    if (failure === undefined) {
      if (!this.#isCaughtUp) {
        this.#caughtUp.reject(
          new EventStoreError(
            "EVENTSTORE_CLOSED",
            "Cannot catch up as the subscription stopped before it did",
          ),
        );
      }
      this.#closed.resolve();
    } else {
      this.#caughtUp.reject(failure.error);
      this.#closed.reject(failure.error);
    }
  }

  async #loop(): Promise<{ error: unknown } | undefined> {
    const { batchSize, checkpoint } = this.#options;
    while (!this.#stopping) {
      this.#nudged = false;
      let events: RecordedEvent[];
      try {
        events = await this.#source.readAll({
          limit: batchSize,
          ...(this.#position === undefined ? {} : { after: this.#position }),
        });
        this.#failures = 0;
      } catch (error) {
        if (!(error instanceof FlotillaError && error.retryable) || this.#stopping) {
          return this.#stopping && isClosed(error) ? undefined : { error };
        }
        this.#failures++;
        await this.#wait(this.#retryDelay());
        continue;
      }
      if (events.length > 0) {
        try {
          await this.#handler(events);
        } catch (error) {
          return { error };
        }
        const last = events[events.length - 1]!.position;
        if (checkpoint !== undefined) await this.#source.saveCheckpoint(checkpoint, last);
        this.#position = last;
      }
      if (events.length < batchSize) {
        if (!this.#isCaughtUp) {
          this.#isCaughtUp = true;
          this.#caughtUp.resolve();
        }
        await this.#wait(this.#options.settings.pollIntervalMs);
      }
    }
    return undefined;
  }

  #retryDelay(): number {
    const poll = this.#options.settings.pollIntervalMs;
    const base = Number.isFinite(poll) ? Math.max(poll, 10) : 100;
    return Math.min(30_000, base * 2 ** Math.min(this.#failures - 1, 16));
  }

  #wait(ms: number): Promise<void> {
    if (this.#nudged || this.#stopping) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      this.#wake = () => {
        if (timer !== undefined) clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      if (Number.isFinite(ms)) timer = setTimeout(() => this.#wake?.(), ms);
    });
  }
}

function isClosed(error: unknown): boolean {
  return error instanceof EventStoreError && error.code === "EVENTSTORE_CLOSED";
}
