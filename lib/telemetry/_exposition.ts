// Internal helper; not exported by mod.ts. Prometheus text exposition format 0.0.4.

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Throws a RangeError unless `name` is a valid metric name. */
export function checkMetricName(action: string, name: string): void {
  if (!METRIC_NAME.test(name)) {
    throw new RangeError(
      `Cannot ${action} as the metric name must match ${METRIC_NAME.source}: current value is "${name}"`,
    );
  }
}

/** Throws a RangeError unless every label name is valid, distinct and not reserved. */
export function checkLabelNames(
  action: string,
  labelNames: readonly string[],
  reserved: readonly string[] = [],
): void {
  const seen = new Set<string>();
  for (const label of labelNames) {
    if (!LABEL_NAME.test(label) || label.startsWith("__") || reserved.includes(label)) {
      throw new RangeError(
        `Cannot ${action} as a label name must match ${LABEL_NAME.source}, not start with "__" and not be ${
          reserved.map((r) => `"${r}"`).join(" or ") || "reserved"
        }: current value is "${label}"`,
      );
    }
    if (seen.has(label)) {
      throw new RangeError(`Cannot ${action} as label "${label}" is listed twice`);
    }
    seen.add(label);
  }
}

/** Escapes a `# HELP` text: backslash and line feed. */
export function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => (c === "\\" ? "\\\\" : "\\n"));
}

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value)
    ? value.replace(/[\\"\n]/g, (c) => (c === "\\" ? "\\\\" : c === '"' ? '\\"' : "\\n"))
    : value;
}

/** Formats a sample value: Go float syntax, `+Inf`, `-Inf`, `NaN`. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** Renders `{a="x",b="y"}` (empty string for no labels). */
export function formatLabels(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return "";
  let out = "{";
  for (let i = 0; i < names.length; i++) {
    if (i > 0) out += ",";
    out += `${names[i]}="${escapeLabelValue(values[i]!)}"`;
  }
  return out + "}";
}
