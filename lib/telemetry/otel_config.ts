/**
 * The standard `OTEL_*` environment variables, read into one configuration.
 *
 * @module
 */

import type { OtlpCompression, OtlpProtocol } from "./otlp_http_exporter.ts";
import { type Sampler, samplerFromEnv } from "./sampler.ts";
import type { Attributes } from "./span.ts";

/** Every variable {@link readOtelConfig} reads: grant them to a service with `--allow-env`. */
export const OTEL_ENV_VARS: readonly string[] = [
  "OTEL_SDK_DISABLED",
  "OTEL_SERVICE_NAME",
  "OTEL_RESOURCE_ATTRIBUTES",
  "OTEL_TRACES_EXPORTER",
  "OTEL_TRACES_SAMPLER",
  "OTEL_TRACES_SAMPLER_ARG",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
  "OTEL_EXPORTER_OTLP_PROTOCOL",
  "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
  "OTEL_EXPORTER_OTLP_HEADERS",
  "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
  "OTEL_EXPORTER_OTLP_TIMEOUT",
  "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
  "OTEL_EXPORTER_OTLP_COMPRESSION",
  "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
  "OTEL_BSP_SCHEDULE_DELAY",
  "OTEL_BSP_EXPORT_TIMEOUT",
  "OTEL_BSP_MAX_QUEUE_SIZE",
  "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
];

/** The tracing configuration the environment asks for. */
export interface OtelConfig {
  /** `OTEL_SDK_DISABLED=true`, or `OTEL_TRACES_EXPORTER=none`: no span is exported. */
  readonly disabled: boolean;
  /** The traces URL (OTLP/HTTP), or the collector's address (OTLP/gRPC). */
  readonly url: string;
  /** The OTLP transport and encoding: OTLP/gRPC, or OTLP/HTTP with protobuf or JSON. */
  readonly protocol: OtlpProtocol | "grpc";
  /** Extra export headers. */
  readonly headers: Readonly<Record<string, string>>;
  /** How long one export may take, retries included, ms. */
  readonly timeoutMs: number;
  /** Body compression of the export requests. */
  readonly compression: OtlpCompression;
  /** Resource attributes, `service.name` included. */
  readonly resource: Readonly<Attributes>;
  /** The sampler. */
  readonly sampler: Sampler;
  /** Batch processor settings (`OTEL_BSP_*`). */
  readonly batch: {
    readonly maxQueueSize: number;
    readonly maxExportBatchSize: number;
    readonly scheduledDelayMs: number;
    readonly exportTimeoutMs: number;
  };
}

/** Reads one variable; `undefined` when unset. */
export type EnvReader = (name: string) => string | undefined;

/**
 * Reads a variable of the process environment, or `undefined` when it is
 * unset or this process may not read it (a service is granted only the
 * variables its contract lists).
 */
export const denoEnv: EnvReader = (name: string): string | undefined => {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
};

/**
 * Reads the standard OpenTelemetry variables (see {@link OTEL_ENV_VARS}),
 * following the specification's defaults: endpoint
 * `http://localhost:4318`, protocol `http/protobuf`, no compression, sampler
 * `parentbased_always_on`, batch 512 of a 2048 queue every 5 s.
 * `service.name` is `OTEL_SERVICE_NAME`, else the one in
 * `OTEL_RESOURCE_ATTRIBUTES`, else `defaultServiceName`.
 *
 * @example
 * ```ts
 * import { readOtelConfig } from "@flotilla/telemetry";
 *
 * const env: Record<string, string> = {
 *   OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
 *   OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
 *   OTEL_TRACES_SAMPLER_ARG: "0.1",
 * };
 * const config = readOtelConfig((name) => env[name], "order");
 * config.url; // "http://collector:4318/v1/traces"
 * ```
 *
 * @throws {RangeError} for a protocol other than `http/protobuf` or
 * `http/json` (`grpc` is not supported), an exporter other than `otlp` or
 * `none`, an unknown sampler, or a malformed number.
 */
export function readOtelConfig(
  env: EnvReader = denoEnv,
  defaultServiceName = "unknown_service",
): OtelConfig {
  const get = (name: string) => {
    const value = env(name)?.trim();
    return value === "" ? undefined : value;
  };
  const exporter = (get("OTEL_TRACES_EXPORTER") ?? "otlp").toLowerCase();
  if (exporter !== "otlp" && exporter !== "none") {
    throw new RangeError(
      `Cannot configure tracing as OTEL_TRACES_EXPORTER must be "otlp" or "none": current value is "${exporter}"`,
    );
  }
  const protocol = get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") ??
    get("OTEL_EXPORTER_OTLP_PROTOCOL") ??
    "http/protobuf";
  if (protocol !== "http/protobuf" && protocol !== "http/json" && protocol !== "grpc") {
    throw new RangeError(
      `Cannot configure tracing as OTEL_EXPORTER_OTLP_PROTOCOL must be "grpc", "http/protobuf" or "http/json": current value is "${protocol}"`,
    );
  }
  const compression = (get("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION") ??
    get("OTEL_EXPORTER_OTLP_COMPRESSION") ?? "none").toLowerCase();
  if (compression !== "gzip" && compression !== "none") {
    throw new RangeError(
      `Cannot configure tracing as OTEL_EXPORTER_OTLP_COMPRESSION must be "gzip" or "none": current value is "${compression}"`,
    );
  }
  const tracesEndpoint = get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  const grpc = protocol === "grpc";
  const base = get("OTEL_EXPORTER_OTLP_ENDPOINT") ??
    (grpc ? "http://localhost:4317" : "http://localhost:4318");
  // OTLP/gRPC names a service, not a path: its endpoint is the collector's address as it is.
  const url = tracesEndpoint ??
    (grpc ? base : `${base.endsWith("/") ? base : base + "/"}v1/traces`);
  const resource: Record<string, string> = parseKeyValues(get("OTEL_RESOURCE_ATTRIBUTES"));
  resource["service.name"] = get("OTEL_SERVICE_NAME") ?? resource["service.name"] ??
    defaultServiceName;
  return {
    disabled: (get("OTEL_SDK_DISABLED") ?? "").toLowerCase() === "true" || exporter === "none",
    url,
    protocol,
    headers: {
      ...parseKeyValues(get("OTEL_EXPORTER_OTLP_HEADERS")),
      ...parseKeyValues(get("OTEL_EXPORTER_OTLP_TRACES_HEADERS")),
    },
    timeoutMs: integer(
      "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
      get("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") ??
        get("OTEL_EXPORTER_OTLP_TIMEOUT"),
      10_000,
    ),
    compression,
    resource,
    sampler: samplerFromEnv(get("OTEL_TRACES_SAMPLER"), get("OTEL_TRACES_SAMPLER_ARG")),
    batch: {
      maxQueueSize: integer("OTEL_BSP_MAX_QUEUE_SIZE", get("OTEL_BSP_MAX_QUEUE_SIZE"), 2048),
      maxExportBatchSize: integer(
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
        get("OTEL_BSP_MAX_EXPORT_BATCH_SIZE"),
        512,
      ),
      scheduledDelayMs: integer("OTEL_BSP_SCHEDULE_DELAY", get("OTEL_BSP_SCHEDULE_DELAY"), 5000),
      exportTimeoutMs: integer("OTEL_BSP_EXPORT_TIMEOUT", get("OTEL_BSP_EXPORT_TIMEOUT"), 30_000),
    },
  };
}

/** `k1=v1,k2=v2` with percent-encoded values (W3C Baggage syntax), as OTel uses. */
function parseKeyValues(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const pair of text.split(",")) {
    const eq = pair.indexOf("=");
    if (eq <= 0) continue;
    const key = pair.slice(0, eq).trim();
    let value = pair.slice(eq + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch {
      // Keep it as written.
    }
    if (key) out[key] = value;
  }
  return out;
}

function integer(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(
      `Cannot configure tracing as ${name} must be an integer >= 0: current value is "${raw}"`,
    );
  }
  return value;
}
