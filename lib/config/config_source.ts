/**
 * The port of dynamic configuration sources: a watched file, etcd, memory.
 *
 * @module
 */

import type { ConfigError } from "./errors.ts";

/** What a source reports: its whole current layer, or a problem reading it. */
export type ConfigChange =
  | {
    /** The source's complete layer, as read now. */
    readonly type: "values";
    /** The layer: a plain object (keys are config paths). */
    readonly values: unknown;
    /** The source's own version of it (etcd revision, file mtime), for `GET /config`. */
    readonly revision?: string | undefined;
  }
  | {
    /** The source could not be read, or what it holds is not valid JSON. */
    readonly type: "error";
    /** `CONFIG_SOURCE_UNAVAILABLE` or `INVALID_CONFIG`. */
    readonly error: ConfigError;
  };

/**
 * A dynamic configuration source, the top layer of a {@link ConfigStore}.
 *
 * `changes()` yields the complete layer first, then again after each change
 * (never a diff, so a consumer can never apply half an update). A source
 * recovers from failures by itself (reconnects, re-reads) and reports them
 * as `error` changes in between.
 */
export interface ConfigSource extends AsyncDisposable {
  /** The adapter: `file`, `etcd`, `memory`. */
  readonly kind: string;
  /** Where it reads, shown as the snapshot's `source`: `file:/srv/order/config.json`, `etcd://…/prefix/`. */
  readonly name: string;
  /** The layer now, then after every change, until `signal` aborts or the source is disposed. */
  changes(signal?: AbortSignal): AsyncIterable<ConfigChange>;
}
