/**
 * The catalogue a fresh shop starts with.
 *
 * @module
 */

import type { Product } from "../../contracts/mod.ts";

/** Products written on the inventory's first start; prices in cents. */
export const SEED_PRODUCTS: readonly Product[] = [
  { sku: "TEA-GREEN", name: "Sencha green tea, 100 g", price: 850, stock: 100 },
  { sku: "TEA-BLACK", name: "Assam black tea, 100 g", price: 750, stock: 100 },
  { sku: "MUG-STONE", name: "Stoneware mug", price: 1800, stock: 25 },
  { sku: "KETTLE-GOOSE", name: "Gooseneck kettle", price: 4900, stock: 5 },
  { sku: "POT-CAST", name: "Cast-iron teapot", price: 6500, stock: 0 },
];
