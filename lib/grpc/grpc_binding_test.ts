import assert from "node:assert/strict";
import { z } from "zod";
import { defineContract } from "@flotilla/core";
import { bindingInternals, grpcBinding, jsonBinding } from "./grpc_binding.ts";
import { streamOf } from "@flotilla/core";
import { labBinding, labContract } from "./testdata/lab.ts";

const LAB_PROTO = new URL("./testdata/lab.proto", import.meta.url);
const SERVICE = "flotilla.lab.v1.LabService";

Deno.test("grpcBinding() maps each action to its PascalCase method, streams to streaming methods", () => {
  const binding = labBinding();
  assert.equal(binding.service, SERVICE);
  assert.deepEqual(binding.methods.get("greet"), {
    action: "greet",
    method: "Greet",
    path: `/${SERVICE}/Greet`,
    stream: false,
  });
  assert.equal(binding.methods.get("whoAmI")?.method, "WhoAmI");
  assert.equal(binding.methods.get("ticks")?.stream, true);
});

Deno.test("grpcBinding() carries a list output as the only field of its message", () => {
  const codec = bindingInternals(labBinding()).codecs.get("history")!;
  assert.deepEqual(codec.decodeOutput(codec.encodeOutput([1, 2, 3])), [1, 2, 3]);
});

Deno.test("grpcBinding() names every way the contract and the .proto disagree", () => {
  const contract = defineContract({
    name: "lab",
    version: "1.0.0",
    actions: {
      greet: {
        input: z.strictObject({ name: z.string(), nickname: z.string() }),
        output: z.object({ text: z.number() }),
      },
      add: {
        input: z.strictObject({ amount: z.number(), tags: z.array(z.string()) }),
        output: z.object({ total: z.number().int() }),
      },
      ticks: {
        input: z.strictObject({ count: z.number().int() }),
        output: z.object({ n: z.number().int() }),
      },
      feed: {
        input: z.strictObject({}),
        output: streamOf(z.object({ n: z.number().int(), kind: z.enum(["EVEN", "PRIME"]) })),
      },
      history: {
        input: z.strictObject({}),
        output: z.array(z.string()),
      },
      vanish: { input: z.strictObject({}), output: z.object({}) },
    },
  });
  assert.throws(
    () =>
      grpcBinding(contract, {
        proto: LAB_PROTO,
        service: SERVICE,
        methods: { nope: "Greet" } as Record<string, string>,
      }),
    (error: unknown) => {
      assert.ok(error instanceof RangeError);
      const message = error.message;
      for (
        const expected of [
          `'methods' names "nope"`,
          "greet input.nickname has no field",
          "greet output.text is number but text is a string",
          "add input.amount is any number but amount is an integer (int64)",
          "add input.tags[] is string but tags is a flotilla.lab.v1.Tag message",
          `${SERVICE}.Ticks streams its response but action "ticks" has no streamOf() output`,
          `feed output.kind may be "PRIME", which the enum flotilla.lab.v1.TickKind lacks`,
          "history output.totals[] is string but totals is an integer (int64)",
          `action "vanish" has no method "Vanish"`,
        ]
      ) assert.ok(message.includes(expected), `missing "${expected}" in: ${message}`);
      return true;
    },
  );
});

Deno.test("grpcBinding() refuses a service the files do not define, and files it cannot read", () => {
  assert.throws(
    () => grpcBinding(labContract, { proto: LAB_PROTO, service: "flotilla.lab.v1.Nope" }),
    /define no service "flotilla.lab.v1.Nope"/,
  );
  assert.throws(
    () => grpcBinding(labContract, { proto: "/no/such/file.proto", service: SERVICE }),
    /Cannot load the .proto files/,
  );
});

Deno.test("jsonBinding() sends every action over flotilla.json.v1.Json", () => {
  const binding = jsonBinding(labContract);
  assert.equal(binding.service, "flotilla.json.v1.Json");
  assert.equal(binding.methods.get("greet")?.path, "/flotilla.json.v1.Json/Call");
  assert.equal(binding.methods.get("feed")?.path, "/flotilla.json.v1.Json/Stream");
  const codec = bindingInternals(binding).codecs.get("greet")!;
  assert.deepEqual(codec.decodeInput(codec.encodeInput({ name: "Ada" })), {
    action: "greet",
    input: { name: "Ada" },
  });
  assert.deepEqual(codec.decodeOutput(codec.encodeOutput([1, { a: null }])), [1, { a: null }]);
});
