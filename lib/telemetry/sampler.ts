/**
 * Head sampling: decided once at the root of a trace from its trace id, and
 * honoured downstream from the parent's `sampled` flag.
 *
 * @module
 */

/** Decides whether a new span is recorded and exported. */
export interface Sampler {
  /** For logs, e.g. `ParentBased{root=TraceIdRatioBased{0.25}}`. */
  readonly description: string;
  /**
   * The decision for a span of `traceId`. `parentSampled` is the parent's
   * flag, or `undefined` for a root span (no parent).
   */
  shouldSample(traceId: string, parentSampled: boolean | undefined): boolean;
}

/** Samples every span. */
export const alwaysOn: Sampler = {
  description: "AlwaysOnSampler",
  shouldSample: () => true,
};

/** Samples no span. */
export const alwaysOff: Sampler = {
  description: "AlwaysOffSampler",
  shouldSample: () => false,
};

const TWO_POW_52 = 2 ** 52;

/**
 * Samples a share `ratio` of traces, decided from the trace id alone, so every
 * service with the same ratio agrees on the same trace. Uses the rightmost 56
 * bits of the id as the randomness `R` and samples when `R >= (1 - ratio) ×
 * 2^56`, as OpenTelemetry's consistent probability sampling does (W3C Trace
 * Context level 2 makes those bits random); the comparison uses the top 52
 * of those bits, exact in a float64, so it is precise to 2^-52.
 *
 * @example
 * ```ts
 * import { traceIdRatio } from "@flotilla/telemetry";
 *
 * const sampler = traceIdRatio(0.25);
 * sampler.shouldSample("4bf92f3577b34da6a3ce929d0e0e4736", undefined); // same answer everywhere
 * ```
 *
 * @throws {RangeError} when `ratio` is not within [0, 1].
 */
export function traceIdRatio(ratio: number): Sampler {
  if (!(ratio >= 0 && ratio <= 1)) {
    throw new RangeError(
      `Cannot create the sampler as 'ratio' must be within [0, 1]: current value is ${ratio}`,
    );
  }
  // The top 52 of the 56 bits, so the comparison is exact in a float64.
  const threshold = Math.ceil((1 - ratio) * TWO_POW_52);
  return {
    description: `TraceIdRatioBased{${ratio}}`,
    shouldSample(traceId) {
      if (ratio >= 1) return true;
      if (ratio <= 0) return false;
      return parseInt(traceId.slice(18, 31), 16) >= threshold;
    },
  };
}

/**
 * Honours the parent's decision; asks `root` only for a span without a
 * parent. The default of OpenTelemetry and of this library.
 *
 * @example
 * ```ts
 * import { parentBased, traceIdRatio } from "@flotilla/telemetry";
 *
 * const sampler = parentBased(traceIdRatio(0.1));
 * sampler.shouldSample("4bf92f3577b34da6a3ce929d0e0e4736", true); // true: the parent sampled it
 * ```
 */
export function parentBased(root: Sampler): Sampler {
  return {
    description: `ParentBased{root=${root.description}}`,
    shouldSample(traceId, parentSampled) {
      return parentSampled === undefined ? root.shouldSample(traceId, undefined) : parentSampled;
    },
  };
}

/**
 * The sampler of `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`:
 * `always_on`, `always_off`, `traceidratio`, `parentbased_always_on` (the
 * default), `parentbased_always_off`, `parentbased_traceidratio`. A missing
 * or invalid ratio means 1.0, as the OpenTelemetry specification says.
 *
 * @throws {RangeError} for another sampler name.
 */
export function samplerFromEnv(name: string | undefined, arg: string | undefined): Sampler {
  const parsed = arg === undefined || arg.trim() === "" ? NaN : Number(arg);
  const ratio = parsed >= 0 && parsed <= 1 ? parsed : 1;
  switch ((name ?? "").trim().toLowerCase()) {
    case "always_on":
      return alwaysOn;
    case "always_off":
      return alwaysOff;
    case "traceidratio":
      return traceIdRatio(ratio);
    case "":
    case "parentbased_always_on":
      return parentBased(alwaysOn);
    case "parentbased_always_off":
      return parentBased(alwaysOff);
    case "parentbased_traceidratio":
      return parentBased(traceIdRatio(ratio));
    default:
      throw new RangeError(
        `Cannot create the sampler as OTEL_TRACES_SAMPLER must be always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio: current value is "${name}"`,
      );
  }
}
