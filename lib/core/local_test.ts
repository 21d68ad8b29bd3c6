import assert from "node:assert/strict";
import { z } from "zod";
import { createClient } from "./client.ts";
import { defineContract } from "./contract.ts";
import { FlotillaError, NotFoundError } from "./errors.ts";
import { localCallHandler } from "./local.ts";
import { defineService } from "./service.ts";

const contract = defineContract({
  name: "clock",
  version: "1.0.0",
  actions: {
    at: { input: z.object({ id: z.string() }), output: z.object({ when: z.date() }) },
  },
});

const service = defineService(contract, {
  at: ({ id }) => {
    if (id === "none") throw new NotFoundError("NO_SUCH_CLOCK", "no clock");
    return { when: new Date(0) };
  },
});

Deno.test("localCallHandler() round-trips through the wire form by default", async () => {
  const client = createClient(contract, localCallHandler(service), { caller: "test" });
  // A Date does not survive JSON: the contract's output check catches what a network would break.
  await assert.rejects(
    client.call("at", { id: "a" }),
    (e: FlotillaError) => e.code === "BAD_RESPONSE",
  );
  await assert.rejects(client.call("at", { id: "none" }), (error: unknown) => {
    assert.ok(error instanceof FlotillaError && !(error instanceof NotFoundError));
    assert.equal(error.code, "NO_SUCH_CLOCK");
    return true;
  });
});

Deno.test("localCallHandler() passes values through untouched with wire: false", async () => {
  const handler = localCallHandler(service, { wire: false });
  const client = createClient(contract, handler, { caller: "test" });
  assert.deepEqual(await client.call("at", { id: "a" }), { when: new Date(0) });
  await assert.rejects(client.call("at", { id: "none" }), NotFoundError);
  assert.equal(handler.traces.length, 2);
  assert.equal(handler.host.state, "ready");
});
