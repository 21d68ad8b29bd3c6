/**
 * What the payment service needs from the outside world: a store of
 * customers' wallets and payments with read-decide-write transactions, and
 * an emitter of the events that announce its changes.
 *
 * @module
 */

import type { TraceContext } from "@flotilla/core";
import type { Customer } from "../../contracts/mod.ts";
import type { Payment } from "../domain/payment.ts";

/** Reads and writes inside one transaction of a {@link PaymentStore}. */
export interface PaymentTransaction {
  /** The customer, with their balance, if any. */
  getCustomer(customerId: string): Customer | undefined;
  /** Sets a customer's balance (integer cents, never negative). */
  setBalance(customerId: string, balance: number): void;
  /** The order's payment, if any. */
  getPayment(orderId: string): Payment | undefined;
  /** Inserts or replaces the order's payment. */
  savePayment(payment: Payment): void;
}

/** The payment service's persistent state. Implementations: SQLite, in-memory. */
export interface PaymentStore {
  /** Every customer, ordered by id. */
  listCustomers(): Customer[];
  /** One customer, if any. */
  getCustomer(customerId: string): Customer | undefined;
  /**
   * Runs `work` in one serialisable transaction and returns what it returns;
   * if it throws, nothing it wrote is kept. `work` must be synchronous.
   */
  transaction<T>(work: (tx: PaymentTransaction) => T): T;
  /** Whether the store can serve requests, for `/readyz`. */
  ping(): boolean;
  /** Releases the store's resources. */
  close(): void;
}

/** Per-event details of an {@link Emit}. */
export interface EmitOptions {
  /** What the event is about (its ordering key): the order id. */
  subject?: string;
  /** The trace of the work that emits it. */
  trace?: TraceContext | undefined;
}

/**
 * Emits one domain event. Call it inside the {@link PaymentStore.transaction}
 * that makes the change the event announces: behind it is the transactional
 * outbox of the store's database, so the event commits with the change, and
 * a throw (a payload that breaks its schema) rolls the change back.
 */
export type Emit = (type: string, data: unknown, options?: EmitOptions) => void;
