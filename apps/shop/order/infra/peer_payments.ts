/**
 * The payment port over a typed client of the payment service.
 *
 * @module
 */

import { type Context, FlotillaError, type ServiceClient } from "@flotilla/core";
import type { Customer, paymentContract } from "../../contracts/mod.ts";
import type { ChargeOutcome, PaymentPort } from "../app/ports.ts";

/**
 * Calls the payment service for the order service, passing each call's
 * context on so the deadline and trace carry over. `CUSTOMER_NOT_FOUND`
 * becomes `undefined` and a refused charge (`PAYMENT_VOIDED`) the `VOIDED`
 * outcome; every other error is rethrown as the peer sent it.
 *
 * @example
 * ```ts
 * const client = createClient(paymentContract, httpCallHandler({ baseUrl }), { caller: "order" });
 * const payments = new PeerPayments(client);
 * ```
 */
export class PeerPayments implements PaymentPort {
  readonly #client: ServiceClient<typeof paymentContract>;

  /** Wraps a client of the payment service. */
  constructor(client: ServiceClient<typeof paymentContract>) {
    this.#client = client;
  }

  /** The customer, or `undefined` if the payment service has none. */
  async getCustomer(customerId: string, ctx: Context): Promise<Customer | undefined> {
    try {
      return await this.#client.call("getCustomer", { customerId }, { ctx });
    } catch (error) {
      if (error instanceof FlotillaError && error.code === "CUSTOMER_NOT_FOUND") return undefined;
      throw error;
    }
  }

  /** Charges the order. */
  async charge(
    request: { readonly orderId: string; readonly customerId: string; readonly amount: number },
    ctx: Context,
  ): Promise<ChargeOutcome> {
    try {
      const result = await this.#client.call("charge", { ...request }, { ctx });
      return result.status;
    } catch (error) {
      if (error instanceof FlotillaError && error.code === "PAYMENT_VOIDED") return "VOIDED";
      throw error;
    }
  }

  /** Refunds or voids the order. */
  async refund(orderId: string, ctx: Context): Promise<void> {
    await this.#client.call("refund", { orderId }, { ctx });
  }
}
