import assert from "node:assert/strict";
import { natsRpcSubject, subjectToken } from "./subjects.ts";

Deno.test("natsRpcSubject() names the queue group's subject and an instance's", () => {
  assert.equal(natsRpcSubject("order", "placeOrder"), "flotilla.rpc.order.placeOrder");
  assert.equal(
    natsRpcSubject("order", "placeOrder", { instanceId: "order-7f3a" }),
    "flotilla.rpc.order.order-7f3a.placeOrder",
  );
  assert.equal(natsRpcSubject("order", "get", { prefix: "acme.rpc" }), "acme.rpc.order.get");
});

Deno.test("subjectToken() keeps safe names and never lets a name add a token", () => {
  assert.equal(subjectToken("bench-echo_2"), "bench-echo_2");
  assert.equal(subjectToken("shop.order"), "shop%2Eorder");
  assert.equal(subjectToken("a*b>c d"), "a%2Ab%3Ec%20d");
  assert.equal(subjectToken("é"), "%C3%A9");
  assert.notEqual(subjectToken("a.b"), subjectToken("a%2Eb"));
  assert.throws(() => subjectToken(""), RangeError);
});
