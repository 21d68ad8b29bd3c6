import assert from "node:assert/strict";
import { z } from "zod";
import { Product } from "../../contracts/mod.ts";
import { SEED_PRODUCTS } from "./seed.ts";

Deno.test("SEED_PRODUCTS are valid products with unique skus, one of them sold out", () => {
  z.array(Product).parse(SEED_PRODUCTS);
  assert.equal(new Set(SEED_PRODUCTS.map((p) => p.sku)).size, SEED_PRODUCTS.length);
  assert.deepEqual(SEED_PRODUCTS.filter((p) => p.stock === 0).map((p) => p.sku), ["POT-CAST"]);
});
