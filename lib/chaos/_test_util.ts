/**
 * Test helpers of the package.
 *
 * @module
 */

import type { Timers } from "@flotilla/resilience";
import { type ChaosConfig, parseChaosConfig } from "./rules.ts";

/** Timers that record each requested delay and fire on the next turn, without waiting. */
export class InstantTimers implements Timers {
  /** Every delay asked for, in order. */
  readonly delays: number[] = [];

  setTimeout(callback: () => void, ms: number): number {
    this.delays.push(ms);
    return setTimeout(callback, 0) as unknown as number;
  }

  clearTimeout(id: number): void {
    clearTimeout(id);
  }
}

/** Parses a chaos block, enabled unless it says otherwise. */
export function chaos(value: Record<string, unknown>): Promise<ChaosConfig> {
  return parseChaosConfig({ enabled: true, ...value });
}
