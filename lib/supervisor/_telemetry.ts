// Internal helper; not exported by mod.ts.

import { OTEL_ENV_VARS, readOtelConfig } from "@flotilla/telemetry";
import { InvalidSettingError } from "./errors.ts";
import type { Address, TelemetryAccess } from "./permissions.ts";

/**
 * What every service needs for its telemetry, from the supervisor's `OTEL_*`
 * variables (which the services inherit): the variables themselves, and the
 * address of the OTLP collector their spans go to, when
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` names
 * one and export is on (not `OTEL_SDK_DISABLED=true` nor
 * `OTEL_TRACES_EXPORTER=none`). The specification's default,
 * `localhost:4318`, is not granted: name the collector to export to it.
 *
 * @throws {InvalidSettingError} when an `OTEL_*` variable is invalid, so the
 * supervisor refuses to start rather than every service crashing.
 */
export function telemetryAccess(
  env: Readonly<Record<string, string | undefined>>,
): TelemetryAccess {
  let url: URL | undefined;
  let grpc = false;
  try {
    const config = readOtelConfig((name) => env[name]);
    // As the services read it: a collector named by an endpoint, or the default one asked for by
    // an explicit OTEL_TRACES_EXPORTER (otherwise they export nothing).
    const named = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT ||
      env.OTEL_TRACES_EXPORTER;
    if (!config.disabled && named) url = new URL(config.url);
    grpc = config.protocol === "grpc";
  } catch (error) {
    throw new InvalidSettingError(
      "OTEL_EXPORTER_OTLP_ENDPOINT",
      `Cannot start the supervisor as the OTEL_* variables are invalid: ${
        error instanceof Error ? error.message : String(error)
      }`,
      { cause: error },
    );
  }
  const addresses: Address[] = [];
  if (url !== undefined) {
    addresses.push({
      hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port),
    });
  }
  // grpc-js, which the OTLP/gRPC exporter loads, reads GRPC_* variables.
  return { addresses, env: OTEL_ENV_VARS, ...(grpc && url ? { envPrefixes: ["GRPC_"] } : {}) };
}
