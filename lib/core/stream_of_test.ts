import assert from "node:assert/strict";
import { z } from "zod";
import { validate } from "@flotilla/core";
import { isAsyncIterable, streamItemOf, streamOf } from "./stream_of.ts";

const Tick = z.object({ n: z.number().int() });

Deno.test("streamOf() accepts an async iterable and validates each item as it passes", async () => {
  const schema = streamOf(Tick);
  assert.equal(streamItemOf(schema), Tick);
  assert.equal(streamItemOf(Tick), undefined);
  async function* good() {
    yield { n: 1, extra: true };
    yield { n: 2 };
  }
  const result = await validate(schema, good());
  assert.ok(!result.issues);
  const items = [];
  for await (const item of result.value) items.push(item);
  assert.deepEqual(items, [{ n: 1 }, { n: 2 }]);

  async function* bad() {
    yield { n: 1 };
    yield { n: "two" };
  }
  const checked = await validate(schema, bad());
  assert.ok(!checked.issues);
  const seen: unknown[] = [];
  await assert.rejects(
    (async () => {
      for await (const item of checked.value) seen.push(item);
    })(),
    { code: "INVALID_STREAM_ITEM", kind: "INTERNAL" },
  );
  assert.deepEqual(seen, [{ n: 1 }]);
});

Deno.test("streamOf() refuses a value that is not an async iterable", async () => {
  const result = await validate(streamOf(Tick), [{ n: 1 }]);
  assert.deepEqual(result.issues?.map((issue) => issue.message), [
    "expected a stream (an async iterable)",
  ]);
  assert.equal(isAsyncIterable((async function* () {})()), true);
  assert.equal(isAsyncIterable({}), false);
});
