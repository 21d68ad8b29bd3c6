/**
 * The shop's contracts bound to the services of `shop.proto`, for the gRPC
 * transport (`@flotilla/grpc`). Each binding reads `shop.proto` when first
 * asked for (`--allow-read` of this folder) and is kept for the process.
 *
 * @module
 */

import { type GrpcBinding, grpcBinding } from "@flotilla/grpc";
import { inventoryContract, orderContract, paymentContract } from "../contracts/mod.ts";

/** Where `shop.proto` lies. */
export const SHOP_PROTO: URL = new URL("./shop.proto", import.meta.url);

let inventory: GrpcBinding<typeof inventoryContract> | undefined;
let payment: GrpcBinding<typeof paymentContract> | undefined;
let order: GrpcBinding<typeof orderContract> | undefined;

/** The inventory contract on `flotilla.shop.v1.InventoryService`. */
export function inventoryGrpcBinding(): GrpcBinding<typeof inventoryContract> {
  return inventory ??= grpcBinding(inventoryContract, {
    proto: SHOP_PROTO,
    service: "flotilla.shop.v1.InventoryService",
  });
}

/** The payment contract on `flotilla.shop.v1.PaymentService`. */
export function paymentGrpcBinding(): GrpcBinding<typeof paymentContract> {
  return payment ??= grpcBinding(paymentContract, {
    proto: SHOP_PROTO,
    service: "flotilla.shop.v1.PaymentService",
  });
}

/**
 * The order contract on `flotilla.shop.v1.OrderService`; `WatchOrder` is the
 * `watchOrder` action's server stream.
 */
export function orderGrpcBinding(): GrpcBinding<typeof orderContract> {
  return order ??= grpcBinding(orderContract, {
    proto: SHOP_PROTO,
    service: "flotilla.shop.v1.OrderService",
  });
}
