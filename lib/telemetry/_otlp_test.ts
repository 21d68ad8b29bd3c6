import assert from "node:assert/strict";
import fc from "fast-check";
import { decodePartialSuccess, parsePartialSuccess } from "./_otlp.ts";

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

/** An `ExportTraceServiceResponse` with a `partial_success`, and an unknown field around it. */
function response(rejected: number, message: string): Uint8Array {
  const text = [...new TextEncoder().encode(message)];
  const inner = [0x08, ...varint(rejected), 0x12, ...varint(text.length), ...text];
  // Field 7 (fixed32) is not in the schema: a reader must skip it.
  return new Uint8Array([0x3d, 1, 2, 3, 4, 0x0a, ...varint(inner.length), ...inner]);
}

Deno.test("decodePartialSuccess() reads any count and message, and nothing for a full success", () => {
  fc.assert(
    fc.property(fc.nat({ max: 2 ** 40 }), fc.string(), (rejected, message) => {
      const read = decodePartialSuccess(response(rejected, message));
      assert.deepEqual(read, rejected > 0 ? { rejected, message } : undefined);
    }),
  );
  assert.equal(decodePartialSuccess(new Uint8Array()), undefined);
});

Deno.test("decodePartialSuccess() never throws on random bytes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const read = decodePartialSuccess(bytes);
      assert.ok(read === undefined || (read.rejected > 0 && typeof read.message === "string"));
    }),
  );
});

Deno.test("parsePartialSuccess() reads OTLP/JSON's string or number count, and ignores the rest", () => {
  assert.deepEqual(
    parsePartialSuccess('{"partialSuccess":{"rejectedSpans":"4","errorMessage":"late"}}'),
    { rejected: 4, message: "late" },
  );
  assert.deepEqual(parsePartialSuccess('{"partialSuccess":{"rejectedSpans":1}}'), {
    rejected: 1,
    message: "",
  });
  assert.equal(parsePartialSuccess('{"partialSuccess":{}}'), undefined);
  assert.equal(parsePartialSuccess("{}"), undefined);
  assert.equal(parsePartialSuccess(""), undefined);
  assert.equal(parsePartialSuccess("null"), undefined);
});
