// Internal helper of bootService; not exported by mod.ts.

/**
 * The `OTEL_*` variables as telemetry reads them, with one difference from
 * the specification's defaults: without a collector named
 * (`OTEL_EXPORTER_OTLP_ENDPOINT`, `…_TRACES_ENDPOINT` or an explicit
 * `OTEL_TRACES_EXPORTER`) spans are not exported to `localhost:4318` — the
 * supervisor grants the network to a named collector only, and encoding
 * spans for nobody costs every call. Trace context still propagates and is
 * logged.
 */
export function otelEnv(
  source: { get(name: string): string | undefined },
): (name: string) => string | undefined {
  const read = (name: string) => {
    try {
      return source.get(name)?.trim() || undefined;
    } catch {
      return undefined; // A variable this process may not read is unset.
    }
  };
  const named = read("OTEL_EXPORTER_OTLP_ENDPOINT") ?? read("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") ??
    read("OTEL_TRACES_EXPORTER");
  return (name: string) =>
    name === "OTEL_TRACES_EXPORTER" && named === undefined ? "none" : read(name);
}
