/**
 * The shop's service contracts and shared value schemas.
 *
 * @module
 */

export * from "./schemas.ts";
export { gatewayContract } from "./gateway.ts";
export { orderContract } from "./order.ts";
export { inventoryContract } from "./inventory.ts";
export { paymentContract } from "./payment.ts";
export * from "./events.ts";
export {
  HistoryEntry,
  notificationContract,
  NotificationView,
  StockFigure,
} from "./notification.ts";
