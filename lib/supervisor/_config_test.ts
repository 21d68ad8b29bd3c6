import assert from "node:assert/strict";
import { configSetting } from "./_config.ts";
import { InvalidSettingError } from "./errors.ts";

Deno.test("configSetting() gives each service its own file under <dataRoot>/config by default", () => {
  for (const raw of [undefined, "", "file"]) {
    const setting = configSetting(raw, "/srv/.flotilla");
    assert.equal(setting.type, "file");
    assert.equal(setting.valueFor("order"), "file:/srv/.flotilla/config/order.json");
    assert.deepEqual(setting.access, { dir: "/srv/.flotilla/config" });
  }
});

Deno.test("configSetting() shares one named file, or passes etcd through with its address", () => {
  const file = configSetting("file:/etc/shop/config.json", "/srv/.flotilla");
  assert.equal(file.valueFor("order"), "file:/etc/shop/config.json");
  assert.deepEqual(file.access, { dir: "/etc/shop" });
  const etcd = configSetting("etcd://10.0.0.9:2379", "/srv/.flotilla");
  assert.equal(etcd.type, "etcd");
  assert.equal(etcd.valueFor("order"), "etcd://10.0.0.9:2379");
  assert.deepEqual(etcd.access, { address: { hostname: "10.0.0.9", port: 2379 } });
});

Deno.test("configSetting() refuses what FLOTILLA_CONFIG cannot be", () => {
  assert.throws(() => configSetting("consul://x:1", "/srv"), InvalidSettingError);
});
