/**
 * What the gateway needs: typed clients of the services behind it. The
 * gateway adds no logic of its own, so its ports are the peers' contracts.
 *
 * @module
 */

import type { ServiceClient } from "@flotilla/core";
import type {
  inventoryContract,
  notificationContract,
  orderContract,
  paymentContract,
} from "../../contracts/mod.ts";

/** The inventory service, as the gateway calls it. */
export type InventoryPeer = Pick<ServiceClient<typeof inventoryContract>, "call">;
/** The payment service, as the gateway calls it. */
export type PaymentPeer = Pick<ServiceClient<typeof paymentContract>, "call">;
/** The order service, as the gateway calls it. */
export type OrderPeer = Pick<ServiceClient<typeof orderContract>, "call">;

/** The gateway's peers. */
/** The read side, as the gateway calls it. */
export type NotificationPeer = Pick<ServiceClient<typeof notificationContract>, "call">;

export interface GatewayPeers {
  /** Catalogue and stock. */
  inventory: InventoryPeer;
  /** Customers and balances. */
  payment: PaymentPeer;
  /** Orders. */
  order: OrderPeer;
  /** The read side. */
  notification: NotificationPeer;
}
