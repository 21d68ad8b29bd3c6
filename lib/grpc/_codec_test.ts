import assert from "node:assert/strict";
import protobuf from "protobufjs";
import { ValidationError } from "@flotilla/core";
import {
  decodeMessage,
  EncodeError,
  encodeMessage,
  jsonName,
  type MessagePlan,
  planOf,
  upperSnake,
} from "./_codec.ts";

const SOURCE = `
syntax = "proto3";
package t.v1;
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";
enum Color { COLOR_UNSPECIFIED = 0; COLOR_RED = 1; COLOR_DARK_BLUE = 2; }
enum Plain { ZERO = 0; ONE = 1; }
message Line { optional string sku = 1; optional int32 quantity = 2; }
message Order {
  optional string order_id = 1;
  repeated Line items = 2;
  int64 total_cents = 3;
  Color color = 4;
  Plain plain = 5;
  map<string, int32> counts = 6;
  google.protobuf.Struct data = 7;
  google.protobuf.Timestamp at = 8;
  google.protobuf.StringValue note = 9;
  repeated int32 numbers = 10;
  oneof pick { string name = 11; int32 number = 12; }
  bytes blob = 13;
  bool flag = 14;
  double ratio = 15;
  uint64 big = 16;
}
`;

function plan(name = "t.v1.Order"): MessagePlan {
  const root = new protobuf.Root();
  for (const file of ["struct", "timestamp", "wrappers"]) {
    root.loadSync(`google/protobuf/${file}.proto`, { keepCase: true });
  }
  protobuf.parse(SOURCE, root, { keepCase: true });
  root.resolveAll();
  return planOf(root.lookupType(name));
}

Deno.test("encodeMessage() and decodeMessage() round-trip JSON names, enums, maps and well-known types", () => {
  const order = plan();
  const value = {
    orderId: "o-1",
    items: [{ sku: "TEA", quantity: 2 }, { sku: "MUG" }],
    totalCents: 9_007_199_254_740_991,
    color: "DARK_BLUE",
    plain: "ONE",
    counts: { a: 1, b: 0 },
    data: { nested: { list: [1, "two", null, true] } },
    at: "2026-11-26T08:00:00.123Z",
    note: "hello",
    numbers: [1, -2, 3],
    name: "pick me",
    blob: new Uint8Array([1, 2, 3]),
    flag: true,
    ratio: 0.5,
    big: 12,
  };
  assert.deepEqual(decodeMessage(order, encodeMessage(order, value)), value);
});

Deno.test("decodeMessage() leaves out fields with presence that are not sent, and defaults the others", () => {
  const order = plan();
  assert.deepEqual(decodeMessage(order, new Uint8Array(0)), {
    items: [],
    totalCents: 0,
    plain: "ZERO",
    counts: {},
    numbers: [],
    blob: new Uint8Array(0),
    flag: false,
    ratio: 0,
    big: 0,
  });
});

Deno.test("decodeMessage() names each field sent with the wrong wire type", () => {
  const order = plan();
  const writer = protobuf.Writer.create();
  writer.uint32(1 << 3 | 0).uint32(7); // order_id as a varint
  writer.uint32(2 << 3 | 2).fork().uint32(2 << 3 | 2).string("two").ldelim(); // items[0].quantity as a string
  writer.uint32(3 << 3 | 2).string("12"); // total_cents as a string
  assert.throws(() => decodeMessage(order, writer.finish()), (error: unknown) => {
    assert.ok(error instanceof ValidationError);
    assert.equal(error.code, "INVALID_ARGUMENT");
    assert.deepEqual(error.issues, [
      { pointer: "/orderId", message: "expected a string, got a varint" },
      {
        pointer: "/items/0/quantity",
        message: "expected an integer (int32), got a length-delimited value",
      },
      {
        pointer: "/totalCents",
        message: "expected an integer (int64), got a length-delimited value",
      },
    ]);
    return true;
  });
});

Deno.test("decodeMessage() refuses bytes that are not a message as MALFORMED_MESSAGE", () => {
  assert.throws(() => decodeMessage(plan(), new Uint8Array([0x0a, 0x10, 0x41])), {
    code: "MALFORMED_MESSAGE",
    kind: "INVALID_ARGUMENT",
  });
});

Deno.test("decodeMessage() keeps the last member of a oneof and reads unknown enum numbers as numbers", () => {
  const order = plan();
  const writer = protobuf.Writer.create();
  writer.uint32(11 << 3 | 2).string("first");
  writer.uint32(12 << 3 | 0).int32(5);
  writer.uint32(4 << 3 | 0).int32(99);
  const decoded = decodeMessage(order, writer.finish()) as Record<string, unknown>;
  assert.equal(decoded.number, 5);
  assert.equal("name" in decoded, false);
  assert.equal(decoded.color, 99);
});

Deno.test("decodeMessage() reads packed and unpacked repeated numbers alike", () => {
  const order = plan();
  const writer = protobuf.Writer.create();
  writer.uint32(10 << 3 | 0).int32(1);
  writer.uint32(10 << 3 | 2).fork().int32(2).int32(3).ldelim();
  assert.deepEqual((decodeMessage(order, writer.finish()) as { numbers: number[] }).numbers, [
    1,
    2,
    3,
  ]);
});

Deno.test("encodeMessage() names the value that does not fit its field", () => {
  const order = plan();
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ orderId: 5 }, "/orderId", /expected a string, got number/],
    [{ items: [{ quantity: 1.5 }] }, "/items/0/quantity", /expected an integer \(int32\)/],
    [{ color: "GREEN" }, "/color", /expected one of RED, DARK_BLUE, got "GREEN"/],
    [{ items: "x" }, "/items", /expected a list of/],
    [{ big: -1 }, "/big", /uint64/],
    [{ at: "yesterday" }, "/at", /RFC 3339/],
    [{ data: { x: Number.NaN } }, "/data/x", /finite number/],
  ];
  for (const [value, pointer, message] of cases) {
    assert.throws(() => encodeMessage(order, value), (error: unknown) => {
      assert.ok(error instanceof EncodeError, JSON.stringify(value));
      assert.equal(error.pointer, pointer);
      assert.match(error.detail, message);
      return true;
    });
  }
});

Deno.test("encodeMessage() skips proto3 defaults of fields without presence, keeps those with presence", () => {
  const order = plan();
  assert.equal(encodeMessage(order, { totalCents: 0, flag: false, plain: "ZERO" }).length, 0);
  assert.ok(encodeMessage(order, { orderId: "" }).length > 0);
});

Deno.test("jsonName() and upperSnake() follow protoc's conventions", () => {
  assert.equal(jsonName("order_id"), "orderId");
  assert.equal(jsonName("trace_id_2"), "traceId2");
  assert.equal(jsonName("orderId"), "orderId");
  assert.equal(upperSnake("OrderStatus"), "ORDER_STATUS");
  assert.equal(upperSnake("HTTPMethod"), "HTTP_METHOD");
});
