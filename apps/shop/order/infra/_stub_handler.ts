/**
 * Test support: a {@link CallHandler} that answers from a table and records
 * every call. Private to `infra/`.
 *
 * @module
 */

import type { CallHandler, OutboundCall } from "@flotilla/core";

/** A call handler whose answers are set per action, and which keeps each call. */
export interface StubHandler extends CallHandler {
  /** Every call, in order. */
  readonly calls: OutboundCall[];
}

/** Answers each action with `answers[action](input)`; a throw is the call's error. */
export function stubHandler(
  answers: Record<string, (input: unknown) => unknown>,
): StubHandler {
  const calls: OutboundCall[] = [];
  const handler: CallHandler = (call) => {
    calls.push(call);
    const answer = answers[call.action];
    if (!answer) return Promise.reject(new Error(`no stub for ${call.action}`));
    try {
      return Promise.resolve(answer(call.input));
    } catch (error) {
      return Promise.reject(error);
    }
  };
  return Object.assign(handler, { calls });
}
