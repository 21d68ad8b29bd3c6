/**
 * The order service's read models, for `flotilla projections rebuild`
 * (`deno task projections:rebuild`): the orders projection in `order.db`.
 *
 * @module
 */

import type { ServiceReadModel } from "@flotilla/eventstore";
import { orderViewsProjection } from "./infra/order_views.ts";

/** The projections the order service keeps, by database. */
export const readModels: ServiceReadModel[] = [
  { database: "order.db", projections: [orderViewsProjection] },
];
