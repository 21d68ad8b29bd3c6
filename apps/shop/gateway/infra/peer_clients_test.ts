import assert from "node:assert/strict";
import { type CallHandler, ManualClock, type OutboundCall } from "@flotilla/core";
import { createPeerClients } from "./peer_clients.ts";

Deno.test("createPeerClients() calls each peer through its own handler, as gateway", async () => {
  const calls: Array<[string, OutboundCall]> = [];
  const handler = (name: string): CallHandler => (call) => {
    calls.push([name, call]);
    return Promise.resolve(name === "order" ? [] : []);
  };
  const clock = new ManualClock(1_000);
  const peers = createPeerClients(
    {
      inventory: handler("inventory"),
      payment: handler("payment"),
      order: handler("order"),
      notification: handler("notification"),
    },
    { defaultTimeoutMs: 2_000, clock },
  );
  await peers.inventory.call("listProducts", {});
  await peers.payment.call("listCustomers", {});
  await peers.order.call("listOrders", {});
  assert.deepEqual(calls.map(([name, call]) => [name, call.service, call.action]), [
    ["inventory", "inventory", "listProducts"],
    ["payment", "payment", "listCustomers"],
    ["order", "order", "listOrders"],
  ]);
  for (const [, call] of calls) {
    assert.equal(call.caller, "gateway");
    assert.equal(call.deadline, 3_000);
  }
});
