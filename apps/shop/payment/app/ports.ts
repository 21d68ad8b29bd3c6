/**
 * What the payment service needs from the outside world: a store of
 * customers' wallets and payments with read-decide-write transactions, and
 * an emitter of the events that announce its changes.
 *
 * @module
 */

import type { Clock, TraceContext } from "@flotilla/core";
import type { BarrierContext, CancelOutcome, ConfirmOutcome, TryOutcome } from "@flotilla/tx";
import type { Customer } from "../../contracts/mod.ts";
import type { PaymentHold } from "../domain/hold.ts";
import type { Payment, Wallet } from "../domain/payment.ts";

/** Reads and writes inside one transaction of a {@link PaymentStore}. */
export interface PaymentTransaction {
  /** The customer, with their balance, if any. */
  getCustomer(customerId: string): Customer | undefined;
  /** The customer's balance with its version, if there is such a customer. */
  getWallet(customerId: string): Wallet | undefined;
  /**
   * Sets a customer's balance (integer cents, never negative) and its version.
   *
   * @throws {RangeError} if the customer is unknown, the balance negative, or the version not
   * above the stored one (the balance would go back in time).
   */
  setBalance(customerId: string, wallet: Wallet): void;
  /** The order's payment, if any. */
  getPayment(orderId: string): Payment | undefined;
  /** Inserts or replaces the order's payment. */
  savePayment(payment: Payment): void;
  /** The TCC transaction's hold, if any. */
  getHold(txId: string): PaymentHold | undefined;
  /** Inserts or replaces the TCC transaction's hold. */
  saveHold(hold: PaymentHold): void;
}

/**
 * The business side of a TCC participant: what Try, Confirm and Cancel do to
 * the store. The store runs each inside the transaction that writes the
 * barrier row, so the change and the barrier commit together.
 */
export interface TccWork<I> {
  /** The participant's name. */
  name: string;
  /** How long a hold lives without Confirm or Cancel. @default {300_000} */
  tryTimeoutMs?: number;
  /** The source of time for expiry. @default {systemClock} */
  clock?: Clock;
  /** Makes the hold; throw to refuse (nothing is kept, the barrier included). */
  try(tx: PaymentTransaction, ctx: BarrierContext<I>): void;
  /** Makes the hold final. Called once, only after a Try. */
  confirm(tx: PaymentTransaction, ctx: BarrierContext<I>): void;
  /** Gives the hold back. Called once, only after a Try (never for an empty rollback). */
  cancel(tx: PaymentTransaction, ctx: BarrierContext<I>): void;
}

/**
 * A TCC participant behind its barrier (`SqliteTccParticipant` of
 * `@flotilla/tx`): replays are no-ops, a Cancel before the Try is recorded
 * so the late Try is refused, and a Confirm after a Cancel is refused, each
 * with a `TxError` (a `FlotillaError` of kind `FAILED_PRECONDITION`).
 */
export interface TccBarrier<I> {
  /** Tries `txId`; `REPLAYED` when it was already tried. */
  try(txId: string, input: I): TryOutcome;
  /** Confirms `txId`; `REPLAYED` when it was already confirmed. */
  confirm(txId: string): ConfirmOutcome;
  /** Cancels `txId`; `EMPTY_ROLLBACK` when it was never tried. */
  cancel(txId: string): CancelOutcome;
  /** Cancels every hold past its timeout at `now`; returns their transaction ids. */
  expireStale(now?: number): string[];
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
  /**
   * A TCC participant whose barrier lives with this store's state: `work`'s
   * callbacks run in the same transaction as the barrier row (never one of
   * their own). Create one per participant name.
   */
  tccParticipant<I>(work: TccWork<I>): TccBarrier<I>;
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
