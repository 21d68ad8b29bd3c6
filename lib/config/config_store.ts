/**
 * The live, validated configuration of one service.
 *
 * @module
 */

import {
  type Clock,
  describeIssues,
  type FieldIssue,
  type InferOutput,
  type Logger,
  type StandardSchema,
  systemClock,
  toFieldIssues,
  toPointer,
  validate,
} from "@flotilla/core";
import type { ConfigChange, ConfigSource } from "./config_source.ts";
import { envLayer, type EnvReader } from "./env_layer.ts";
import { ConfigError } from "./errors.ts";
import { redactConfig } from "./redact_config.ts";
import { parseJsonLayer } from "./_json.ts";
import {
  clonePlain,
  deepEqual,
  deepFreeze,
  deepMerge,
  type Frozen,
  isPlainObject,
} from "./_values.ts";

export type { Frozen } from "./_values.ts";

/**
 * One accepted version of the configuration. It is frozen, values and all,
 * and never changes: a reload makes a new snapshot.
 */
export interface ConfigSnapshot<T> {
  /** 1 for the configuration loaded at start, then +1 per accepted reload. */
  readonly version: number;
  /** The merged, validated values (the schema's output), deeply frozen. */
  readonly values: Frozen<T>;
  /** The layer whose change made this version: the dynamic source's name, a file, `defaults`, `apply`. */
  readonly source: string;
  /** The source's own version of its layer (etcd revision, file mtime), when it has one. */
  readonly revision: string | undefined;
  /** When this version was accepted, in epoch milliseconds of the store's clock. */
  readonly loadedAt: number;
}

/** The values of library-owned sections (see {@link ConfigStoreOptions.sections}), each optional. */
export type SectionValues<X extends Readonly<Record<string, StandardSchema>>> = {
  readonly [K in keyof X]?: InferOutput<X[K]>;
};

/** A failure the store recovered from: the configuration in force stayed. */
export interface ConfigProblem {
  /** What went wrong. */
  readonly error: ConfigError;
  /** The layer it came from. */
  readonly source: string;
  /** When, in epoch milliseconds. */
  readonly at: number;
}

/** What the store reports to {@link ConfigStore.onEvent} listeners. */
export type ConfigEvent<T> =
  | {
    /** A new version is in force. */
    readonly type: "reloaded";
    /** The new version. */
    readonly snapshot: ConfigSnapshot<T>;
    /** The version it replaced. */
    readonly previous: ConfigSnapshot<T>;
  }
  | ({
    /** A new version was invalid or vetoed; the current one stays. */
    readonly type: "rejected";
  } & ConfigProblem)
  | ({
    /** The dynamic source could not be read; the current version stays. */
    readonly type: "source_error";
  } & ConfigProblem);

/** The result of {@link ConfigStore.apply}. */
export type ReloadOutcome<T> =
  | {
    /** The new version is in force. */
    readonly type: "accepted";
    /** The new version. */
    readonly snapshot: ConfigSnapshot<T>;
  }
  | {
    /** The merged values equal the current ones: no new version. */
    readonly type: "unchanged";
    /** The version in force. */
    readonly snapshot: ConfigSnapshot<T>;
  }
  | {
    /** Refused: invalid or vetoed. */
    readonly type: "rejected";
    /** Why. */
    readonly error: ConfigError;
  };

/** Counters of a store since it opened. */
export interface ConfigStats {
  /** Versions accepted after the first. */
  readonly accepted: number;
  /** Versions refused as invalid or vetoed. */
  readonly rejected: number;
  /** Failures to read the dynamic source. */
  readonly sourceErrors: number;
}

/**
 * What an `onReload` hook answers: `false` or a string (the reason) vetoes
 * the new version; `true` or nothing accepts it. Throwing vetoes too.
 */
export type ReloadVerdict = boolean | string | void;

/** Options of {@link ConfigStore.subscribe}. */
export interface ConfigSubscribeOptions<S, T> {
  /** Call the listener at once with the current slice. @default {false} */
  immediate?: boolean;
  /** When two slices are the same. @default {structural equality} */
  equals?: (a: S, b: S) => boolean;
  /**
   * Asked before a version that changes this subscriber's slice is accepted;
   * may veto it (see {@link ReloadVerdict}). A veto rejects the whole version
   * for every subscriber.
   */
  onReload?: (
    next: S,
    current: S,
    candidate: ConfigSnapshot<T>,
  ) => ReloadVerdict | Promise<ReloadVerdict>;
  /** Ends the subscription. */
  signal?: AbortSignal;
}

/** A live subscription; dispose it (or call `unsubscribe`) to stop listening. */
export interface ConfigSubscription extends Disposable {
  /** Stops listening. Idempotent. */
  unsubscribe(): void;
}

/** Options of {@link ConfigStore.open}. */
export interface ConfigStoreOptions {
  /** The lowest layer: built-in values. */
  defaults?: unknown;
  /** A JSON file read once at open, above the defaults (a missing file is an error). */
  file?: string;
  /** Environment variables above the file, as config path → variable name (see {@link envLayer}). */
  env?: Readonly<Record<string, string>>;
  /** Where `env` variables are read. @default {Deno.env} */
  envReader?: EnvReader;
  /** The dynamic top layer, watched for changes. Disposed with the store. */
  source?: ConfigSource;
  /** Paths of secret values, hidden by {@link ConfigStore.describe} (see {@link redactConfig}). */
  secrets?: readonly string[];
  /**
   * Sections owned by libraries, each validated by its own Standard Schema
   * under its key (e.g. `{ chaos: chaosConfigSchema }`): the key is taken out
   * before the main schema validates the rest, so a library's section needs
   * no place in the application's schema. A section absent from every layer
   * stays `undefined`.
   */
  sections?: Readonly<Record<string, StandardSchema>>;
  /** The service's name, shown by {@link ConfigStore.describe}. */
  service?: string;
  /** Clock of `loadedAt` and problem times. @default {systemClock} */
  clock?: Clock;
  /** Where rejected versions and source failures are logged. */
  logger?: Logger;
}

/** The JSON of `GET /config`: the version in force, with secrets hidden. */
export interface ConfigDescription {
  /** The service, when the store knows it. */
  service?: string;
  /** The version in force. */
  version: number;
  /** Where it came from (URL passwords hidden). */
  source: string;
  /** The source's revision of it, or `null`. */
  revision: string | null;
  /** When it was accepted, RFC 3339. */
  loadedAt: string;
  /** The values, secrets replaced by `"***"`. */
  values: unknown;
  /** Counters since start. */
  stats: ConfigStats;
  /** The last refused version or source failure, or `null`. */
  lastError: {
    code: string;
    message: string;
    source: string;
    at: string;
    issues: Array<{ pointer: string; message: string }>;
  } | null;
}

interface Subscriber<T> {
  select: (values: Frozen<T>) => unknown;
  listener: (slice: unknown, snapshot: ConfigSnapshot<T>) => void;
  equals: (a: unknown, b: unknown) => boolean;
  onReload: ConfigSubscribeOptions<unknown, T>["onReload"];
  last: unknown;
  active: boolean;
}

/**
 * The configuration of one service: layers merged deeply — defaults < file <
 * environment < dynamic source — and validated by a Standard Schema (a zod 4
 * object, say). The dynamic source is watched: each new version is merged
 * and validated first, then offered to the subscribers' `onReload` hooks,
 * and only then published as a new frozen {@link ConfigSnapshot}. An invalid
 * or vetoed version is rejected — logged, counted, reported as an event and
 * kept as `lastError` — and the version in force stays. Reloads are applied
 * one at a time, in order, so a subscriber only ever sees complete, valid
 * snapshots.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { ConfigStore, MemoryConfigSource } from "@flotilla/config";
 *
 * const schema = z.object({ pool: z.object({ size: z.number().int().min(1) }) });
 * await using config = await ConfigStore.open(schema, {
 *   defaults: { pool: { size: 4 } },
 *   source: new MemoryConfigSource({ pool: { size: 8 } }),
 * });
 * config.current.values.pool.size; // 8
 * using _sub = config.subscribe((c) => c.pool.size, (size) => resize(size));
 * declare function resize(size: number): void;
 * ```
 */
export class ConfigStore<T> implements AsyncDisposable {
  readonly #schema: StandardSchema;
  readonly #options: ConfigStoreOptions;
  readonly #clock: Clock;
  readonly #subscribers = new Set<Subscriber<T>>();
  readonly #listeners = new Set<(event: ConfigEvent<T>) => void>();
  readonly #stop = new AbortController();
  #static: unknown = {};
  #dynamic: unknown = {};
  #current!: ConfigSnapshot<T>;
  #chain: Promise<unknown> = Promise.resolve();
  #loop: Promise<void> | undefined;
  #stats = { accepted: 0, rejected: 0, sourceErrors: 0 };
  #lastError: ConfigProblem | undefined;

  private constructor(schema: StandardSchema, options: ConfigStoreOptions) {
    this.#schema = schema;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Loads every layer, waits for the dynamic source's first answer, and
   * validates the merge; then follows the source.
   *
   * @throws {ConfigError} `INVALID_CONFIG` when the first merge breaks the
   * schema or a layer is not JSON; `CONFIG_SOURCE_UNAVAILABLE` when the file
   * or the source cannot be read at start.
   */
  static async open<
    S extends StandardSchema,
    X extends Readonly<Record<string, StandardSchema>> = Record<never, never>,
  >(
    schema: S,
    options: ConfigStoreOptions & { sections?: X } = {},
  ): Promise<ConfigStore<InferOutput<S> & SectionValues<X>>> {
    const store = new ConfigStore<InferOutput<S> & SectionValues<X>>(schema, options);
    try {
      await store.#start();
    } catch (error) {
      await store.#options.source?.[Symbol.asyncDispose]();
      throw error;
    }
    return store;
  }

  async #start(): Promise<void> {
    const options = this.#options;
    const fileLayer = options.file === undefined ? undefined : await readJsonFile(options.file);
    const env = options.env === undefined
      ? undefined
      : envLayer(options.env, options.envReader ?? Deno.env);
    this.#static = deepMerge({}, options.defaults, fileLayer, env);
    let sourceName = options.file === undefined ? "defaults" : `file:${options.file}`;
    let revision: string | undefined;
    let iterator: AsyncIterator<ConfigChange> | undefined;
    if (options.source) {
      sourceName = options.source.name;
      iterator = options.source.changes(this.#stop.signal)[Symbol.asyncIterator]();
      const first = await iterator.next();
      if (!first.done) {
        if (first.value.type === "error") throw first.value.error;
        this.#dynamic = first.value.values ?? {};
        revision = first.value.revision;
      }
    }
    const result = await this.#validate(deepMerge(this.#static, this.#dynamic), sourceName);
    if (result instanceof ConfigError) throw result;
    this.#current = Object.freeze({
      version: 1,
      values: result,
      source: sourceName,
      revision,
      loadedAt: this.#clock.now(),
    });
    if (iterator && options.source) this.#loop = this.#follow(iterator, options.source.name);
  }

  async #follow(
    iterator: AsyncIterator<ConfigChange>,
    source: string,
  ): Promise<void> {
    try {
      while (!this.#stop.signal.aborted) {
        const next = await iterator.next();
        if (next.done || this.#stop.signal.aborted) return;
        const change = next.value;
        if (change.type === "error") {
          if (change.error.code === "INVALID_CONFIG") {
            // What the source holds cannot be parsed: an invalid version, refused like one.
            await (this.#chain = this.#chain.then(() => this.#reject(change.error, source)));
            continue;
          }
          this.#stats.sourceErrors++;
          this.#report({
            type: "source_error",
            error: change.error,
            source,
            at: this.#clock.now(),
          });
          continue;
        }
        await this.apply(change.values, { source, revision: change.revision });
      }
    } catch (error) {
      if (this.#stop.signal.aborted) return;
      const problem = new ConfigError(
        "CONFIG_SOURCE_UNAVAILABLE",
        `The configuration source ${source} stopped: ${
          error instanceof Error ? error.message : String(error)
        }`,
        { cause: error, data: { source } },
      );
      this.#stats.sourceErrors++;
      this.#report({ type: "source_error", error: problem, source, at: this.#clock.now() });
    } finally {
      await iterator.return?.().catch(() => {});
    }
  }

  /** The version in force. */
  get current(): ConfigSnapshot<T> {
    return this.#current;
  }

  /** The last refused version or source failure, if any (kept after later successes). */
  get lastError(): ConfigProblem | undefined {
    return this.#lastError;
  }

  /** Counters since start. */
  get stats(): ConfigStats {
    return { ...this.#stats };
  }

  /**
   * Offers `values` as the new dynamic layer (what a source does on every
   * change; also for an admin endpoint or a test). It is merged over the
   * static layers, validated and offered to `onReload` hooks before it is
   * published; reloads run one at a time, in call order.
   */
  apply(
    values: unknown,
    options: { source?: string; revision?: string | undefined } = {},
  ): Promise<ReloadOutcome<T>> {
    const run = this.#chain.then(() =>
      this.#reload(values, options.source ?? "apply", options.revision)
    );
    this.#chain = run.catch(() => {});
    return run;
  }

  async #reload(
    layer: unknown,
    source: string,
    revision: string | undefined,
  ): Promise<ReloadOutcome<T>> {
    const values = await this.#validate(deepMerge(this.#static, layer), source);
    if (values instanceof ConfigError) return this.#reject(values, source);
    const current = this.#current;
    if (deepEqual(values, current.values)) {
      this.#dynamic = layer;
      return { type: "unchanged", snapshot: current };
    }
    const candidate: ConfigSnapshot<T> = Object.freeze({
      version: current.version + 1,
      values,
      source,
      revision,
      loadedAt: this.#clock.now(),
    });
    const slices = new Map<Subscriber<T>, unknown>();
    for (const subscriber of [...this.#subscribers]) {
      let next: unknown;
      try {
        next = subscriber.select(values);
      } catch (error) {
        return this.#reject(
          new ConfigError("CONFIG_VETOED", `A subscriber cannot read the new configuration`, {
            cause: error,
            data: { source },
          }),
          source,
        );
      }
      slices.set(subscriber, next);
      if (!subscriber.onReload || subscriber.equals(subscriber.last, next)) continue;
      let verdict: ReloadVerdict;
      try {
        verdict = await subscriber.onReload(next, subscriber.last, candidate);
      } catch (error) {
        return this.#reject(
          new ConfigError(
            "CONFIG_VETOED",
            `A subscriber vetoed the new configuration: ${
              error instanceof Error ? error.message : String(error)
            }`,
            { cause: error, data: { source } },
          ),
          source,
        );
      }
      if (verdict === false || typeof verdict === "string") {
        return this.#reject(
          new ConfigError(
            "CONFIG_VETOED",
            `A subscriber vetoed the new configuration${verdict ? `: ${verdict}` : ""}`,
            { data: { source } },
          ),
          source,
        );
      }
    }
    this.#dynamic = layer;
    this.#current = candidate;
    this.#stats.accepted++;
    this.#emit({ type: "reloaded", snapshot: candidate, previous: current });
    for (const subscriber of [...this.#subscribers]) {
      if (!subscriber.active) continue;
      let next: unknown;
      try {
        next = slices.has(subscriber) ? slices.get(subscriber) : subscriber.select(values);
      } catch (error) {
        this.#options.logger?.error("config subscriber failed to select", { error });
        continue;
      }
      if (subscriber.equals(subscriber.last, next)) continue;
      subscriber.last = next;
      try {
        subscriber.listener(next, candidate);
      } catch (error) {
        this.#options.logger?.error("config subscriber failed", { error });
      }
    }
    return { type: "accepted", snapshot: candidate };
  }

  async #validate(merged: unknown, source: string): Promise<Frozen<T> | ConfigError> {
    const sections = Object.entries(this.#options.sections ?? {});
    let main = merged;
    const inputs = new Map<string, unknown>();
    if (sections.length > 0 && isPlainObject(merged)) {
      const rest = { ...merged };
      for (const [key] of sections) {
        inputs.set(key, rest[key]);
        delete rest[key];
      }
      main = rest;
    }
    const issues: FieldIssue[] = [];
    let result = validate(this.#schema, main);
    if (result instanceof Promise) result = await result;
    if (result.issues) issues.push(...toFieldIssues(result.issues));
    const outputs: Record<string, unknown> = {};
    for (const [key, schema] of sections) {
      const input = inputs.get(key);
      if (input === undefined) continue;
      let checked = validate(schema, input);
      if (checked instanceof Promise) checked = await checked;
      if (checked.issues) {
        for (const issue of toFieldIssues(checked.issues)) {
          issues.push({ ...issue, pointer: toPointer([key]) + issue.pointer });
        }
      } else outputs[key] = checked.value;
    }
    if (issues.length > 0 || result.issues) {
      return new ConfigError(
        "INVALID_CONFIG",
        `The configuration from ${source} is invalid: ${describeIssues(issues)}`,
        { issues, data: { source } },
      );
    }
    const value = sections.length > 0 && isPlainObject(result.value)
      ? { ...result.value, ...outputs }
      : result.value;
    return deepFreeze(clonePlain(value)) as Frozen<T>;
  }

  #reject(error: ConfigError, source: string): ReloadOutcome<T> {
    this.#stats.rejected++;
    this.#report({ type: "rejected", error, source, at: this.#clock.now() });
    return { type: "rejected", error };
  }

  #report(event: ConfigEvent<T> & ConfigProblem): void {
    this.#lastError = { error: event.error, source: event.source, at: event.at };
    this.#options.logger?.warn(
      event.type === "rejected"
        ? "configuration update rejected; keeping the current version"
        : "configuration source failed; keeping the current version",
      {
        source: event.source,
        code: event.error.code,
        reason: event.error.message,
        version: this.#current?.version,
      },
    );
    this.#emit(event);
  }

  #emit(event: ConfigEvent<T>): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.#options.logger?.error("config event listener failed", { error });
      }
    }
  }

  /**
   * Calls `listener` after each accepted version whose `select`ed slice
   * differs (structurally, by default) from the last one it saw, with the
   * slice and the whole snapshot. Listeners run synchronously in
   * subscription order once the new version is in force; a throwing
   * listener is logged and does not stop the others.
   *
   * @example
   * ```ts
   * import { z } from "zod";
   * import { ConfigStore } from "@flotilla/config";
   *
   * const config = await ConfigStore.open(z.object({ pool: z.number() }), { defaults: { pool: 2 } });
   * config.subscribe((c) => c.pool, (pool) => resize(pool), {
   *   onReload: (next, current) => next >= current / 2 || "pool cannot halve at once",
   * });
   * declare function resize(size: number): void;
   * ```
   */
  subscribe<S>(
    select: (values: Frozen<T>) => S,
    listener: (slice: S, snapshot: ConfigSnapshot<T>) => void,
    options: ConfigSubscribeOptions<S, T> = {},
  ): ConfigSubscription {
    const subscriber: Subscriber<T> = {
      select,
      listener: listener as Subscriber<T>["listener"],
      equals: (options.equals ?? deepEqual) as Subscriber<T>["equals"],
      onReload: options.onReload as Subscriber<T>["onReload"],
      last: select(this.#current.values),
      active: true,
    };
    this.#subscribers.add(subscriber);
    const unsubscribe = () => {
      subscriber.active = false;
      this.#subscribers.delete(subscriber);
      options.signal?.removeEventListener("abort", unsubscribe);
    };
    if (options.signal?.aborted) unsubscribe();
    options.signal?.addEventListener("abort", unsubscribe, { once: true });
    if (options.immediate && subscriber.active) listener(subscriber.last as S, this.#current);
    return { unsubscribe, [Symbol.dispose]: unsubscribe };
  }

  /** Calls `listener` with every reload, rejection and source failure; returns a function that stops it. */
  onEvent(listener: (event: ConfigEvent<T>) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The JSON of `GET /config`: the version in force, its source, and its values with secrets hidden. */
  describe(): ConfigDescription {
    const current = this.#current;
    const problem = this.#lastError;
    const secrets = this.#options.secrets;
    return {
      ...(this.#options.service === undefined ? {} : { service: this.#options.service }),
      version: current.version,
      source: redactConfig(current.source) as string,
      revision: current.revision ?? null,
      loadedAt: new Date(current.loadedAt).toISOString(),
      values: redactConfig(current.values, secrets === undefined ? {} : { secrets }),
      stats: this.stats,
      lastError: problem === undefined ? null : {
        code: problem.error.code,
        message: problem.error.message,
        source: redactConfig(problem.source) as string,
        at: new Date(problem.at).toISOString(),
        issues: problem.error.issues.map((issue) => ({ ...issue })),
      },
    };
  }

  /** Stops following the source and disposes it; the last snapshot stays readable. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#stop.signal.aborted) return;
    this.#stop.abort();
    await this.#options.source?.[Symbol.asyncDispose]();
    await this.#loop;
    await this.#chain;
  }
}

async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new ConfigError(
      "CONFIG_SOURCE_UNAVAILABLE",
      `Cannot read the configuration file ${path}: ${
        error instanceof Error ? error.message : String(error)
      }`,
      { cause: error, data: { source: `file:${path}` } },
    );
  }
  return parseJsonLayer(text, `file:${path}`);
}
