/**
 * Running a handler and turning what it did into an outcome the adapters
 * store: acknowledged, failed (redeliver after backoff) or poison
 * (dead-letter at once). Private to the package (the Redis and NATS
 * adapters may use it too, so that reasons read alike everywhere).
 *
 * @module
 */

import type { Delivery, DeliveryHandler } from "./bus.ts";

/** What became of one delivery. */
export type Outcome =
  | { readonly type: "ack" }
  | { readonly type: "fail"; readonly reason: string; readonly poison: boolean };

const ACK: Outcome = { type: "ack" };

/**
 * Runs `handler` on `delivery`; never throws. A synchronous throw, a
 * rejection and a thrown non-error all count as a failure.
 */
export async function runHandler(
  handler: DeliveryHandler,
  delivery: Delivery,
): Promise<Outcome> {
  try {
    await handler(delivery);
    return ACK;
  } catch (error) {
    return { type: "fail", reason: deadLetterReason(error), poison: isPoison(error) };
  }
}

/**
 * Whether `error` is a `PoisonMessageError` (recognised by its code, so that
 * a second copy of the module still counts).
 */
export function isPoison(error: unknown): boolean {
  return typeof error === "object" && error !== null &&
    (error as { code?: unknown }).code === "POISON_MESSAGE";
}

/**
 * The reason a dead letter keeps for `error`: a poison message's message as
 * is; otherwise the message, prefixed by the code when the error has one
 * (`"OUT_OF_STOCK: not enough TEA-01"`).
 */
export function deadLetterReason(error: unknown): string {
  if (error instanceof Error) {
    const message = error.message || error.name || "Error";
    if (isPoison(error)) return message;
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" && code !== "" ? `${code}: ${message}` : message;
  }
  try {
    return typeof error === "string" ? error : `Thrown: ${JSON.stringify(error) ?? String(error)}`;
  } catch {
    return `Thrown: ${String(error)}`;
  }
}

/** The reason kept when a delivery ran out of ack wait once too often. */
export function ackWaitReason(ackWaitMs: number, attempts: number): string {
  return `Not acknowledged within the ack wait of ${ackWaitMs} ms (${attempts} deliveries)`;
}
