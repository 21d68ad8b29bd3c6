import assert from "node:assert/strict";
import { FlotillaError, ManualClock, newTrace, systemClock } from "@flotilla/core";
import { httpCaller } from "@flotilla/http";
import { ManualTimers } from "@flotilla/resilience";
import { waitFor } from "@flotilla/testing";
import { TcpProxy } from "./tcp_proxy.ts";
import { deriveSeed, Prng } from "./prng.ts";
import { InstantTimers } from "./_test_util.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A real TCP echo server on a free port, counting the bytes it got. */
function echoServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const stats = { received: 0 };
  const conns = new Set<Deno.Conn>();
  const done = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      (async () => {
        const buffer = new Uint8Array(64 * 1024);
        try {
          while (true) {
            const n = await conn.read(buffer);
            if (n === null) break;
            stats.received += n;
            await conn.write(buffer.subarray(0, n));
          }
        } catch {
          // reset
        } finally {
          conns.delete(conn);
          try {
            conn.close();
          } catch {
            // closed
          }
        }
      })();
    }
  })().catch(() => {});
  return {
    port: listener.addr.port,
    stats,
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // closed
        }
      }
      await done;
    },
  };
}

async function readExactly(conn: Deno.Conn, size: number): Promise<string | null> {
  const out = new Uint8Array(size);
  let offset = 0;
  while (offset < size) {
    const n = await conn.read(out.subarray(offset));
    if (n === null) return null;
    offset += n;
  }
  return decoder.decode(out);
}

Deno.test("TcpProxy forwards both ways to a real echo server and counts bytes", async () => {
  await using echo = echoServer();
  await using proxy = TcpProxy.listen({ upstream: { port: echo.port } });
  using conn = await Deno.connect({ hostname: proxy.hostname, port: proxy.port });
  await conn.write(encoder.encode("hello"));
  assert.equal(await readExactly(conn, 5), "hello");
  const stats = proxy.stats();
  assert.equal(stats.accepted, 1);
  assert.equal(stats.upstream.bytesOut, 5);
  assert.equal(stats.downstream.bytesOut, 5);
});

Deno.test("TcpProxy latency toxic delays each chunk by latency ± jitter (seeded)", async () => {
  await using echo = echoServer();
  const timers = new InstantTimers();
  await using proxy = TcpProxy.listen({
    upstream: { port: echo.port },
    timers,
    clock: new ManualClock(0), // time stands still: each wait is the full latency
  });
  proxy.addToxic({ type: "latency", direction: "downstream", latencyMs: 200 });
  using conn = await Deno.connect({ hostname: proxy.hostname, port: proxy.port });
  await conn.write(encoder.encode("one"));
  assert.equal(await readExactly(conn, 3), "one");
  assert.deepEqual(timers.delays, [200]);
  proxy.removeToxic("latency_downstream");
  proxy.addToxic({ type: "latency", direction: "upstream", latencyMs: 100, jitterMs: 50 });
  await conn.write(encoder.encode("two"));
  assert.equal(await readExactly(conn, 3), "two");
  assert.equal(timers.delays.length, 2);
  assert.ok(timers.delays[1]! >= 50 && timers.delays[1]! <= 150, String(timers.delays[1]));
});

Deno.test("TcpProxy timeout toxic is a black hole while present; removing it lets the bytes through", async () => {
  await using echo = echoServer();
  await using proxy = TcpProxy.listen({ upstream: { port: echo.port } });
  using conn = await Deno.connect({ hostname: proxy.hostname, port: proxy.port });
  proxy.addToxic({ name: "hole", type: "timeout", direction: "upstream" });
  await conn.write(encoder.encode("ping"));
  await waitFor(() => proxy.stats().upstream.held === 4, { what: "bytes held", timeoutMs: 5_000 });
  assert.equal(echo.stats.received, 0);
  assert.equal(proxy.stats().open, 1, "the connection stays open");
  assert.equal(proxy.removeToxic("hole"), true);
  assert.equal(await readExactly(conn, 4), "ping");
});

Deno.test("TcpProxy timeout toxic with timeoutMs closes the connection once that time has passed", async () => {
  await using echo = echoServer();
  const timers = new ManualTimers();
  await using proxy = TcpProxy.listen({
    upstream: { port: echo.port },
    timers,
    clock: timers.clock,
  });
  proxy.addToxic({ type: "timeout", direction: "upstream", timeoutMs: 1_000 });
  using conn = await Deno.connect({ hostname: proxy.hostname, port: proxy.port });
  await conn.write(encoder.encode("ping"));
  await waitFor(() => proxy.stats().upstream.held === 4, { what: "bytes held", timeoutMs: 5_000 });
  timers.advance(1_000);
  const outcome = await readExactly(conn, 1).catch((error) => error);
  assert.ok(outcome === null || outcome instanceof Error, String(outcome));
  assert.equal(proxy.stats().reset, 1);
});

Deno.test("TcpProxy reset_peer toxic cuts the connection when bytes arrive", async () => {
  await using echo = echoServer();
  await using proxy = TcpProxy.listen({
    upstream: { port: echo.port },
    timers: new InstantTimers(),
  });
  proxy.addToxic({ type: "reset_peer", direction: "upstream" });
  using conn = await Deno.connect({ hostname: proxy.hostname, port: proxy.port });
  await conn.write(encoder.encode("ping"));
  const outcome = await readExactly(conn, 4).catch((error) => error);
  assert.ok(outcome === null || outcome instanceof Error, String(outcome));
  assert.equal(echo.stats.received, 0);
  assert.equal(proxy.stats().reset, 1);
});

Deno.test("TcpProxy slicer splits bytes into small writes; bandwidth paces them", async () => {
  await using echo = echoServer();
  const timers = new InstantTimers();
  await using proxy = TcpProxy.listen({
    upstream: { port: echo.port },
    timers,
    clock: new ManualClock(0),
  });
  proxy.addToxic({ type: "slicer", direction: "upstream", averageSize: 10, delayMs: 3 });
  using conn = await Deno.connect({ hostname: proxy.hostname, port: proxy.port });
  const payload = "x".repeat(100);
  await conn.write(encoder.encode(payload));
  assert.equal(await readExactly(conn, 100), payload);
  assert.equal(proxy.stats().upstream.writes, 10);
  assert.deepEqual(timers.delays, new Array(9).fill(3));

  proxy.clearToxics();
  timers.delays.length = 0;
  proxy.addToxic({ type: "bandwidth", direction: "downstream", bytesPerSecond: 1_000 });
  await conn.write(encoder.encode("y".repeat(500)));
  assert.equal(await readExactly(conn, 500), "y".repeat(500));
  // 500 bytes at 1 000 B/s: half a second of pauses, in pieces of a tenth of a second.
  assert.equal(timers.delays.reduce((sum, ms) => sum + ms, 0), 500);
});

Deno.test("TcpProxy toxicity picks the affected connections with its seeded PRNG, replayably", async () => {
  await using echo = echoServer();
  const affected = async (seed: number) => {
    const timers = new InstantTimers();
    await using proxy = TcpProxy.listen({
      upstream: { port: echo.port },
      seed,
      timers,
      clock: new ManualClock(0),
    });
    proxy.addToxic({ type: "latency", direction: "upstream", latencyMs: 10, toxicity: 0.5 });
    const hit: number[] = [];
    for (let i = 1; i <= 12; i++) {
      const before = timers.delays.length;
      using conn = await Deno.connect({ hostname: proxy.hostname, port: proxy.port });
      await conn.write(encoder.encode("hi"));
      assert.equal(await readExactly(conn, 2), "hi");
      if (timers.delays.length > before) hit.push(i);
    }
    return hit;
  };
  const first = await affected(3);
  // Connection i is affected when the first draw of its own stream is below the toxicity.
  const expected = Array.from({ length: 12 }, (_, k) => k + 1)
    .filter((i) => new Prng(deriveSeed(3, `connection-${i}`)).next() < 0.5);
  assert.deepEqual(first, expected);
  assert.ok(first.length > 0 && first.length < 12);
  assert.deepEqual(await affected(3), first);
});

Deno.test("TcpProxy in front of a real HTTP server: faults reach httpCaller as the errors real faults give", async () => {
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => Response.json({ echo: await request.json() }),
  );
  await using proxy = TcpProxy.listen({ upstream: { port: server.addr.port } });
  const client = Deno.createHttpClient({
    proxy: { transport: "tcp", hostname: "127.0.0.1", port: proxy.port },
  });
  try {
    const send = httpCaller({ fetch: (input, init) => fetch(input, { ...init, client }) });
    const base = `http://127.0.0.1:${proxy.port}`;
    const call = (signal = new AbortController().signal) =>
      send(base, {
        service: "echo",
        action: "say",
        input: { text: "hi" },
        idempotent: true,
        deadline: Date.now() + 30_000,
        trace: newTrace(),
        caller: "test",
        idempotencyKey: undefined,
        signal,
        clock: systemClock,
      });
    assert.deepEqual(await call(), { echo: { text: "hi" } });

    // The request goes out, the answer never comes back: the outcome is unknown.
    proxy.addToxic({ name: "cut", type: "reset_peer", direction: "downstream" });
    await assert.rejects(
      call(),
      (error: unknown) => error instanceof FlotillaError && error.code === "CONNECTION_FAILED",
    );
    proxy.removeToxic("cut");

    // A black hole runs the call out of time.
    proxy.addToxic({ name: "hole", type: "timeout", direction: "upstream" });
    await assert.rejects(
      call(AbortSignal.timeout(300)),
      (error: unknown) => error instanceof FlotillaError && error.code === "DEADLINE_EXCEEDED",
    );
    proxy.removeToxic("hole");
    proxy.resetAll();

    // Down: nothing listens, nothing is sent.
    await proxy.disable();
    await assert.rejects(
      call(),
      (error: unknown) => error instanceof FlotillaError && error.code === "CONNECTION_REFUSED",
    );
    proxy.enable();
    assert.deepEqual(await call(), { echo: { text: "hi" } });
  } finally {
    client.close();
  }
});

Deno.test("TcpProxy refuses bad toxics and duplicate names", async () => {
  await using proxy = TcpProxy.listen({ upstream: { port: 9 } });
  assert.throws(
    () => proxy.addToxic({ type: "bandwidth", direction: "upstream", bytesPerSecond: 0 }),
    RangeError,
  );
  assert.throws(
    () => proxy.addToxic({ type: "latency", direction: "sideways" as "upstream", latencyMs: 1 }),
    RangeError,
  );
  assert.throws(
    () => proxy.addToxic({ type: "slicer", direction: "upstream", averageSize: 0 }),
    RangeError,
  );
  proxy.addToxic({ name: "a", type: "timeout", direction: "upstream" });
  assert.throws(
    () => proxy.addToxic({ name: "a", type: "timeout", direction: "upstream" }),
    RangeError,
  );
  assert.equal(proxy.toxics().length, 1);
  assert.throws(() => TcpProxy.listen({ upstream: { port: 0 } }), RangeError);
});
