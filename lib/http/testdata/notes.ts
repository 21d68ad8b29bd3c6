/**
 * A small service used by the HTTP transport's tests: a notes store with a
 * counter that proves bad requests change nothing.
 *
 * @module
 */

import { z } from "zod";
import { defineContract, defineService, NotFoundError, type Service } from "@flotilla/core";

/** The notes contract. */
export const notesContract = defineContract({
  name: "notes",
  version: "1.0.0",
  actions: {
    addNote: {
      input: z.strictObject({
        text: z.string().min(1).max(2_000_000),
        tags: z.array(z.string()).optional(),
      }),
      output: z.object({ id: z.number(), text: z.string() }),
      http: { method: "POST", path: "/notes", status: 201 },
    },
    getNote: {
      input: z.strictObject({ id: z.coerce.number().int() }),
      output: z.object({ id: z.number(), text: z.string() }),
      idempotent: true,
      http: { method: "GET", path: "/notes/:id" },
    },
    listNotes: {
      input: z.strictObject({ prefix: z.string().optional() }),
      output: z.array(z.object({ id: z.number(), text: z.string() })),
      http: { method: "GET", path: "/notes" },
    },
    whoami: {
      input: z.object({}),
      output: z.object({
        caller: z.string(),
        key: z.string().optional(),
        traceId: z.string(),
        remaining: z.number(),
      }),
    },
    slow: {
      input: z.object({ release: z.string().optional() }),
      output: z.object({ finished: z.boolean() }),
    },
  },
});

/** A notes service plus hooks a test can hold a slow call with. */
export function createNotesService(): {
  service: Service<typeof notesContract>;
  notes: Map<number, string>;
  slowStarted: Promise<void>;
  releaseSlow: () => void;
} {
  const notes = new Map<number, string>();
  let markStarted!: () => void;
  const slowStarted = new Promise<void>((resolve) => markStarted = resolve);
  let releaseSlow!: () => void;
  const released = new Promise<void>((resolve) => releaseSlow = resolve);
  const service = defineService(notesContract, {
    addNote: ({ text }) => {
      const id = notes.size + 1;
      notes.set(id, text);
      return { id, text };
    },
    getNote: ({ id }) => {
      const text = notes.get(id);
      if (text === undefined) throw new NotFoundError("NOTE_NOT_FOUND", `No note ${id}`);
      return { id, text };
    },
    listNotes: ({ prefix }) =>
      [...notes].filter(([, text]) => text.startsWith(prefix ?? "")).map(([id, text]) => ({
        id,
        text,
      })),
    whoami: (_input, ctx) => ({
      caller: ctx.caller.service ?? ctx.caller.kind,
      ...(ctx.idempotencyKey ? { key: ctx.idempotencyKey } : {}),
      traceId: ctx.trace.traceId,
      remaining: ctx.remaining(),
    }),
    slow: async (_input, ctx) => {
      markStarted();
      await Promise.race([
        released,
        new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true })),
      ]);
      return { finished: !ctx.signal.aborted };
    },
  });
  return { service, notes, slowStarted, releaseSlow };
}
