/**
 * Typed, layered, hot-reloaded configuration for a service.
 *
 * Layers merge deeply — defaults < file < environment < dynamic source — and
 * the result is validated by a Standard Schema (zod 4, valibot, arktype).
 * The dynamic source is named by `FLOTILLA_CONFIG`: a watched JSON file
 * (`file`, the embedded default) or the keys under a prefix in etcd
 * (`etcd://host:port/prefix/`). A new version is validated, offered to the
 * subscribers' `onReload` hooks, and only then published as a frozen
 * snapshot; an invalid or vetoed one is rejected, logged and counted, and the
 * version in force stays. `configHandler` serves `GET /config` with secrets
 * hidden.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { ConfigStore, configHandler, openConfigSource } from "@flotilla/config";
 *
 * const schema = z.object({
 *   pool: z.object({ size: z.number().int().min(1) }),
 *   db: z.object({ url: z.string() }),
 * });
 * await using config = await ConfigStore.open(schema, {
 *   defaults: { pool: { size: 4 }, db: { url: "sqlite:order.db" } },
 *   env: { "db.url": "DATABASE_URL" },
 *   source: openConfigSource(Deno.env.get("FLOTILLA_CONFIG"), { service: "order" }),
 *   secrets: ["db.url"],
 * });
 * using _pool = config.subscribe((c) => c.pool.size, (size) => resize(size), {
 *   onReload: (next) => next <= 64 || "pool.size above 64",
 * });
 * const getConfig = configHandler(config); // GET /config
 * declare function resize(size: number): void;
 * ```
 *
 * @module
 */

export { ConfigError, type ConfigErrorCode, type ConfigErrorOptions } from "./errors.ts";
export type { ConfigChange, ConfigSource } from "./config_source.ts";
export {
  type ConfigDescription,
  type ConfigEvent,
  type ConfigProblem,
  type ConfigSnapshot,
  type ConfigStats,
  ConfigStore,
  type ConfigStoreOptions,
  type ConfigSubscribeOptions,
  type ConfigSubscription,
  type Frozen,
  type ReloadOutcome,
  type ReloadVerdict,
  type SectionValues,
} from "./config_store.ts";
export { MemoryConfigSource } from "./memory_config_source.ts";
export { FileConfigSource, type FileConfigSourceOptions } from "./file_config_source.ts";
export { EtcdConfigSource, type EtcdConfigSourceOptions } from "./etcd_config_source.ts";
export { type ConfigUrl, parseConfigUrl } from "./parse_config_url.ts";
export { openConfigSource, type OpenConfigSourceOptions } from "./open_config_source.ts";
export { envLayer, type EnvReader } from "./env_layer.ts";
export { redactConfig, REDACTED, type RedactOptions, SECRET_KEY_PATTERN } from "./redact_config.ts";
export { configHandler, type DescribesConfig } from "./config_handler.ts";
/** Re-exported from `@flotilla/core`: the clock, the logger, and the base error. */
export type {
  Clock,
  ErrorKind,
  FieldIssue,
  FlotillaError,
  FlotillaErrorOptions,
  InferOutput,
  Logger,
  LoggerOptions,
  LogLevel,
  LogRecord,
  LogSink,
  SchemaIssue,
  SchemaResult,
  StandardSchema,
  StandardSchemaProps,
} from "@flotilla/core";
