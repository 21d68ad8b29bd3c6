import assert from "node:assert/strict";
import { formatTraceparent } from "@flotilla/core";
import { headers, MsgHdrsImpl } from "@nats-io/transport-node";
import fc from "fast-check";
import {
  parseHeaderBlock,
  readHeaderBlock,
  readRequestHeaders,
  replyToken,
  Slab,
  WireHeaders,
} from "./_wire.ts";

const decoder = new TextDecoder();

Deno.test("Slab.encode() gives each string bytes of its own, across slabs", () => {
  const slab = new Slab();
  const first = slab.encode("héllo");
  const ascii = slab.encode('{"input":{"n":1}}');
  const mixed = slab.encode("abc→😀");
  const big = slab.encode("x".repeat(70_000));
  const last = slab.encode("{}");
  assert.equal(decoder.decode(first), "héllo");
  assert.equal(decoder.decode(ascii), '{"input":{"n":1}}');
  assert.equal(decoder.decode(mixed), "abc→😀");
  assert.equal(big.length, 70_000);
  assert.equal(decoder.decode(last), "{}");
});

Deno.test("WireHeaders writes what MsgHdrs would, and reads back", () => {
  const trace = {
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: "00f067aa0ba902b7",
    sampled: true,
  };
  const slab = new Slab();
  const plain = new WireHeaders(slab, {
    trace,
    timeout: "250",
    caller: "order",
    idempotencyKey: undefined,
  });
  const generic = headers();
  generic.set("traceparent", formatTraceparent(trace));
  generic.set("flotilla-timeout-ms", "250");
  generic.set("flotilla-caller", "ordér");
  const full = new WireHeaders(slab, {
    trace: { ...trace, sampled: false, tracestate: "vendor=1" },
    timeout: "250",
    caller: "ordér",
    idempotencyKey: "k-1",
  });
  assert.equal(
    decoder.decode(plain.encode()),
    (generic as MsgHdrsImpl).toString().replace("ordér", "order"),
  );
  assert.equal(plain.get("flotilla-caller"), "order");
  const decoded = MsgHdrsImpl.decode(full.encode());
  assert.equal(decoded.get("traceparent"), formatTraceparent({ ...trace, sampled: false }));
  assert.equal(decoded.get("flotilla-caller"), "ordér");
  assert.equal(decoded.get("tracestate"), "vendor=1");
  assert.equal(decoded.get("idempotency-key"), "k-1");
  assert.equal(full.get("idempotency-key"), "k-1");
});

Deno.test("parseHeaderBlock() reads keys in any case, first value first, and ignores the rest", () => {
  const block =
    "NATS/1.0\r\nTraceparent: 00-ab-cd-01\r\nX-Other: 1\r\nflotilla-timeout-ms:  250 \r\n" +
    "flotilla-timeout-ms: 999\r\nbroken line\r\nIdempotency-Key: k-1\r\n\r\n";
  assert.deepEqual(parseHeaderBlock(block), {
    traceparent: "00-ab-cd-01",
    tracestate: "",
    timeout: "250",
    caller: "",
    idempotencyKey: "k-1",
  });
  assert.equal(parseHeaderBlock("NATS/1.0 503\r\n\r\n").timeout, "");
});

Deno.test("readHeaderBlock() reads what parseHeaderBlock() reads, in Flotilla's layout or not", () => {
  const slab = new Slab();
  const value = fc.string({
    unit: fc.constantFrom("a", "é", " ", "-", ":", "\t", "0"),
    maxLength: 6,
  });
  const own = fc.record({
    traceId: fc.constantFrom("4bf92f3577b34da6a3ce929d0e0e4736", "x"),
    timeout: value,
    caller: value,
    tracestate: fc.option(value, { nil: undefined }),
    idempotencyKey: fc.option(value, { nil: undefined }),
    sampled: fc.boolean(),
  }).map((m) =>
    decoder.decode(
      new WireHeaders(slab, {
        trace: {
          traceId: m.traceId,
          spanId: "00f067aa0ba902b7",
          sampled: m.sampled,
          ...(m.tracestate === undefined ? {} : { tracestate: m.tracestate }),
        },
        timeout: m.timeout,
        caller: m.caller,
        idempotencyKey: m.idempotencyKey,
      }).encode(),
    )
  );
  // Blocks in other layouts: lines of Flotilla's keys (and others) in any order, case, repeats.
  const key = fc.constantFrom(
    "traceparent",
    "tracestate",
    "flotilla-timeout-ms",
    "flotilla-caller",
    "idempotency-key",
    "Flotilla-Caller",
    "x-other",
  );
  const other = fc.array(fc.tuple(key, value), { maxLength: 6 }).map((lines) =>
    `NATS/1.0\r\n${lines.map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`
  );
  fc.assert(
    fc.property(fc.oneof(own, other), (block) => {
      assert.deepEqual(readHeaderBlock(block), parseHeaderBlock(block), JSON.stringify(block));
    }),
    { numRuns: 2_000 },
  );
});

Deno.test("readRequestHeaders() falls back to the public headers of a message", () => {
  const h = headers();
  h.set("flotilla-caller", "order");
  assert.equal(readRequestHeaders({ headers: h }).caller, "order");
  assert.equal(readRequestHeaders({}).traceparent, "");
});

Deno.test("replyToken() reads the base-36 id after the inbox, from bytes or the subject", () => {
  const inbox = "_INBOX.abc.";
  const encoder = new TextEncoder();
  for (const id of [0, 35, 36, 123_456_789]) {
    const subject = inbox + id.toString(36);
    assert.equal(replyToken({ subject }, inbox.length), id);
    assert.equal(
      replyToken({ subject, _msg: { subject: encoder.encode(subject) } } as never, inbox.length),
      id,
    );
  }
  assert.ok(Number.isNaN(replyToken({ subject: inbox + "X1" }, inbox.length)));
  assert.ok(Number.isNaN(replyToken({ subject: inbox }, inbox.length)));
});
