import assert from "node:assert/strict";
import { envLayer } from "./env_layer.ts";

Deno.test("envLayer() maps declared variables to paths, parsing JSON values", () => {
  const env = new Map([["A", "8"], ["B", "hello"], ["C", "007"], ["D", '{"x":1}'], ["E", "true"]]);
  const layer = envLayer(
    { "pool.size": "A", "greeting": "B", "code": "C", "obj": "D", "flag": "E", "unset": "Z" },
    { get: (name) => env.get(name) },
  );
  assert.deepEqual(layer, {
    pool: { size: 8 },
    greeting: "hello",
    code: "007",
    obj: { x: 1 },
    flag: true,
  });
});

Deno.test("envLayer() refuses an empty path", () => {
  assert.throws(() => envLayer({ "": "A" }, { get: () => "1" }), RangeError);
});
