import assert from "node:assert/strict";
import fc from "fast-check";
import {
  childTrace,
  continueTrace,
  formatTraceparent,
  newTrace,
  parseTraceparent,
} from "./trace.ts";

const hex = (length: number) =>
  fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: length, maxLength: length });

Deno.test("parseTraceparent() reads a valid header", () => {
  const parsed = parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  assert.deepEqual(parsed, {
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    parentId: "00f067aa0ba902b7",
    sampled: true,
  });
});

Deno.test("parseTraceparent() rejects malformed, zero and version-ff headers", () => {
  for (
    const header of [
      "",
      "garbage",
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
    ]
  ) {
    assert.equal(parseTraceparent(header), undefined, header);
  }
});

Deno.test("parseTraceparent() agrees with the W3C grammar as a regular expression", () => {
  const grammar = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
  const reference = (header: string) => {
    const match = grammar.exec(header.trim());
    if (!match) return undefined;
    const [, version, traceId, parentId, flags, rest] = match;
    if (version === "ff" || (version === "00" && rest !== undefined)) return undefined;
    if (/^0+$/.test(traceId!) || /^0+$/.test(parentId!)) return undefined;
    return { traceId, parentId, sampled: (parseInt(flags!, 16) & 1) === 1 };
  };
  const valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  // Mutations of valid headers of several versions, and suffixes with and without line breaks.
  const header = fc.tuple(
    fc.constantFrom("00", "01", "cc", "ff", "0g"),
    fc.nat(valid.length),
    fc.constantFrom("", "0", "A", "-", "x", " ", "f"),
    fc.constantFrom("", "-", "-x", "-\n", "-\u2028y", " ", "\t", "0"),
    fc.constantFrom("00", "01", "02", "03", "0f", "fe", "ag"),
  ).map(([version, at, swap, suffix, flags]) => {
    const base = `${version}${valid.slice(2, 53)}${flags}`;
    return `${base.slice(0, at)}${swap}${base.slice(at + swap.length)}${suffix}`;
  });
  fc.assert(
    fc.property(fc.oneof(header, fc.string()), (text) => {
      assert.deepEqual(parseTraceparent(text), reference(text), JSON.stringify(text));
    }),
    { numRuns: 5_000 },
  );
});

Deno.test("formatTraceparent() round-trips through parseTraceparent()", () => {
  fc.assert(fc.property(hex(32), hex(16), fc.boolean(), (traceId, spanId, sampled) => {
    fc.pre(/[1-9a-f]/.test(traceId) && /[1-9a-f]/.test(spanId));
    const parsed = parseTraceparent(formatTraceparent({ traceId, spanId, sampled }));
    assert.deepEqual(parsed, { traceId, parentId: spanId, sampled });
  }));
});

Deno.test("continueTrace() keeps the trace id and makes the caller's span the parent", () => {
  const root = newTrace();
  const next = continueTrace(formatTraceparent(root), "vendor=1");
  assert.equal(next.traceId, root.traceId);
  assert.equal(next.parentSpanId, root.spanId);
  assert.notEqual(next.spanId, root.spanId);
  assert.equal(next.tracestate, "vendor=1");
  const fresh = continueTrace("nonsense");
  assert.equal(fresh.parentSpanId, undefined);
  assert.match(fresh.traceId, /^[0-9a-f]{32}$/);
});

Deno.test("childTrace() opens a child span in the same trace", () => {
  const parent = newTrace(false);
  const child = childTrace(parent);
  assert.equal(child.traceId, parent.traceId);
  assert.equal(child.parentSpanId, parent.spanId);
  assert.equal(child.sampled, false);
});
