import assert from "node:assert/strict";
import { KERNEL_ENV, type ServiceNeeds } from "@flotilla/core";
import { permissionFlags } from "./permissions.ts";

const KERNEL = KERNEL_ENV.join(",");
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

Deno.test("permissionFlags() grants every instance of a peer", () => {
  const flags = permissionFlags(contract({ peers: ["inventory", "payment"] }), {
    listen: local(4000),
    peers: { inventory: [local(4001)], payment: [local(4002), local(4003), local(4004)] },
  });
  assert.equal(
    flags[1],
    "--allow-net=127.0.0.1:4000,127.0.0.1:4001,127.0.0.1:4002,127.0.0.1:4003,127.0.0.1:4004",
  );
});

Deno.test("permissionFlags() throws RangeError when a peer has an empty list of instances", () => {
  assert.throws(
    () =>
      permissionFlags(contract({ peers: ["payment"] }), {
        listen: local(4000),
        peers: { payment: [] },
      }),
    {
      name: "RangeError",
      message: `Cannot grant "order" access to peer "payment" as 'peers' has no address for it`,
    },
  );
  assert.throws(
    () =>
      permissionFlags(contract({ peers: ["payment"] }), {
        listen: local(4000),
        peers: { payment: [local(4002), local(0)] },
      }),
    {
      name: "RangeError",
      message:
        `Cannot grant "order" network access as 'peers.payment[1].port' must be an integer 1-65535: current value is 0`,
    },
  );
});

Deno.test("permissionFlags() grants the local registry's folder beside the data folder", () => {
  const flags = permissionFlags(contract({ dataDir: true, peers: ["inventory"] }), {
    listen: local(4000),
    peers: { inventory: local(4001) },
    dataDir: "/srv/.flotilla/order",
    registry: { dir: "/srv/.flotilla/registry" },
  });
  assert.deepEqual(flags.slice(0, 4), [
    "--no-prompt",
    "--allow-net=127.0.0.1:4000,127.0.0.1:4001",
    "--allow-read=/srv/.flotilla/order,/srv/.flotilla/registry",
    "--allow-write=/srv/.flotilla/order,/srv/.flotilla/registry",
  ]);
});

Deno.test("permissionFlags() grants the local registry's folder to a service without a data folder", () => {
  const flags = permissionFlags(contract({}), {
    listen: local(4000),
    registry: { dir: "/srv/.flotilla/registry" },
  });
  assert.deepEqual(flags, [
    "--no-prompt",
    "--allow-net=127.0.0.1:4000",
    "--allow-read=/srv/.flotilla/registry",
    "--allow-write=/srv/.flotilla/registry",
    `--allow-env=${KERNEL},PORT`,
  ]);
});

Deno.test("permissionFlags() grants network access to an etcd or Consul server", () => {
  for (
    const address of [{ hostname: "10.0.0.7", port: 2379 }, { hostname: "consul", port: 8500 }]
  ) {
    const flags = permissionFlags(contract({ peers: ["inventory"] }), {
      listen: local(4000),
      peers: { inventory: [local(4001), local(4002)] },
      registry: { address },
    });
    assert.deepEqual(flags, [
      "--no-prompt",
      `--allow-net=127.0.0.1:4000,127.0.0.1:4001,127.0.0.1:4002,${address.hostname}:${address.port}`,
      `--allow-env=${KERNEL},PORT,FLOTILLA_PEER_INVENTORY_URL`,
    ]);
  }
});

Deno.test("permissionFlags() grants network access to a DNS name server, IPv6 in brackets", () => {
  const v4 = permissionFlags(contract({}), {
    listen: local(4000),
    registry: { address: { hostname: "10.96.0.10", port: 53 } },
  });
  assert.equal(v4[1], "--allow-net=127.0.0.1:4000,10.96.0.10:53");
  const v6 = permissionFlags(contract({}), {
    listen: local(4000),
    registry: { address: { hostname: "fd00::10", port: 5353 } },
  });
  assert.equal(v6[1], "--allow-net=127.0.0.1:4000,[fd00::10]:5353");
});

Deno.test("permissionFlags() grants nothing more for the static registry", () => {
  const c = contract({ peers: ["inventory"] });
  const options = { listen: local(4000), peers: { inventory: local(4001) } };
  assert.deepEqual(permissionFlags(c, { ...options, registry: {} }), permissionFlags(c, options));
});

Deno.test("permissionFlags() throws RangeError on a bad registry folder or address", () => {
  for (const dir of ["registry", "/srv/a,b"]) {
    assert.throws(() => permissionFlags(contract({}), { listen: local(4000), registry: { dir } }), {
      name: "RangeError",
      message:
        `Cannot grant "order" its registry's folder as 'registry.dir' must be an absolute path without commas: current value is ${
          JSON.stringify(dir)
        }`,
    });
  }
  assert.throws(
    () =>
      permissionFlags(contract({}), {
        listen: local(4000),
        registry: { address: { hostname: "etcd,evil", port: 2379 } },
      }),
    {
      name: "RangeError",
      message:
        `Cannot grant "order" network access as 'registry.address.hostname' must be a host name or IP address: current value is "etcd,evil"`,
    },
  );
});

Deno.test({
  name:
    "permissionFlags() grants what Deno.resolveDns() needs to query the DNS registry's name server",
  ignore: Deno.build.os === "windows",
  async fn() {
    const script = new URL("./testdata/resolve_dns.ts", import.meta.url).href;
    const outcome = async (flags: string[], ipAddr: string, port: number) => {
      const { stdout } = await new Deno.Command(Deno.execPath(), {
        args: ["run", ...flags, script, ipAddr, String(port)],
        stdin: "null",
        stdout: "piped",
        stderr: "null",
      }).output();
      return new TextDecoder().decode(stdout).trim();
    };
    for (const ipAddr of ["127.0.0.1", "::1"]) {
      const nameServer = { hostname: ipAddr, port: 5399 };
      const granted = permissionFlags(contract({}), {
        listen: local(4000),
        registry: { address: nameServer },
      });
      assert.notEqual(await outcome(granted, ipAddr, 5399), "NotCapable", ipAddr);
      const withoutRegistry = permissionFlags(contract({}), { listen: local(4000) });
      assert.equal(await outcome(withoutRegistry, ipAddr, 5399), "NotCapable", ipAddr);
      // The grant is exact: another port of the same host stays out of reach.
      assert.equal(await outcome(granted, ipAddr, 5398), "NotCapable", ipAddr);
    }
  },
});

Deno.test("permissionFlags() grants an event store's server and its driver's variables", () => {
  const flags = permissionFlags(contract({ dataDir: true, eventStore: true }), {
    listen: local(4000),
    dataDir: "/srv/shop/.flotilla/order",
    eventStore: { addresses: [{ hostname: "db.internal", port: 5432 }], envPrefixes: ["PG"] },
  });
  assert.deepEqual(flags, [
    "--no-prompt",
    "--allow-net=127.0.0.1:4000,db.internal:5432",
    "--allow-read=/srv/shop/.flotilla/order",
    "--allow-write=/srv/shop/.flotilla/order",
    `--allow-env=${KERNEL},PORT,FLOTILLA_EVENTSTORE,PG*`,
  ]);
  assert.throws(
    () =>
      permissionFlags(contract({ eventStore: true }), {
        listen: local(4000),
        eventStore: { envPrefixes: ["pg,HOME"] },
      }),
    RangeError,
  );
});

Deno.test("permissionFlags() grants the transport's broker, own gRPC port and the peers' gRPC ports", () => {
  const flags = permissionFlags(contract({ peers: ["payment"] }), {
    listen: local(4000),
    peers: { payment: [local(4001), local(4002)] },
    transport: {
      addresses: [{ hostname: "nats.internal", port: 4222 }],
      listen: local(5000),
      peers: { payment: [local(5001), local(5002)], unrelated: [local(5003)] },
    },
  });
  assert.equal(
    flags[1],
    "--allow-net=127.0.0.1:4000,127.0.0.1:4001,127.0.0.1:4002,127.0.0.1:5000,127.0.0.1:5001," +
      "127.0.0.1:5002,nats.internal:4222",
  );
});

Deno.test("permissionFlags() grants the transport's files read only", () => {
  const flags = permissionFlags(contract({ dataDir: true }), {
    listen: local(4000),
    dataDir: "/srv/shop/.flotilla/order",
    transport: {
      listen: local(5000),
      read: ["/srv/shop/apps/shop/proto/"],
      envPrefixes: ["GRPC_"],
    },
  });
  assert.deepEqual(flags.slice(2, 4), [
    "--allow-read=/srv/shop/.flotilla/order,/srv/shop/apps/shop/proto/",
    "--allow-write=/srv/shop/.flotilla/order",
  ]);
  assert.match(flags[4]!, /,GRPC_\*$/);
});

Deno.test("permissionFlags() grants GRPC_* once when both the transport and the OTLP/gRPC exporter read it", () => {
  const flags = permissionFlags({ name: "order" }, {
    listen: local(4000),
    transport: { listen: local(5000), envPrefixes: ["GRPC_"] },
    telemetry: { addresses: [local(4317)], env: ["OTEL_SERVICE_NAME"], envPrefixes: ["GRPC_"] },
  });
  const env = flags.find((f) => f.startsWith("--allow-env="))!;
  assert.equal(env.split(",").filter((v) => v === "GRPC_*").length, 1);
  assert.match(env, /,OTEL_SERVICE_NAME,GRPC_\*$/);
});

Deno.test("permissionFlags() grants the telemetry collector's address and the OTEL_* variables", () => {
  const flags = permissionFlags({ name: "order" }, {
    listen: local(4000),
    telemetry: { addresses: [local(4318)], env: ["OTEL_SERVICE_NAME", "PORT"] },
  });
  assert.deepEqual(flags, [
    "--no-prompt",
    "--allow-net=127.0.0.1:4000,127.0.0.1:4318",
    `--allow-env=${KERNEL},PORT,OTEL_SERVICE_NAME`,
  ]);
});

Deno.test("permissionFlags() grants read only of the configuration's folder, or etcd's address", () => {
  const file = permissionFlags({ name: "order" }, {
    listen: local(4000),
    config: { dir: "/srv/shop/.flotilla/config" },
  });
  assert.deepEqual(file, [
    "--no-prompt",
    "--allow-net=127.0.0.1:4000",
    "--allow-read=/srv/shop/.flotilla/config",
    `--allow-env=${KERNEL},PORT`,
  ]);
  const etcd = permissionFlags({ name: "order" }, {
    listen: local(4000),
    config: { address: { hostname: "10.0.0.9", port: 2379 } },
  });
  assert.equal(etcd[1], "--allow-net=127.0.0.1:4000,10.0.0.9:2379");
  assert.throws(
    () => permissionFlags({ name: "order" }, { listen: local(4000), config: { dir: "rel" } }),
    /config\.dir/,
  );
});
