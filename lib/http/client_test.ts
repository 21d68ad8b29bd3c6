import assert from "node:assert/strict";
import {
  createClient,
  createContext,
  FlotillaError,
  Logger,
  MemorySink,
  runService,
} from "@flotilla/core";
import { httpCallHandler, type HttpCallOptions } from "./client.ts";
import { Http1Agent } from "./http1_agent.ts";
import { httpTransport } from "./transport.ts";
import { createNotesService, notesContract } from "./testdata/notes.ts";

async function startNotes() {
  const notes = createNotesService();
  const running = await runService(notes.service, {
    logger: new Logger({ sink: new MemorySink() }),
    transports: [httpTransport({ port: 0 })],
    signals: [],
  });
  const { port } = running.addresses.http!;
  return { ...notes, running, baseUrl: `http://127.0.0.1:${port}` };
}

/** The two ways `http:` calls go: `fetch`, and kept connections of an {@link Http1Agent}. */
const modes = {
  fetch: () => ({ handler: (options: HttpCallOptions) => httpCallHandler(options), close() {} }),
  "HTTP/1.1 agent": () => {
    const agent = new Http1Agent();
    return {
      handler: (options: HttpCallOptions) => httpCallHandler({ ...options, agent }),
      close: () => agent.close(),
    };
  },
};

for (const [mode, make] of Object.entries(modes)) {
  const test = (
    name: string,
    body: (handler: (o: HttpCallOptions) => ReturnType<typeof httpCallHandler>) => Promise<void>,
  ) =>
    Deno.test(name, async () => {
      const { handler, close } = make();
      try {
        await body(handler);
      } finally {
        close();
      }
    });
  test(`httpCallHandler() over ${mode}: calls a peer and returns its validated output`, async (handler) => {
    await using_(await startNotes(), async ({ baseUrl }) => {
      const client = createClient(notesContract, handler({ baseUrl }), { caller: "tester" });
      assert.deepEqual(await client.call("addNote", { text: "hi" }), { id: 1, text: "hi" });
      const who = await client.call("whoami", {}, { idempotencyKey: "abc", timeoutMs: 4_000 });
      assert.equal(who.caller, "tester");
      assert.equal(who.key, "abc");
      assert.ok(who.remaining <= 4_000);
    });
  });

  test(`httpCallHandler() over ${mode}: propagates the caller's trace`, async (handler) => {
    await using_(await startNotes(), async ({ baseUrl }) => {
      const client = createClient(notesContract, handler({ baseUrl }), { caller: "tester" });
      using ctx = createContext({
        service: "tester",
        action: "test",
        logger: new Logger({ sink: new MemorySink() }),
      });
      const who = await client.call("whoami", {}, { ctx });
      assert.equal(who.traceId, ctx.trace.traceId);
    });
  });

  test(`httpCallHandler() over ${mode}: rebuilds the peer's typed error`, async (handler) => {
    await using_(await startNotes(), async ({ baseUrl }) => {
      const client = createClient(notesContract, handler({ baseUrl }), { caller: "tester" });
      await assert.rejects(client.call("getNote", { id: 7 }), (error: unknown) => {
        assert.ok(error instanceof FlotillaError);
        assert.equal(error.code, "NOTE_NOT_FOUND");
        assert.equal(error.kind, "NOT_FOUND");
        assert.equal(error.httpStatus, 404);
        return true;
      });
    });
  });

  test(`httpCallHandler() over ${mode}: reports a refused connection as retryable UNAVAILABLE`, async (handler) => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    listener.close();
    const client = createClient(
      notesContract,
      handler({ baseUrl: `http://127.0.0.1:${port}` }),
      { caller: "tester" },
    );
    await assert.rejects(client.call("whoami", {}), (error: unknown) => {
      assert.ok(error instanceof FlotillaError);
      assert.equal(error.code, "CONNECTION_REFUSED");
      assert.equal(error.retryable, true);
      return true;
    });
  });

  test(`httpCallHandler() over ${mode}: gives up with DEADLINE_EXCEEDED when the peer is too slow`, async (handler) => {
    await using_(await startNotes(), async ({ baseUrl, slowStarted }) => {
      const client = createClient(notesContract, handler({ baseUrl }), { caller: "tester" });
      await assert.rejects(
        client.call("slow", {}, { timeoutMs: 200 }),
        (error: FlotillaError) => error.kind === "DEADLINE_EXCEEDED",
      );
      await slowStarted;
    });
  });
}

async function using_<T extends { running: AsyncDisposable }>(
  value: T,
  body: (value: T) => Promise<void>,
): Promise<void> {
  try {
    await body(value);
  } finally {
    await value.running[Symbol.asyncDispose]();
  }
}

Deno.test("httpCallHandler() over an agent refuses an idempotency key that would break the request", async () => {
  await using_(await startNotes(), async ({ baseUrl }) => {
    await using agent = new Http1Agent();
    const client = createClient(notesContract, httpCallHandler({ baseUrl, agent }), {
      caller: "tester",
    });
    await assert.rejects(
      client.call("addNote", { text: "x" }, { idempotencyKey: "k\r\nx-evil: 1" }),
      (error: FlotillaError) => error.code === "INVALID_HEADER" && error.httpStatus === 400,
    );
    assert.equal(agent.connections, 0);
  });
});

Deno.test("httpCallHandler() over an agent: a lost connection is CONNECTION_FAILED, bad JSON BAD_RESPONSE", async () => {
  // A peer that reads each request, answers "/rpc/bad" with broken JSON and hangs up on the rest.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    for await (const conn of listener) {
      const buffer = new Uint8Array(4096);
      const read = await conn.read(buffer);
      const request = new TextDecoder().decode(buffer.subarray(0, read ?? 0));
      if (request.startsWith("POST /rpc/addNote ")) {
        await conn.write(
          new TextEncoder().encode("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n{oops"),
        );
      }
      conn.close();
    }
  })();
  try {
    await using agent = new Http1Agent();
    const client = createClient(
      notesContract,
      httpCallHandler({ baseUrl: `http://127.0.0.1:${listener.addr.port}`, agent }),
      { caller: "tester" },
    );
    await assert.rejects(
      client.call("addNote", { text: "x" }),
      (error: FlotillaError) => error.code === "BAD_RESPONSE" && error.kind === "INTERNAL",
    );
    await assert.rejects(
      client.call("whoami", {}),
      (error: FlotillaError) => error.code === "CONNECTION_FAILED" && error.kind === "UNAVAILABLE",
    );
  } finally {
    listener.close();
    await served.catch(() => {});
  }
});
