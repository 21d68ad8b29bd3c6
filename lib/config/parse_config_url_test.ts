import assert from "node:assert/strict";
import { ConfigError } from "./errors.ts";
import { EtcdConfigSource } from "./etcd_config_source.ts";
import { FileConfigSource } from "./file_config_source.ts";
import { openConfigSource } from "./open_config_source.ts";
import { parseConfigUrl } from "./parse_config_url.ts";

Deno.test("parseConfigUrl() reads file and etcd URLs", () => {
  assert.deepEqual(parseConfigUrl(undefined), { type: "file", path: undefined });
  assert.deepEqual(parseConfigUrl(" file "), { type: "file", path: undefined });
  assert.deepEqual(parseConfigUrl("file:conf/a.json"), { type: "file", path: "conf/a.json" });
  assert.deepEqual(parseConfigUrl("file:///srv/a%20b.json"), {
    type: "file",
    path: "/srv/a b.json",
  });
  assert.deepEqual(parseConfigUrl("etcd://127.0.0.1:2379"), {
    type: "etcd",
    endpoint: "http://127.0.0.1:2379",
    prefix: undefined,
  });
  assert.deepEqual(parseConfigUrl("etcd+https://etcd.internal:2379/cfg/order/"), {
    type: "etcd",
    endpoint: "https://etcd.internal:2379",
    prefix: "/cfg/order/",
  });
});

Deno.test("parseConfigUrl() refuses unknown schemes with INVALID_CONFIG_URL, hiding passwords", () => {
  for (const bad of ["consul://x", "etcd://", "file:", "etcd://h:1/?x=1", "zk://u:secret@h"]) {
    assert.throws(
      () => parseConfigUrl(bad),
      (error: unknown) =>
        error instanceof ConfigError && error.code === "INVALID_CONFIG_URL" &&
        !error.message.includes("secret"),
      bad,
    );
  }
});

Deno.test("openConfigSource() opens the named source with the service's defaults", async () => {
  await using file = openConfigSource("file", { service: "order", defaultPath: "/tmp/x.json" });
  assert.ok(file instanceof FileConfigSource);
  assert.equal(file.name, "file:/tmp/x.json");
  await using etcd = openConfigSource("etcd://127.0.0.1:2379", { service: "order" });
  assert.ok(etcd instanceof EtcdConfigSource);
  assert.equal(etcd.name, "etcd://127.0.0.1:2379/flotilla/config/order/");
});
