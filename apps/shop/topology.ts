/**
 * The shop as the supervisor runs it: each service's contract (whose `needs`
 * decide its permissions) and the module that serves it.
 *
 * @module
 */

import type { SystemPlan } from "@flotilla/supervisor";
import {
  gatewayContract,
  inventoryContract,
  notificationContract,
  orderContract,
  paymentContract,
} from "./contracts/mod.ts";

/** With `FLOTILLA_TRANSPORT=grpc`, a service reads the shop's .proto. */
const grpc = { files: [new URL("./proto/", import.meta.url)] };

/** The shop: gateway, order, inventory, payment and the notification read side, each its own process. */
export const shop: SystemPlan = {
  name: "shop",
  services: [
    { contract: gatewayContract, entry: new URL("./gateway/main.ts", import.meta.url) },
    {
      contract: orderContract,
      entry: new URL("./order/main.ts", import.meta.url),
      projections: new URL("./order/read_models.ts", import.meta.url),
      grpc,
    },
    { contract: inventoryContract, entry: new URL("./inventory/main.ts", import.meta.url), grpc },
    { contract: paymentContract, entry: new URL("./payment/main.ts", import.meta.url), grpc },
    { contract: notificationContract, entry: new URL("./notification/main.ts", import.meta.url) },
  ],
};
