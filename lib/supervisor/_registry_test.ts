import assert from "node:assert/strict";
import { registrySetting } from "./_registry.ts";
import { InvalidSettingError } from "./errors.ts";

Deno.test("registrySetting() defaults to the local registry", () => {
  for (const raw of [undefined, "", "  "]) {
    assert.deepEqual(registrySetting(raw), { value: "local", type: "local" });
  }
  assert.deepEqual(registrySetting(" static "), { value: "static", type: "static" });
});

Deno.test("registrySetting() names the server a registry URL needs reaching", () => {
  assert.deepEqual(registrySetting("etcd://10.0.0.2:2379"), {
    value: "etcd://10.0.0.2:2379",
    type: "etcd",
    address: { hostname: "10.0.0.2", port: 2379 },
  });
  assert.deepEqual(registrySetting("etcd://etcd.internal").address, {
    hostname: "etcd.internal",
    port: 2379,
  });
  assert.deepEqual(registrySetting("consul://[::1]:8501"), {
    value: "consul://[::1]:8501",
    type: "consul",
    address: { hostname: "::1", port: 8501 },
  });
  assert.deepEqual(registrySetting("consul://consul").address, { hostname: "consul", port: 8500 });
  assert.deepEqual(registrySetting("dns://10.96.0.10:53?domain=svc.cluster.local"), {
    value: "dns://10.96.0.10:53?domain=svc.cluster.local",
    type: "dns",
    address: { hostname: "10.96.0.10", port: 53 },
  });
  assert.deepEqual(registrySetting("dns://[fd00::a]").address, { hostname: "fd00::a", port: 53 });
});

Deno.test("registrySetting() throws InvalidSettingError on a value that is no registry", () => {
  for (const raw of ["zookeeper://h:1", "etcd", "dns://resolver.example:53", "LOCAL"]) {
    assert.throws(() => registrySetting(raw), (error) => {
      assert.ok(error instanceof InvalidSettingError);
      assert.ok(error instanceof RangeError);
      assert.equal(error.variable, "FLOTILLA_REGISTRY");
      assert.equal(error.code, "INVALID_SETTING");
      assert.match(
        error.message,
        new RegExp(
          `^Cannot start the supervisor as FLOTILLA_REGISTRY must be local, static, etcd://host:port, dns://ip:port or consul://host:port: current value is "${
            raw.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
          }" \\(Cannot open a registry as`,
        ),
      );
      return true;
    });
  }
});
