/**
 * An in-memory {@link PaymentStore}, for tests and demos.
 *
 * @module
 */

import type { Customer } from "../../contracts/mod.ts";
import type { PaymentStore, PaymentTransaction } from "../app/ports.ts";
import type { Payment } from "../domain/payment.ts";

/**
 * Keeps customers and payments in maps. A transaction works on copies and
 * swaps them in only if the work returns, so a throw leaves nothing behind.
 *
 * @example
 * ```ts
 * const store = new MemoryPaymentStore([{ id: "alice", name: "Alice", balance: 1_000 }]);
 * store.getCustomer("alice")?.balance; // 1000
 * ```
 */
export class MemoryPaymentStore implements PaymentStore {
  #customers = new Map<string, Customer>();
  #payments = new Map<string, Payment>();
  #closed = false;

  /** Creates a store holding `customers`. */
  constructor(customers: readonly Customer[] = []) {
    for (const customer of customers) this.#customers.set(customer.id, { ...customer });
  }

  /** Every customer, ordered by id. */
  listCustomers(): Customer[] {
    this.#assertOpen();
    return [...this.#customers.values()]
      .sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
      .map((customer) => ({ ...customer }));
  }

  /** One customer, if any. */
  getCustomer(customerId: string): Customer | undefined {
    this.#assertOpen();
    const customer = this.#customers.get(customerId);
    return customer && { ...customer };
  }

  /** Runs `work` on copies of the state and keeps them only if it returns. */
  transaction<T>(work: (tx: PaymentTransaction) => T): T {
    this.#assertOpen();
    const customers = new Map(this.#customers);
    const payments = new Map(this.#payments);
    const result = work({
      getCustomer: (customerId) => {
        const customer = customers.get(customerId);
        return customer && { ...customer };
      },
      setBalance: (customerId, balance) => {
        const customer = customers.get(customerId);
        if (!customer) throw new RangeError(`Cannot set the balance of unknown "${customerId}"`);
        if (!(Number.isSafeInteger(balance) && balance >= 0)) {
          throw new RangeError(`Cannot set the balance of "${customerId}" to ${balance}`);
        }
        customers.set(customerId, { ...customer, balance });
      },
      getPayment: (orderId) => payments.get(orderId),
      savePayment: (payment) => {
        payments.set(payment.orderId, payment);
      },
    });
    this.#customers = customers;
    this.#payments = payments;
    return result;
  }

  /** True until closed. */
  ping(): boolean {
    return !this.#closed;
  }

  /** Marks the store closed; later calls throw. */
  close(): void {
    this.#closed = true;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("The payment store is closed");
  }
}
