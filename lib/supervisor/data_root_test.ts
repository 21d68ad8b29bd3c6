import assert from "node:assert/strict";
import { resolveDataRoot } from "./data_root.ts";

Deno.test("resolveDataRoot() defaults to ./.flotilla under the working directory", () => {
  assert.equal(resolveDataRoot({}, "/srv/shop"), "/srv/shop/.flotilla");
  assert.equal(resolveDataRoot({ FLOTILLA_DATA_DIR: "" }, "/srv/shop"), "/srv/shop/.flotilla");
});

Deno.test("resolveDataRoot() takes FLOTILLA_DATA_DIR, made absolute", () => {
  assert.equal(resolveDataRoot({ FLOTILLA_DATA_DIR: "/var/lib/shop" }, "/srv"), "/var/lib/shop");
  assert.equal(resolveDataRoot({ FLOTILLA_DATA_DIR: "data" }, "/srv/shop"), "/srv/shop/data");
});
