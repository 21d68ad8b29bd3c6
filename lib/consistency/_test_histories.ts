/**
 * Generators of queue histories for the property tests of the checkers.
 *
 * @module
 */

import fc from "fast-check";
import { History, type Operation } from "./history.ts";

/** How one enqueue ended: `none` is an invocation never completed (a crash). */
export type EnqueueOutcome = "ok" | "fail" | "info" | "none";

/** One value's fate in a generated history. */
export interface ValuePlan {
  /** The value enqueued. */
  readonly value: number;
  /** How its enqueue ended. */
  readonly outcome: EnqueueOutcome;
  /** How many times it is dequeued. */
  readonly deliveries: number;
}

/** A generated history's plan: the fates of its values and how they interleave. */
export interface QueuePlan {
  /** One entry per value. */
  readonly values: readonly ValuePlan[];
  /** Seed of the interleaving of processes. */
  readonly seed: number;
  /** Whether consumers drain in batches rather than dequeue one by one. */
  readonly drain: boolean;
}

/** Plans of valid queue histories (at-least-once: duplicates allowed). */
export function queuePlan(): fc.Arbitrary<QueuePlan> {
  const value = fc.oneof(
    fc.record({
      outcome: fc.constant<EnqueueOutcome>("ok"),
      deliveries: fc.integer({ min: 1, max: 3 }),
    }),
    fc.record({ outcome: fc.constant<EnqueueOutcome>("fail"), deliveries: fc.constant(0) }),
    fc.record({
      outcome: fc.constantFrom<EnqueueOutcome>("info", "none"),
      deliveries: fc.integer({ min: 0, max: 2 }),
    }),
  );
  return fc.record({
    values: fc.array(value, { maxLength: 40 }).map((fates) =>
      fates.map((fate, i) => ({ value: i, ...fate }))
    ),
    seed: fc.integer(),
    drain: fc.boolean(),
  });
}

/** Builds the history a plan describes, processes interleaved at random. */
export function buildHistory(plan: QueuePlan): History<number> {
  const tracks: Operation<number>[][] = [];
  for (const { value, outcome } of plan.values) {
    const process = `producer-${value}`;
    const track: Operation<number>[] = [{ process, type: "invoke", f: "enqueue", value, time: 0 }];
    if (outcome !== "none") track.push({ process, type: outcome, f: "enqueue", value, time: 0 });
    tracks.push(track);
  }
  const copies: number[] = [];
  for (const { value, deliveries } of plan.values) {
    for (let i = 0; i < deliveries; i++) copies.push(value);
  }
  const random = mulberry32(plan.seed);
  shuffle(copies, random);
  const consumers = 3;
  for (let c = 0; c < consumers; c++) {
    const mine = copies.filter((_, i) => i % consumers === c);
    const process = `consumer-${c}`;
    const track: Operation<number>[] = [];
    if (plan.drain) {
      track.push({ process, type: "invoke", f: "drain", time: 0 });
      track.push({ process, type: "ok", f: "drain", value: mine, time: 0 });
    } else {
      for (const value of mine) {
        track.push({ process, type: "invoke", f: "dequeue", time: 0 });
        track.push({ process, type: "ok", f: "dequeue", value, time: 0 });
      }
      track.push({ process, type: "invoke", f: "dequeue", time: 0 });
      track.push({ process, type: "fail", f: "dequeue", time: 0, error: "empty" });
    }
    tracks.push(track);
  }
  const history = new History<number>();
  const cursors = tracks.map(() => 0);
  let time = 0;
  for (;;) {
    const live = tracks.map((_, i) => i).filter((i) => cursors[i]! < tracks[i]!.length);
    if (live.length === 0) break;
    const pick = live[Math.floor(random() * live.length)]!;
    const operation = tracks[pick]![cursors[pick]!++]!;
    history.append({ ...operation, time: time++ });
  }
  return history;
}

/** A small seeded PRNG in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}
