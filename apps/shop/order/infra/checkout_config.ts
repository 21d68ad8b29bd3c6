/**
 * How the order service's checkout runs, from its environment:
 * `FLOTILLA_CHECKOUT=saga|tcc`, its sagas persisted beside its events (the
 * service database, or PostgreSQL with `FLOTILLA_EVENTSTORE=postgres://…`),
 * and the `FLOTILLA_CRASH_AT` points of the crash suite.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { ServiceNode } from "@flotilla/runtime";
import { openSagaStore, type SagaStore, SqliteSagaStore } from "@flotilla/tx";
import { inventoryContract, paymentContract } from "../../contracts/mod.ts";
import type { CheckoutProtocol, OrderSagaDeps } from "../app/order_saga.ts";
import { peerParticipants } from "./peer_participants.ts";

/** The checkout options of the order service, and what to close on stop. */
export interface CheckoutConfig {
  /** For `createOrderService({ checkout })`. */
  readonly options: Omit<OrderSagaDeps, "store" | "inventory" | "payments" | "clock" | "logger"> & {
    sagas: SagaStore;
  };
}

/** Reads `FLOTILLA_CHECKOUT`: `saga` (the default) or `tcc`. */
export function parseCheckoutProtocol(value: string | undefined): CheckoutProtocol {
  const protocol = (value ?? "").trim().toLowerCase() || "saga";
  if (protocol !== "saga" && protocol !== "tcc") {
    throw new RangeError(
      `Cannot read FLOTILLA_CHECKOUT as it must be "saga" or "tcc": current value is "${value}"`,
    );
  }
  return protocol;
}

/** Reads `FLOTILLA_CHECKOUT_COMPENSATION_ATTEMPTS`: a whole number from 1, or unset. */
export function parseCompensationAttempts(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const attempts = Number(value);
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new RangeError(
      `Cannot read FLOTILLA_CHECKOUT_COMPENSATION_ATTEMPTS as it must be a whole number from 1: current value is "${value}"`,
    );
  }
  return attempts;
}

/** Opens the checkout's saga store and participants for `node`, whose database is `db`. */
export async function openCheckout(node: ServiceNode, db: DatabaseSync): Promise<CheckoutConfig> {
  const protocol = parseCheckoutProtocol(Deno.env.get("FLOTILLA_CHECKOUT"));
  const compensationAttempts = parseCompensationAttempts(
    Deno.env.get("FLOTILLA_CHECKOUT_COMPENSATION_ATTEMPTS"),
  );
  const eventStore = node.env.eventStore;
  const sagas = eventStore.startsWith("postgres://") || eventStore.startsWith("postgresql://")
    ? await openSagaStore({ kind: "postgres", url: eventStore, schema: "flotilla_tx" })
    : new SqliteSagaStore({ db });
  const crash = node.crashPoints;
  node.logger.info("checkout", { protocol });
  return {
    options: {
      sagas,
      protocol,
      owner: node.env.instanceId,
      tracer: node.telemetry.tracer,
      ...(compensationAttempts === undefined ? {} : { compensationAttempts }),
      onSettled: (saga) => {
        const outcome = saga.status.toLowerCase();
        const seconds = Math.max(0, saga.updatedAt - saga.createdAt) / 1000;
        node.telemetry.metrics.sagaOutcomes.inc({ saga: saga.name, outcome });
        node.telemetry.metrics.sagaDuration.observe({ saga: saga.name, outcome }, seconds);
      },
      // Whatever the protocol: checkouts begun under the other one are driven on in it.
      participants: peerParticipants(
        node.peers.client(inventoryContract),
        node.peers.client(paymentContract),
      ),
      ...(crash.armed
        ? {
          faults: (point) =>
            crash.reach(`${point.kind}:${point.boundary}${point.step ? `:${point.step}` : ""}`),
        }
        : {}),
    },
  };
}
