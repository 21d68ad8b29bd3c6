import assert from "node:assert/strict";
import { busSetting } from "./_bus.ts";
import { InvalidSettingError } from "./errors.ts";
import { permissionFlags } from "./permissions.ts";
import { usesBus } from "./plan.ts";

Deno.test("busSetting() defaults to the embedded SQLite bus", () => {
  assert.deepEqual(busSetting(undefined), { value: "sqlite", type: "sqlite", addresses: [] });
  assert.deepEqual(busSetting(" "), { value: "sqlite", type: "sqlite", addresses: [] });
});

Deno.test("busSetting() reads the brokers' addresses", () => {
  assert.deepEqual(busSetting("redis://127.0.0.1:6380").addresses, [{
    hostname: "127.0.0.1",
    port: 6380,
  }]);
  assert.deepEqual(busSetting("redis://10.0.0.5").addresses, [{
    hostname: "10.0.0.5",
    port: 6379,
  }]);
  assert.deepEqual(busSetting("nats://127.0.0.1:4223,127.0.0.1").addresses, [
    { hostname: "127.0.0.1", port: 4223 },
    { hostname: "127.0.0.1", port: 4222 },
  ]);
});

Deno.test("busSetting() refuses buses the processes cannot share, and nonsense", () => {
  for (const value of ["memory", "sqlite:/tmp/x.db", "kafka://x", "::"]) {
    assert.throws(() => busSetting(value), InvalidSettingError, value);
  }
});

Deno.test("permissionFlags() grants the bus's folder or brokers", () => {
  const contract = { name: "order", needs: { dataDir: true } };
  const withDir = permissionFlags(contract, {
    listen: { hostname: "127.0.0.1", port: 7000 },
    dataDir: "/data/order",
    bus: { dir: "/data/bus" },
  });
  assert.ok(withDir.includes("--allow-read=/data/order,/data/bus"));
  assert.ok(withDir.includes("--allow-write=/data/order,/data/bus"));
  const withBroker = permissionFlags(contract, {
    listen: { hostname: "127.0.0.1", port: 7000 },
    dataDir: "/data/order",
    bus: { addresses: [{ hostname: "127.0.0.1", port: 4222 }] },
  });
  assert.ok(withBroker.includes("--allow-net=127.0.0.1:7000,127.0.0.1:4222"));
});

Deno.test("usesBus() is true only for services with events", () => {
  assert.equal(usesBus({ name: "gateway" }), false);
  assert.equal(usesBus({ name: "order", events: { emits: { "order.created": {} } } }), true);
  assert.equal(usesBus({ name: "read", events: { handles: { "order.created": {} } } }), true);
  assert.equal(usesBus({ name: "x", events: { emits: {} } }), false);
});
