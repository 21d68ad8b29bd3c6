/**
 * An in-memory {@link PaymentStore}, for tests and demos.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { SqliteTccParticipant } from "@flotilla/tx";
import type { Customer } from "../../contracts/mod.ts";
import type { PaymentStore, PaymentTransaction, TccBarrier, TccWork } from "../app/ports.ts";
import type { PaymentHold } from "../domain/hold.ts";
import type { Payment } from "../domain/payment.ts";

/**
 * Keeps customers, payments and holds in maps. A transaction works on copies
 * and swaps them in only if the work returns, so a throw leaves nothing
 * behind. TCC barriers are the real `SqliteTccParticipant` on a private
 * in-memory SQLite database, each callback running one map transaction
 * inside the barrier's, so the barrier rules are the production ones.
 *
 * @example
 * ```ts
 * const store = new MemoryPaymentStore([{ id: "alice", name: "Alice", balance: 1_000 }]);
 * store.getCustomer("alice")?.balance; // 1000
 * ```
 */
export class MemoryPaymentStore implements PaymentStore {
  #customers = new Map<string, Customer>();
  /** The version of each customer's balance (absent: 0). */
  #versions = new Map<string, number>();
  #payments = new Map<string, Payment>();
  #holds = new Map<string, PaymentHold>();
  #barriers: DatabaseSync | undefined;
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
    const versions = new Map(this.#versions);
    const payments = new Map(this.#payments);
    const holds = new Map(this.#holds);
    const result = work({
      getCustomer: (customerId) => {
        const customer = customers.get(customerId);
        return customer && { ...customer };
      },
      getWallet: (customerId) => {
        const customer = customers.get(customerId);
        return customer && { balance: customer.balance, version: versions.get(customerId) ?? 0 };
      },
      setBalance: (customerId, { balance, version }) => {
        const customer = customers.get(customerId);
        if (!customer) throw new RangeError(`Cannot set the balance of unknown "${customerId}"`);
        if (!(Number.isSafeInteger(balance) && balance >= 0)) {
          throw new RangeError(`Cannot set the balance of "${customerId}" to ${balance}`);
        }
        const stored = versions.get(customerId) ?? 0;
        if (!(Number.isSafeInteger(version) && version > stored)) {
          throw new RangeError(
            `Cannot set the balance of "${customerId}" at version ${version} as it is at version ${stored}`,
          );
        }
        customers.set(customerId, { ...customer, balance });
        versions.set(customerId, version);
      },
      getPayment: (orderId) => payments.get(orderId),
      savePayment: (payment) => {
        payments.set(payment.orderId, payment);
      },
      getHold: (txId) => holds.get(txId),
      saveHold: (hold) => {
        holds.set(hold.txId, hold);
      },
    });
    this.#customers = customers;
    this.#versions = versions;
    this.#payments = payments;
    this.#holds = holds;
    return result;
  }

  /** A TCC participant whose barrier is in a private in-memory SQLite database. */
  tccParticipant<I>(work: TccWork<I>): TccBarrier<I> {
    this.#assertOpen();
    this.#barriers ??= new DatabaseSync(":memory:");
    return new SqliteTccParticipant<I>({
      name: work.name,
      db: this.#barriers,
      table: `tcc_barrier_${work.name.replaceAll(/[^A-Za-z0-9_]/g, "_")}`,
      ...(work.tryTimeoutMs === undefined ? {} : { tryTimeoutMs: work.tryTimeoutMs }),
      ...(work.clock === undefined ? {} : { clock: work.clock }),
      try: (_db, ctx) => this.transaction((tx) => work.try(tx, ctx)),
      confirm: (_db, ctx) => this.transaction((tx) => work.confirm(tx, ctx)),
      cancel: (_db, ctx) => this.transaction((tx) => work.cancel(tx, ctx)),
    });
  }

  /** True until closed. */
  ping(): boolean {
    return !this.#closed;
  }

  /** Marks the store closed; later calls throw. */
  close(): void {
    this.#closed = true;
    if (this.#barriers?.isOpen) this.#barriers.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("The payment store is closed");
  }
}
