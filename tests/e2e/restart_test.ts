/**
 * A service killed with SIGKILL while the shop runs is restarted by the
 * supervisor, and the next order succeeds.
 */

import assert from "node:assert/strict";
import { waitFor } from "@flotilla/testing";
import { startShop } from "../support/shop.ts";

Deno.test({
  name: "the supervisor restarts a service killed with SIGKILL and the next order succeeds",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using shop = await startShop();
    for (const victim of ["payment", "order"]) {
      await t.step(`SIGKILL ${victim}`, async () => {
        const before = (await shop.status()).find((s) => s.name === victim)!;
        assert.equal(before.state, "running");
        Deno.kill(before.pid!, "SIGKILL");
        const after = await waitFor(async () => {
          const service = (await shop.status()).find((s) => s.name === victim)!;
          return service.state === "running" && service.restarts === before.restarts + 1 &&
            service.pid !== before.pid && service;
        }, { what: `${victim} to be restarted` });
        assert.equal(after.port, before.port);

        const placed = await shop.post<{ orderId: string; status: string }>("/orders", {
          customerId: "bob",
          items: [{ sku: "TEA-BLACK", quantity: 1 }],
        }, { "Idempotency-Key": `after-${victim}-kill` });
        assert.equal(placed.status, 201, JSON.stringify(placed.body));
        assert.equal(placed.body.status, "CONFIRMED");
      });
    }
    assert.equal(await shop.stop(), 0);
  },
});

Deno.test({
  name: "the shop does not start on a gateway port in use, and says so",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const error = await startShop({ port: taken.addr.port }).then(
      () => assert.fail("the shop started on a port in use"),
      (error: Error) => error,
    );
    assert.match(
      String((error.cause as Error).message),
      new RegExp(`Cannot assign port ${taken.addr.port} to "gateway" as it is in use`),
    );
  },
});
