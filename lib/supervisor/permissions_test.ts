import assert from "node:assert/strict";
import type { ServiceNeeds } from "@flotilla/core";
import { permissionFlags } from "./permissions.ts";

const KERNEL =
  "FLOTILLA_HOST,FLOTILLA_DATA_DIR,FLOTILLA_LOG_LEVEL,FLOTILLA_BODY_LIMIT,FLOTILLA_DRAIN_TIMEOUT_MS";
const local = (port: number) => ({ hostname: "127.0.0.1", port });
const contract = (needs: ServiceNeeds) => ({ name: "order", needs });

Deno.test("permissionFlags() grants a bare service its own port and the kernel's variables", () => {
  assert.deepEqual(permissionFlags({ name: "order" }, { listen: local(4000) }), [
    "--no-prompt",
    "--allow-net=127.0.0.1:4000",
    `--allow-env=${KERNEL},PORT`,
  ]);
});

Deno.test("permissionFlags() grants each declared peer, its data folder and its variables", () => {
  const flags = permissionFlags(
    contract({ dataDir: true, peers: ["inventory", "payment"], env: ["ORDER_LIMIT"] }),
    {
      listen: local(4000),
      peers: { inventory: local(4001), payment: local(4002), unrelated: local(4003) },
      dataDir: "/srv/shop/.flotilla/order",
    },
  );
  assert.deepEqual(flags, [
    "--no-prompt",
    "--allow-net=127.0.0.1:4000,127.0.0.1:4001,127.0.0.1:4002",
    "--allow-read=/srv/shop/.flotilla/order",
    "--allow-write=/srv/shop/.flotilla/order",
    `--allow-env=${KERNEL},PORT,FLOTILLA_PEER_INVENTORY_URL,FLOTILLA_PEER_PAYMENT_URL,ORDER_LIMIT`,
  ]);
});

Deno.test("permissionFlags() grants the contract's own port variable", () => {
  const flags = permissionFlags(contract({ port: { env: "ORDER_PORT" } }), { listen: local(4000) });
  assert.equal(flags.at(-1), `--allow-env=${KERNEL},ORDER_PORT`);
});

Deno.test("permissionFlags() never grants all permissions nor an unscoped one", () => {
  const flags = permissionFlags(
    contract({ dataDir: true, peers: ["inventory"], env: ["X"], port: { public: true } }),
    { listen: local(8080), peers: { inventory: local(4001) }, dataDir: "/data/order" },
  );
  for (const flag of flags) {
    assert.notEqual(flag, "-A");
    assert.notEqual(flag, "--allow-all");
    if (flag.startsWith("--allow-")) assert.match(flag, /^--allow-(net|read|write|env)=.+$/);
  }
  assert.ok(!flags.some((flag) => /^--allow-(run|ffi|sys|import)/.test(flag)));
});

Deno.test("permissionFlags() grants no files to a service without a data folder", () => {
  const flags = permissionFlags(contract({}), { listen: local(4000), dataDir: "/data/order" });
  assert.ok(
    !flags.some((flag) => flag.startsWith("--allow-read") || flag.startsWith("--allow-write")),
  );
});

Deno.test("permissionFlags() brackets IPv6 addresses", () => {
  const flags = permissionFlags(contract({ peers: ["inventory"] }), {
    listen: { hostname: "::", port: 4000 },
    peers: { inventory: { hostname: "::1", port: 4001 } },
  });
  assert.equal(flags[1], "--allow-net=[::]:4000,[::1]:4001");
});

Deno.test("permissionFlags() is pure", () => {
  const options = { listen: local(4000), peers: { inventory: local(4001) } };
  const c = contract({ peers: ["inventory"] });
  assert.deepEqual(permissionFlags(c, options), permissionFlags(c, options));
  assert.deepEqual(options, { listen: local(4000), peers: { inventory: local(4001) } });
});

Deno.test("permissionFlags() throws RangeError when a declared peer has no address", () => {
  assert.throws(
    () => permissionFlags(contract({ peers: ["inventory"] }), { listen: local(4000) }),
    {
      name: "RangeError",
      message: `Cannot grant "order" access to peer "inventory" as 'peers' has no address for it`,
    },
  );
});

Deno.test("permissionFlags() throws RangeError on a missing, relative or comma'd data folder", () => {
  for (const dataDir of [undefined, "data/order", "/data/a,b"]) {
    assert.throws(
      () =>
        permissionFlags(contract({ dataDir: true }), {
          listen: local(4000),
          ...(dataDir === undefined ? {} : { dataDir }),
        }),
      {
        name: "RangeError",
        message:
          `Cannot grant "order" its data folder as 'dataDir' must be an absolute path without commas: current value is ${
            JSON.stringify(dataDir)
          }`,
      },
    );
  }
});

Deno.test("permissionFlags() throws RangeError on a bad port or host", () => {
  for (const port of [0, -1, 65536, 1.5, NaN]) {
    assert.throws(() => permissionFlags(contract({}), { listen: local(port) }), {
      name: "RangeError",
      message:
        `Cannot grant "order" network access as 'listen.port' must be an integer 1-65535: current value is ${port}`,
    });
  }
  for (const hostname of ["", "a,b", "a b", "evil/x"]) {
    assert.throws(
      () => permissionFlags(contract({}), { listen: { hostname, port: 4000 } }),
      RangeError,
    );
  }
});

Deno.test("permissionFlags() throws RangeError on a variable name that would widen --allow-env", () => {
  assert.throws(
    () => permissionFlags(contract({ env: ["A,HOME"] }), { listen: local(4000) }),
    {
      name: "RangeError",
      message:
        `Cannot grant "order" its environment as variable names must be identifiers: current value is "A,HOME"`,
    },
  );
});
