/**
 * Test support: in-memory inventory and payment peers with the real
 * services' idempotency rules, a log of calls, and injectable faults —
 * a call that fails before doing anything, or after doing it (a lost reply).
 *
 * @module
 */

import type { Context } from "@flotilla/core";
import type { Customer, Product } from "../../contracts/mod.ts";
import type { OrderLineRequest } from "../domain/order.ts";
import type { ChargeOutcome, InventoryPort, PaymentPort, ReserveOutcome } from "./ports.ts";

/** A fault to inject into the next call of one method. */
export interface Fault {
  /** What the call throws. */
  error: Error;
  /** Whether the call does its work before throwing (a lost reply). @default {false} */
  after?: boolean;
}

class Faults {
  readonly log: string[] = [];
  readonly #faults = new Map<string, Fault[]>();
  readonly #waiters = new Map<string, Array<() => void>>();

  inject(method: string, fault: Fault, times = 1): void {
    const queue = this.#faults.get(method) ?? [];
    for (let i = 0; i < times; i++) queue.push(fault);
    this.#faults.set(method, queue);
  }

  /** Drops the faults still queued for `method`. */
  clear(method: string): void {
    this.#faults.delete(method);
  }

  /** Resolves when `method` is next called. */
  next(method: string): Promise<void> {
    return new Promise((resolve) => {
      this.#waiters.set(method, [...this.#waiters.get(method) ?? [], resolve]);
    });
  }

  async run<T>(method: string, id: string, work: () => T): Promise<T> {
    this.log.push(`${method}:${id}`);
    for (const wake of this.#waiters.get(method) ?? []) wake();
    this.#waiters.delete(method);
    await Promise.resolve();
    const fault = this.#faults.get(method)?.shift();
    if (fault && !fault.after) throw fault.error;
    const result = work();
    if (fault) throw fault.error;
    return result;
  }
}

/** An in-memory inventory. */
export class FakeInventory implements InventoryPort {
  /** The catalogue, by sku; mutate it to set up a test. */
  readonly products: Map<string, Product>;
  /** Reservations by order id. */
  readonly reservations = new Map<
    string,
    { status: "RESERVED" | "RELEASED" | "TOMBSTONE"; items: OrderLineRequest[] }
  >();
  readonly #faults = new Faults();

  /** Creates an inventory holding `products`. */
  constructor(products: readonly Product[]) {
    this.products = new Map(products.map((p) => [p.sku, { ...p }]));
  }

  /** Calls made, as `method:id`. */
  get log(): string[] {
    return this.#faults.log;
  }

  /** Makes the next `times` calls of `method` fail. */
  fail(method: keyof InventoryPort, fault: Fault, times = 1): void {
    this.#faults.inject(method, fault, times);
  }

  /** Lets `method` work again. */
  heal(method: keyof InventoryPort): void {
    this.#faults.clear(method);
  }

  /** Resolves when `method` is next called. */
  called(method: keyof InventoryPort): Promise<void> {
    return this.#faults.next(method);
  }

  /** The available stock of `sku`. */
  stock(sku: string): number | undefined {
    return this.products.get(sku)?.stock;
  }

  getProducts(skus: readonly string[], _ctx: Context): Promise<Product[]> {
    return this.#faults.run("getProducts", skus.join(","), () =>
      skus.flatMap((sku) => {
        const product = this.products.get(sku);
        return product ? [{ ...product }] : [];
      }));
  }

  reserve(
    request: { orderId: string; items: readonly OrderLineRequest[] },
    _ctx: Context,
  ): Promise<ReserveOutcome> {
    return this.#faults.run("reserve", request.orderId, (): ReserveOutcome => {
      const existing = this.reservations.get(request.orderId);
      if (existing) {
        return existing.status === "RESERVED" ? { status: "RESERVED" } : { status: "RELEASED" };
      }
      for (const line of request.items) {
        if ((this.products.get(line.sku)?.stock ?? 0) < line.quantity) {
          return { status: "REJECTED", sku: line.sku };
        }
      }
      for (const line of request.items) this.products.get(line.sku)!.stock -= line.quantity;
      this.reservations.set(request.orderId, {
        status: "RESERVED",
        items: request.items.map(({ sku, quantity }) => ({ sku, quantity })),
      });
      return { status: "RESERVED" };
    });
  }

  release(orderId: string, _ctx: Context): Promise<void> {
    return this.#faults.run("release", orderId, () => {
      const existing = this.reservations.get(orderId);
      if (!existing) this.reservations.set(orderId, { status: "TOMBSTONE", items: [] });
      else if (existing.status === "RESERVED") {
        for (const line of existing.items) this.products.get(line.sku)!.stock += line.quantity;
        existing.status = "RELEASED";
      }
    });
  }
}

/** An in-memory payment service. */
export class FakePayments implements PaymentPort {
  /** Customers by id; mutate them to set up a test. */
  readonly customers: Map<string, Customer>;
  /** Payments by order id. */
  readonly payments = new Map<
    string,
    { status: "CHARGED" | "DECLINED" | "REFUNDED" | "VOIDED"; customerId?: string; amount?: number }
  >();
  readonly #faults = new Faults();

  /** Creates a payment service holding `customers`. */
  constructor(customers: readonly Customer[]) {
    this.customers = new Map(customers.map((c) => [c.id, { ...c }]));
  }

  /** Calls made, as `method:id`. */
  get log(): string[] {
    return this.#faults.log;
  }

  /** Makes the next `times` calls of `method` fail. */
  fail(method: keyof PaymentPort, fault: Fault, times = 1): void {
    this.#faults.inject(method, fault, times);
  }

  /** Lets `method` work again. */
  heal(method: keyof PaymentPort): void {
    this.#faults.clear(method);
  }

  /** Resolves when `method` is next called. */
  called(method: keyof PaymentPort): Promise<void> {
    return this.#faults.next(method);
  }

  /** The balance of `customerId`. */
  balance(customerId: string): number | undefined {
    return this.customers.get(customerId)?.balance;
  }

  getCustomer(customerId: string, _ctx: Context): Promise<Customer | undefined> {
    return this.#faults.run("getCustomer", customerId, () => {
      const customer = this.customers.get(customerId);
      return customer && { ...customer };
    });
  }

  charge(
    request: { orderId: string; customerId: string; amount: number },
    _ctx: Context,
  ): Promise<ChargeOutcome> {
    return this.#faults.run("charge", request.orderId, (): ChargeOutcome => {
      const existing = this.payments.get(request.orderId);
      if (existing) {
        if (existing.status === "REFUNDED" || existing.status === "VOIDED") return "VOIDED";
        return existing.status;
      }
      const customer = this.customers.get(request.customerId)!;
      if (customer.balance < request.amount) {
        this.payments.set(request.orderId, { status: "DECLINED", ...request });
        return "DECLINED";
      }
      customer.balance -= request.amount;
      this.payments.set(request.orderId, { status: "CHARGED", ...request });
      return "CHARGED";
    });
  }

  refund(orderId: string, _ctx: Context): Promise<void> {
    return this.#faults.run("refund", orderId, () => {
      const existing = this.payments.get(orderId);
      if (!existing) this.payments.set(orderId, { status: "VOIDED" });
      else if (existing.status === "CHARGED") {
        this.customers.get(existing.customerId!)!.balance += existing.amount!;
        existing.status = "REFUNDED";
      } else if (existing.status === "DECLINED") existing.status = "VOIDED";
    });
  }
}
