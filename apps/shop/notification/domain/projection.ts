/**
 * The read side of the shop, as pure decisions: what each event changes in
 * the customer-facing views (order history, notifications, balances, stock
 * figures). The infrastructure applies the changes in the same transaction
 * as the inbox record, so a redelivered event changes nothing twice.
 *
 * @module
 */

/** Status of an order in the read model. */
export type ReadStatus = "PENDING" | "CONFIRMED" | "CANCELLED";

/** One order as the history view shows it. */
export interface OrderSummary {
  /** The order. */
  readonly orderId: string;
  /** Its customer. */
  readonly customerId: string;
  /** Its total in cents. */
  readonly total: number;
  /** Where it is. */
  readonly status: ReadStatus;
  /** Why it was cancelled. */
  readonly reason?: string;
  /** When the read model last changed it (the event's time). */
  readonly updatedAt: string;
}

/** A message for a customer. */
export interface Notification {
  /** The id of the event it came from (one notification per event at most). */
  readonly id: string;
  /** The customer. */
  readonly customerId: string;
  /** The order it is about. */
  readonly orderId: string;
  /**
   * What it tells: `order.confirmed`, `order.cancelled`, `payment.charged`
   * or `payment.refunded` (stable names, whatever the events are called).
   */
  readonly type: string;
  /** The text. */
  readonly message: string;
  /** When, RFC 3339. */
  readonly time: string;
}

/** A change to the read model, discriminated on `type`. */
export type ReadChange =
  | { readonly type: "order"; readonly order: OrderSummary }
  | {
    readonly type: "order_status";
    readonly orderId: string;
    readonly status: ReadStatus;
    readonly reason?: string;
    readonly time: string;
  }
  | {
    readonly type: "stock";
    readonly sku: string;
    readonly stock: number;
    /** The figure's version from the inventory; absent in events from before versions. */
    readonly version?: number;
  }
  | {
    readonly type: "balance";
    readonly customerId: string;
    readonly balance: number;
    /** The figure's version from the payment service; absent in events from before versions. */
    readonly version?: number;
  }
  | { readonly type: "notification"; readonly notification: Notification };

/** The parts of an event the projection reads. */
export interface ProjectedEvent {
  /** The event id. */
  readonly id: string;
  /** Its type. */
  readonly type: string;
  /** Its time. */
  readonly time: string;
  /** Its payload (already validated against the type's schema). */
  readonly data: Record<string, unknown>;
}

interface EventFields {
  orderId: string;
  customerId: string;
  total: number;
  reason: string;
  items: Array<{ sku: string; stock: number; version?: number }>;
  amount: number;
  balance: number;
  version?: number;
}

const FINAL: ReadonlySet<ReadStatus> = new Set(["CONFIRMED", "CANCELLED"]);

/** Whether moving an order from `current` to `next` is allowed: the read model never goes backwards. */
export function advances(current: ReadStatus | undefined, next: ReadStatus): boolean {
  if (current === undefined) return true;
  if (FINAL.has(current)) return false;
  return next !== "PENDING";
}

/**
 * Whether a figure (a sku's stock, a customer's balance) at version `next`
 * replaces the stored one at version `current`: only a newer one does, so a
 * figure delivered late, or twice, never overwrites a newer one. When either
 * lacks a version (an event from before versions, or a figure stored from
 * one) the last writer wins, as before versions existed.
 *
 * @example
 * ```ts
 * supersedes(4, 5); // true
 * supersedes(5, 4); // false: an older figure delivered late
 * supersedes(5, 5); // false: the same figure again
 * supersedes(5, undefined); // true: an unversioned event, last writer wins
 * ```
 */
export function supersedes(current: number | undefined, next: number | undefined): boolean {
  if (current === undefined || next === undefined) return true;
  return next > current;
}

/** The changes `event` makes to the read model; an unknown type changes nothing. */
export function project(event: ProjectedEvent): ReadChange[] {
  // The bus validated the payload against its type's schema; these are the fields the views use.
  const d = event.data as unknown as EventFields;
  const money = (cents: number) => `${(cents / 100).toFixed(2)}`;
  switch (event.type) {
    case "OrderPlaced":
      return [{
        type: "order",
        order: {
          orderId: d.orderId,
          customerId: d.customerId,
          total: d.total,
          status: "PENDING",
          updatedAt: event.time,
        },
      }];
    case "OrderConfirmed":
      return [
        { type: "order_status", orderId: d.orderId, status: "CONFIRMED", time: event.time },
        notification(
          event,
          "order.confirmed",
          d.customerId,
          d.orderId,
          `Order ${d.orderId} is confirmed (${money(d.total)}).`,
        ),
      ];
    case "OrderCancelled":
      return [
        {
          type: "order_status",
          orderId: d.orderId,
          status: "CANCELLED",
          reason: d.reason,
          time: event.time,
        },
        notification(
          event,
          "order.cancelled",
          d.customerId,
          d.orderId,
          `Order ${d.orderId} was cancelled: ${reasonText(d.reason)}.`,
        ),
      ];
    case "stock.reserved":
    case "stock.released":
      return d.items.map((line) => ({
        type: "stock" as const,
        sku: line.sku,
        stock: line.stock,
        ...(line.version === undefined ? {} : { version: line.version }),
      }));
    case "payment.charged":
      return [
        balance(d),
        notification(
          event,
          event.type,
          d.customerId,
          d.orderId,
          `You were charged ${money(d.amount)} for order ${d.orderId}.`,
        ),
      ];
    case "payment.held":
    case "payment.released":
      // A TCC hold and its release move the available balance; the customer hears of the
      // charge itself (payment.charged on Confirm), not of the hold.
      return [balance(d)];
    case "payment.refunded":
      return [
        balance(d),
        notification(
          event,
          event.type,
          d.customerId,
          d.orderId,
          `${money(d.amount)} for order ${d.orderId} was refunded.`,
        ),
      ];
    default:
      return [];
  }
}

function balance(d: EventFields): ReadChange {
  return {
    type: "balance",
    customerId: d.customerId,
    balance: d.balance,
    ...(d.version === undefined ? {} : { version: d.version }),
  };
}

function notification(
  event: ProjectedEvent,
  kind: string,
  customerId: string,
  orderId: string,
  message: string,
): ReadChange {
  return {
    type: "notification",
    notification: {
      id: event.id,
      customerId,
      orderId,
      type: kind,
      message,
      time: event.time,
    },
  };
}

function reasonText(reason: string): string {
  switch (reason) {
    case "OUT_OF_STOCK":
      return "something was out of stock";
    case "INSUFFICIENT_FUNDS":
      return "the balance was too low";
    case "TIMED_OUT":
      return "the checkout could not finish in time";
    default:
      return reason.toLowerCase().replaceAll("_", " ");
  }
}
