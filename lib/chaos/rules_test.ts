import assert from "node:assert/strict";
import { ValidationError } from "@flotilla/core";
import { parseChaosConfig } from "./rules.ts";

Deno.test("parseChaosConfig() applies defaults: off, seed 1, rules scoped to everything at 100%", async () => {
  assert.deepEqual(await parseChaosConfig({}), { enabled: false, seed: 1, rules: [] });
  const config = await parseChaosConfig({
    enabled: true,
    rules: [
      { id: "a", fault: { type: "abort" } },
      { id: "b", side: "bus-consume", fault: { type: "duplicate" } },
    ],
  });
  assert.deepEqual(config.rules[0], {
    id: "a",
    enabled: true,
    service: "*",
    peer: "*",
    action: "*",
    instance: "*",
    percentage: 100,
    fault: { type: "abort", phase: "after_send" },
  });
  assert.deepEqual(config.rules[1]!.side, ["bus-consume"]);
  assert.deepEqual(config.rules[1]!.fault, { type: "duplicate", copies: 1 });
});

Deno.test("parseChaosConfig() names each invalid field", async () => {
  const cases: Array<[unknown, string]> = [
    [{ rules: [{ id: "x", side: "client", fault: { type: "drop" } }] }, "/rules/0/side"],
    [{ rules: [{ id: "x", fault: { type: "error" } }] }, "/rules/0/fault"],
    [
      { rules: [{ id: "x", fault: { type: "error", code: "OUT_OF_STOCK" } }] },
      "/rules/0/fault/kind",
    ],
    [{ rules: [{ id: "x", percentage: 101, fault: { type: "drop" } }] }, "/rules/0/percentage"],
    [{
      rules: [{
        id: "x",
        fault: { type: "latency", latency: { type: "uniform", minMs: 5, maxMs: 1 } },
      }],
    }, "/rules/0/fault/latency/maxMs"],
    [
      { rules: [{ id: "x", fault: { type: "drop" } }, { id: "x", fault: { type: "drop" } }] },
      "/rules/1/id",
    ],
    [{ seed: -1 }, "/seed"],
    [{ rules: [{ id: "x", fault: { type: "explode" } }] }, "/rules/0/fault/type"],
    [{ rules: [{ id: "x", surprise: 1, fault: { type: "drop" } }] }, "/rules/0"],
  ];
  for (const [input, pointer] of cases) {
    await assert.rejects(
      parseChaosConfig(input),
      (error: unknown) =>
        error instanceof ValidationError && error.issues.some((i) => i.pointer === pointer),
      `${JSON.stringify(input)} → ${pointer}`,
    );
  }
});

Deno.test("parseChaosConfig() accepts a code with its kind, a known code, or a status", async () => {
  const config = await parseChaosConfig({
    rules: [
      { id: "a", fault: { type: "error", code: "OUT_OF_STOCK", kind: "FAILED_PRECONDITION" } },
      { id: "b", fault: { type: "error", code: "CONNECTION_REFUSED" } },
      { id: "c", fault: { type: "error", status: 429 } },
    ],
  });
  assert.equal(config.rules.length, 3);
});
