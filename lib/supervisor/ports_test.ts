import assert from "node:assert/strict";
import type { ServiceNeeds } from "@flotilla/core";
import { assignPorts, freePort, isPortFree } from "./ports.ts";

const gateway = { name: "gateway", needs: { port: { default: 8080, public: true } } };
const service = (name: string, needs: ServiceNeeds = {}) => ({ name, needs });

function counter(start: number) {
  let next = start;
  return () => next++;
}

Deno.test("assignPorts() gives the public service its default and the others free ports", async () => {
  const ports = await assignPorts([gateway, service("order"), service("inventory")], {
    pickPort: counter(40000),
    isFree: () => true,
  });
  assert.deepEqual([...ports], [["gateway", 8080], ["order", 40000], ["inventory", 40001]]);
});

Deno.test("assignPorts() reads the public service's port variable from env", async () => {
  const ports = await assignPorts([gateway], {
    env: { PORT: "3000" },
    pickPort: counter(1),
    isFree: () => true,
  });
  assert.equal(ports.get("gateway"), 3000);
  const custom = { name: "web", needs: { port: { env: "WEB_PORT", default: 80, public: true } } };
  const other = await assignPorts([custom], {
    env: { PORT: "3000", WEB_PORT: "3001" },
    isFree: () => true,
  });
  assert.equal(other.get("web"), 3001);
});

Deno.test("assignPorts() ignores the default port of a service that is not public", async () => {
  const ports = await assignPorts([service("order", { port: { default: 9000 } })], {
    pickPort: counter(40000),
  });
  assert.equal(ports.get("order"), 40000);
});

Deno.test("assignPorts() picks a free port for a public service whose port is 0", async () => {
  const ports = await assignPorts([gateway], { env: { PORT: "0" }, pickPort: counter(40000) });
  assert.equal(ports.get("gateway"), 40000);
});

Deno.test("assignPorts() never hands out the same port twice", async () => {
  const picks = [8080, 40000, 40000, 40001];
  const ports = await assignPorts([gateway, service("a"), service("b")], {
    pickPort: () => picks.shift()!,
    isFree: () => true,
  });
  assert.deepEqual([...ports.values()], [8080, 40000, 40001]);
});

Deno.test("assignPorts() passes the hostname to pickPort", async () => {
  const seen: string[] = [];
  await assignPorts([service("a")], {
    hostname: "::1",
    pickPort: (hostname) => (seen.push(hostname), 40000),
  });
  assert.deepEqual(seen, ["::1"]);
});

Deno.test("assignPorts() throws RangeError on a bad port variable", async () => {
  for (const value of ["http", "-1", "70000", "80.5"]) {
    await assert.rejects(() => assignPorts([gateway], { env: { PORT: value } }), {
      name: "RangeError",
      message:
        `Cannot assign the port of "gateway" as PORT must be an integer 0-65535: current value is "${value}"`,
    });
  }
});

Deno.test("assignPorts() throws RangeError when two public services want one port", async () => {
  const web = { name: "web", needs: { port: { default: 8080, public: true } } };
  await assert.rejects(() => assignPorts([gateway, web], { isFree: () => true }), {
    name: "RangeError",
    message: 'Cannot assign port 8080 to "web" as "gateway" already has it',
  });
});

Deno.test("assignPorts() throws RangeError when no distinct free port is found", async () => {
  await assert.rejects(
    () => assignPorts([gateway, service("a")], { pickPort: () => 8080, isFree: () => true }),
    RangeError,
  );
});

Deno.test("freePort() returns a port that can be listened on", () => {
  const port = freePort("127.0.0.1");
  assert.ok(port > 0 && port < 65536);
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  listener.close();
});

/** A listener on a port {@link freePort} drew (drawn again if another process took it first). */
function listenOnDrawnPort(): Deno.TcpListener {
  while (true) {
    try {
      return Deno.listen({ hostname: "127.0.0.1", port: freePort("127.0.0.1") });
    } catch (error) {
      if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    }
  }
}

function ephemeralRangeStart(): number {
  return Number(
    Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").trim().split(/\s+/)[0],
  );
}

Deno.test("freePort() draws below the ephemeral range on Linux, where no outgoing connection takes it", () => {
  const ephemeralLow = ephemeralRangeStart();
  for (let i = 0; i < 20; i++) {
    const port = freePort("127.0.0.1");
    assert.ok(port >= 10_000 && port < ephemeralLow, `${port} outside 10000-${ephemeralLow - 1}`);
  }
});

Deno.test("freePort() skips a drawn port that is in use", () => {
  const ephemeralLow = ephemeralRangeStart();
  const span = ephemeralLow - 10_000;
  using listener = listenOnDrawnPort();
  const busy = listener.addr.port;
  const draws: number[] = [];
  const port = freePort("127.0.0.1", () => {
    // The first draw lands on the busy port, the next ones anywhere.
    const r = draws.length === 0 ? (busy - 10_000 + 0.5) / span : Math.random();
    draws.push(10_000 + Math.floor(r * span));
    return r;
  });
  assert.equal(draws[0], busy);
  assert.notEqual(port, busy);
  assert.equal(port, draws.at(-1));
});

Deno.test("assignPorts() throws RangeError when the public port is in use", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  await assert.rejects(() => assignPorts([gateway], { env: { PORT: String(port) } }), {
    name: "RangeError",
    message:
      `Cannot assign port ${port} to "gateway" as it is in use on 127.0.0.1: stop what uses it, or set PORT to another port`,
  });
});

Deno.test("isPortFree() tells a port in use from a free one", () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  assert.equal(isPortFree("127.0.0.1", port), false);
  listener.close();
  assert.equal(isPortFree("127.0.0.1", port), true);
});
