import assert from "node:assert/strict";
import fc from "fast-check";
import { Http1Agent, Http1Error, type Http1Socket, type Http1Target } from "./http1_agent.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const text = (bytes: Uint8Array) => decoder.decode(bytes);

/** A real `Deno.serve` on a free port, closed by `using`. */
function serve(handler: (request: Request) => Response | Promise<Response>) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  const target: Http1Target = { hostname: "127.0.0.1", port: server.addr.port };
  return { target, [Symbol.asyncDispose]: () => server.shutdown() };
}

/**
 * A raw TCP server that answers each request with the bytes `answer` gives
 * (closing the connection after them with `{ close }`, or at once on
 * `null`): for answers `Deno.serve` never sends.
 */
function scripted(
  answer: (request: string, connection: number, nth: number) => string | { close: string } | null,
) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  let connections = 0;
  const requests: string[] = [];
  const loop = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      const index = connections++;
      (async () => {
        const buffer = new Uint8Array(64 * 1024);
        let pending = "";
        let nth = 0;
        try {
          for (;;) {
            const read = await conn.read(buffer);
            if (read === null) break;
            pending += text(buffer.subarray(0, read));
            for (;;) {
              const headEnd = pending.indexOf("\r\n\r\n");
              if (headEnd < 0) break;
              const length = Number(/content-length: (\d+)/i.exec(pending)?.[1] ?? 0);
              if (pending.length < headEnd + 4 + length) break;
              const request = pending.slice(0, headEnd + 4 + length);
              pending = pending.slice(request.length);
              requests.push(request);
              const reply = answer(request, index, nth++);
              if (reply !== null) {
                await conn.write(encoder.encode(typeof reply === "string" ? reply : reply.close));
              }
              if (typeof reply !== "string") {
                conns.delete(conn);
                conn.close();
                return;
              }
            }
          }
        } catch {
          // The test closed it.
        }
        conns.delete(conn);
        try {
          conn.close();
        } catch {
          // Closed already.
        }
      })();
    }
  })();
  const port = (listener.addr as Deno.NetAddr).port;
  return {
    target: { hostname: "127.0.0.1", port } as Http1Target,
    requests,
    get connections() {
      return connections;
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const conn of conns) conn.close();
      await loop.catch(() => {});
    },
  };
}

/** Waits (a bounded number of turns, not a time) until `condition` holds. */
async function until(condition: () => boolean): Promise<void> {
  for (let turn = 0; turn < 500 && !condition(); turn++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.ok(condition(), "condition never held");
}

const ok = (body: string, extra = "") =>
  `HTTP/1.1 200 OK\r\ncontent-length: ${encoder.encode(body).length}\r\n${extra}\r\n${body}`;

Deno.test("Http1Agent talks to Deno.serve: a POST and its JSON answer, headers both ways", async () => {
  await using server = serve(async (request) =>
    Response.json({
      method: request.method,
      path: new URL(request.url).pathname,
      host: request.headers.get("host"),
      caller: request.headers.get("flotilla-caller"),
      body: await request.json(),
    }, { headers: { "x-answer": "yes" } })
  );
  await using agent = new Http1Agent();
  const response = await agent.request(server.target, {
    method: "POST",
    path: "/rpc/echo",
    headers: { "content-type": "application/json", "flotilla-caller": "tester" },
    body: JSON.stringify({ text: "héllo ✓" }),
  });
  assert.equal(response.status, 200);
  assert.equal(response.header("X-Answer"), "yes");
  assert.equal(response.header("content-type"), "application/json");
  assert.deepEqual(JSON.parse(text(response.body)), {
    method: "POST",
    path: "/rpc/echo",
    host: `127.0.0.1:${server.target.port}`,
    caller: "tester",
    body: { text: "héllo ✓" },
  });
});

Deno.test("Http1Agent keeps connections: one for calls in sequence, one per call in flight", async () => {
  await using server = serve(async (request) => new Response(await request.text()));
  await using agent = new Http1Agent();
  for (let i = 0; i < 5; i++) {
    const { body } = await agent.request(server.target, {
      method: "POST",
      path: "/",
      body: `n${i}`,
    });
    assert.equal(text(body), `n${i}`);
  }
  assert.equal(agent.connections, 1);
  const answers = await Promise.all(
    Array.from(
      { length: 8 },
      (_, i) =>
        agent.request(server.target, { method: "POST", path: "/", body: "x".repeat(i * 1000) }),
    ),
  );
  assert.deepEqual(
    answers.map((a) => a.body.length),
    Array.from({ length: 8 }, (_, i) => i * 1000),
  );
  assert.ok(agent.connections >= 1 && agent.connections <= 8);
});

Deno.test("Http1Agent reads chunked answers, large bodies, 204 and error statuses from Deno.serve", async () => {
  const big = "y".repeat(300_000);
  await using server = serve((request) => {
    const path = new URL(request.url).pathname;
    if (path === "/stream") {
      const parts = ["first,", "second,", "third"];
      return new Response(
        new ReadableStream({
          pull(controller) {
            const part = parts.shift();
            if (part === undefined) controller.close();
            else controller.enqueue(encoder.encode(part));
          },
        }),
      );
    }
    if (path === "/big") return new Response(big);
    if (path === "/empty") return new Response(null, { status: 204 });
    return Response.json({ title: "not here" }, { status: 404 });
  });
  await using agent = new Http1Agent();
  const get = (path: string) => agent.request(server.target, { method: "GET", path });
  const streamed = await get("/stream");
  assert.equal(streamed.header("transfer-encoding"), "chunked");
  assert.equal(text(streamed.body), "first,second,third");
  assert.equal(text((await get("/big")).body), big);
  const empty = await get("/empty");
  assert.equal(empty.status, 204);
  assert.equal(empty.body.length, 0);
  const missing = await get("/missing");
  assert.equal(missing.status, 404);
  assert.deepEqual(JSON.parse(text(missing.body)), { title: "not here" });
  // Every answer was delimited, so one connection served them all.
  assert.equal(agent.connections, 1);
});

Deno.test("Http1Agent: interim answers, chunk extensions and trailers, close-delimited bodies", async () => {
  await using server = scripted((request) => {
    if (request.startsWith("GET /interim ")) {
      return "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n" +
        ok("final");
    }
    if (request.startsWith("GET /chunks ")) {
      return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nx-checksum: 1\r\n\r\n";
    }
    if (request.startsWith("GET /close ")) {
      return { close: "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + "until the end" };
    }
    if (request.startsWith("GET /old ")) return ok("from 1.0").replace("HTTP/1.1", "HTTP/1.0");
    return ok("other");
  });
  await using agent = new Http1Agent();
  const get = (path: string) => agent.request(server.target, { method: "GET", path });
  assert.equal(text((await get("/interim")).body), "final");
  assert.equal(text((await get("/chunks")).body), "hello world");
  assert.equal(server.connections, 1);
  // No length: the body runs to the close, and the connection is not kept.
  const closed = await get("/close");
  assert.equal(text(closed.body), "until the end");
  assert.equal(agent.connections, 0);
  // HTTP/1.0 without keep-alive: the connection is not kept either.
  assert.equal(text((await get("/old")).body), "from 1.0");
  assert.equal(agent.connections, 0);
  assert.equal(text((await get("/again")).body), "other");
  // The first connection served /interim, /chunks and /close; then one each.
  assert.equal(server.connections, 3);
});

Deno.test("Http1Agent refuses answers that are not HTTP/1.1 with PROTOCOL, and drops the connection", async () => {
  const cases: Record<string, string> = {
    "/garbage": "SSH-2.0-OpenSSH_9.2\r\n\r\n",
    "/extra": ok("two") + "surplus",
    "/length": "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nabc",
    "/chunk": "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
    "/coding": "HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\nabc",
  };
  await using server = scripted((request) => cases[request.split(" ")[1]!]!);
  await using agent = new Http1Agent();
  for (const path of Object.keys(cases)) {
    await assert.rejects(
      agent.request(server.target, { method: "GET", path }),
      (error) => error instanceof Http1Error && error.code === "PROTOCOL",
      path,
    );
    assert.equal(agent.connections, 0, path);
  }
});

Deno.test("Http1Agent refuses a head or a body beyond its limits", async () => {
  await using server = scripted((request) =>
    request.startsWith("GET /head ")
      ? `HTTP/1.1 200 OK\r\nx-long: ${"h".repeat(5000)}\r\ncontent-length: 0\r\n\r\n`
      : ok("b".repeat(5000))
  );
  await using agent = new Http1Agent({ maxHeadBytes: 1024, maxBodyBytes: 1024 });
  for (const path of ["/head", "/body"]) {
    await assert.rejects(
      agent.request(server.target, { method: "GET", path }),
      (error) => error instanceof Http1Error && error.code === "PROTOCOL",
    );
  }
});

Deno.test("Http1Agent: a kept connection closed before any byte of the answer is replayed only when allowed", async () => {
  // Each connection answers its first request and closes on the second without answering.
  await using closer = scripted((_request, _connection, nth) => nth === 0 ? ok("first") : null);
  await using agent = new Http1Agent();
  assert.equal(
    text((await agent.request(closer.target, { method: "GET", path: "/" })).body),
    "first",
  );
  assert.equal(agent.connections, 1);
  // Not replayable: the caller hears CONNECTION_LOST (the server may have acted)...
  await assert.rejects(
    agent.request(closer.target, { method: "POST", path: "/", body: "{}" }),
    (error) => error instanceof Http1Error && error.code === "CONNECTION_LOST",
  );
  // ...replayable: it is sent again once on a fresh connection, which answers.
  assert.equal(
    text((await agent.request(closer.target, { method: "GET", path: "/" })).body),
    "first",
  );
  const replayed = await agent.request(closer.target, {
    method: "POST",
    path: "/",
    body: "{}",
    replayable: true,
  });
  assert.equal(text(replayed.body), "first");
  // Two requests on each of the first two connections, the replay on a third.
  assert.equal(closer.requests.length, 5);
  assert.equal(closer.connections, 3);
});

Deno.test("Http1Agent notices a server closing an idle connection before the next call", async () => {
  const server = scripted(() => ok("fine"));
  const agent = new Http1Agent();
  try {
    await agent.request(server.target, { method: "GET", path: "/" });
    assert.equal(agent.connections, 1);
    await server[Symbol.asyncDispose]();
    await until(() => agent.connections === 0);
    await assert.rejects(
      agent.request(server.target, { method: "GET", path: "/" }),
      (error) => error instanceof Http1Error && error.code === "CONNECT",
    );
  } finally {
    agent.close();
  }
});

Deno.test("Http1Agent: a refused connection is CONNECT, nothing sent", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await using agent = new Http1Agent();
  await assert.rejects(
    agent.request({ hostname: "127.0.0.1", port }, { method: "GET", path: "/" }),
    (error) => error instanceof Http1Error && error.code === "CONNECT",
  );
});

Deno.test("Http1Agent: aborting a call closes its connection and rejects with ABORTED", async () => {
  await using server = scripted(() => "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial");
  await using agent = new Http1Agent();
  const controller = new AbortController();
  const call = agent.request(server.target, {
    method: "GET",
    path: "/",
    signal: controller.signal,
  });
  await until(() => server.requests.length === 1);
  controller.abort(new Error("caller gave up"));
  await assert.rejects(call, (error) => error instanceof Http1Error && error.code === "ABORTED");
  assert.equal(agent.connections, 0);
  // An already aborted signal sends nothing.
  await assert.rejects(
    agent.request(server.target, { method: "GET", path: "/", signal: controller.signal }),
    (error) => error instanceof Http1Error && error.code === "ABORTED",
  );
  assert.equal(server.requests.length, 1);
});

Deno.test("Http1Agent refuses to send a header that would break the request, before connecting", async () => {
  await using server = scripted(() => ok("never"));
  await using agent = new Http1Agent();
  const bad = [
    { headers: { "idempotency-key": "a\r\nx-injected: 1" } },
    { headers: { "bad name": "v" } },
    { headers: { "x-unicode": "ünïcode" } },
    { headers: { "Content-Length": "0" } },
    { headers: { host: "elsewhere" } },
    { path: "/a b" },
    { method: "GET /x" },
  ];
  for (const change of bad) {
    await assert.rejects(
      agent.request(server.target, { method: "GET", path: "/", ...change }),
      (error) => error instanceof Http1Error && error.code === "INVALID_REQUEST",
      JSON.stringify(change),
    );
  }
  assert.equal(server.connections, 0);
});

Deno.test("Http1Agent.close() fails calls in flight with CLOSED and refuses new ones", async () => {
  await using server = scripted(() => "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc");
  const agent = new Http1Agent();
  const call = agent.request(server.target, { method: "GET", path: "/" });
  await until(() => server.requests.length === 1);
  agent.close();
  await assert.rejects(call, (error) => error instanceof Http1Error && error.code === "CLOSED");
  await assert.rejects(
    agent.request(server.target, { method: "GET", path: "/" }),
    (error) => error instanceof Http1Error && error.code === "CLOSED",
  );
  assert.equal(agent.connections, 0);
});

Deno.test("Http1Agent closes connections left idle past idleTimeoutMs", async () => {
  await using server = scripted(() => ok("fine"));
  await using agent = new Http1Agent({ idleTimeoutMs: 20 });
  await Promise.all(
    [1, 2, 3].map(() => agent.request(server.target, { method: "GET", path: "/" })),
  );
  assert.ok(agent.connections >= 1);
  await until(() => agent.connections === 0);
});

/**
 * An in-memory socket: once the request is written, reads hand out the
 * scripted pieces in order, then the end of the stream.
 */
class ScriptedSocket implements Http1Socket {
  readonly #pieces: Uint8Array[];
  readonly #written = Promise.withResolvers<void>();
  #closed = false;
  constructor(pieces: Uint8Array[]) {
    this.#pieces = pieces.filter((piece) => piece.length > 0);
  }
  async read(buffer: Uint8Array): Promise<number | null> {
    await this.#written.promise;
    if (this.#closed) throw new Deno.errors.BadResource("closed");
    const piece = this.#pieces.shift();
    if (!piece) return null;
    const taken = Math.min(piece.length, buffer.length);
    buffer.set(piece.subarray(0, taken));
    if (taken < piece.length) this.#pieces.unshift(piece.subarray(taken));
    return taken;
  }
  write(bytes: Uint8Array): Promise<number> {
    this.#written.resolve();
    return Promise.resolve(bytes.length);
  }
  close(): void {
    this.#closed = true;
    this.#written.resolve();
  }
}

function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const point of points) {
    pieces.push(bytes.subarray(from, point));
    from = point;
  }
  pieces.push(bytes.subarray(from));
  return pieces;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const whole = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    whole.set(part, at);
    at += part.length;
  }
  return whole;
}

Deno.test("Http1Agent property: any framing, cut anywhere, gives back the body", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 3000 }),
      fc.constantFrom("length", "chunked", "close"),
      fc.array(fc.integer({ min: 1, max: 700 }), { maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      async (body, framing, chunkSizes, cuts) => {
        let answer: Uint8Array;
        if (framing === "length") {
          answer = concat([
            encoder.encode(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`),
            body,
          ]);
        } else if (framing === "close") {
          answer = concat([encoder.encode("HTTP/1.1 200 OK\r\n\r\n"), body]);
        } else {
          const parts = [encoder.encode("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")];
          let at = 0;
          for (let i = 0; at < body.length; i++) {
            const size = Math.min(
              chunkSizes[i % Math.max(1, chunkSizes.length)] ?? 100,
              body.length - at,
            );
            parts.push(
              encoder.encode(`${size.toString(16)}\r\n`),
              body.subarray(at, at + size),
              encoder.encode("\r\n"),
            );
            at += size;
          }
          parts.push(encoder.encode("0\r\n\r\n"));
          answer = concat(parts);
        }
        await using agent = new Http1Agent({
          connect: () => Promise.resolve(new ScriptedSocket(splitAt(answer, cuts))),
        });
        const response = await agent.request({ hostname: "memory", port: 1 }, {
          method: "GET",
          path: "/",
        });
        assert.equal(response.status, 200);
        assert.deepEqual(response.body, body);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("Http1Agent property: any bytes as an answer settle the call, with an Http1Error if not an answer", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.uint8Array({ maxLength: 400 }),
        fc.string({ maxLength: 200 }).map((s) => encoder.encode(`HTTP/1.1 200 OK\r\n${s}`)),
      ),
      fc.array(fc.nat(), { maxLength: 6 }),
      async (answer, cuts) => {
        await using agent = new Http1Agent({
          connect: () => Promise.resolve(new ScriptedSocket(splitAt(answer, cuts))),
        });
        try {
          const response = await agent.request({ hostname: "memory", port: 1 }, {
            method: "GET",
            path: "/",
          });
          assert.ok(response.status >= 200 && response.status <= 999);
        } catch (error) {
          assert.ok(error instanceof Http1Error, String(error));
          assert.ok(["PROTOCOL", "CONNECTION_LOST"].includes(error.code), error.code);
        }
      },
    ),
    { numRuns: 500 },
  );
});
