/**
 * The seam tracing and metrics plug into: the pipeline tells an observer
 * when a call starts, each attempt it makes, and how the call ended.
 *
 * @module
 */

import type { OutboundCall, TraceContext } from "@flotilla/core";
import type { PeerEndpoint } from "./endpoints.ts";

/** One attempt of a call. */
export interface AttemptInfo {
  /** The endpoint the attempt goes to. */
  readonly endpoint: PeerEndpoint;
  /** 1 for the first attempt, 2 for the first retry… */
  readonly attempt: number;
}

/** A call being observed. */
export interface CallObservation {
  /**
   * The call's trace as the observer decided it — a root call's sampling
   * decision, say; the pipeline sends this one. @default {the call's own}
   */
  readonly trace?: TraceContext;
  /** The call ended: `error` is undefined on success. */
  end(error: unknown): void;
}

/** Watches calls through the pipeline (an OpenTelemetry span per call, RED metrics…). */
export interface CallObserver {
  /** A call starts. */
  start(call: OutboundCall): CallObservation;
  /** An attempt of `call` is sent. */
  attempt?(call: OutboundCall, info: AttemptInfo): void;
}
