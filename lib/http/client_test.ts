import assert from "node:assert/strict";
import {
  createClient,
  createContext,
  FlotillaError,
  Logger,
  MemorySink,
  runService,
} from "@flotilla/core";
import { httpCallHandler } from "./client.ts";
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

Deno.test("httpCallHandler() calls a peer and returns its validated output", async () => {
  await using_(await startNotes(), async ({ baseUrl }) => {
    const client = createClient(notesContract, httpCallHandler({ baseUrl }), { caller: "tester" });
    assert.deepEqual(await client.call("addNote", { text: "hi" }), { id: 1, text: "hi" });
    const who = await client.call("whoami", {}, { idempotencyKey: "abc", timeoutMs: 4_000 });
    assert.equal(who.caller, "tester");
    assert.equal(who.key, "abc");
    assert.ok(who.remaining <= 4_000);
  });
});

Deno.test("httpCallHandler() propagates the caller's trace", async () => {
  await using_(await startNotes(), async ({ baseUrl }) => {
    const client = createClient(notesContract, httpCallHandler({ baseUrl }), { caller: "tester" });
    using ctx = createContext({
      service: "tester",
      action: "test",
      logger: new Logger({ sink: new MemorySink() }),
    });
    const who = await client.call("whoami", {}, { ctx });
    assert.equal(who.traceId, ctx.trace.traceId);
  });
});

Deno.test("httpCallHandler() rebuilds the peer's typed error", async () => {
  await using_(await startNotes(), async ({ baseUrl }) => {
    const client = createClient(notesContract, httpCallHandler({ baseUrl }), { caller: "tester" });
    await assert.rejects(client.call("getNote", { id: 7 }), (error: unknown) => {
      assert.ok(error instanceof FlotillaError);
      assert.equal(error.code, "NOTE_NOT_FOUND");
      assert.equal(error.kind, "NOT_FOUND");
      assert.equal(error.httpStatus, 404);
      return true;
    });
  });
});

Deno.test("httpCallHandler() reports a refused connection as retryable UNAVAILABLE", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const client = createClient(
    notesContract,
    httpCallHandler({ baseUrl: `http://127.0.0.1:${port}` }),
    { caller: "tester" },
  );
  await assert.rejects(client.call("whoami", {}), (error: unknown) => {
    assert.ok(error instanceof FlotillaError);
    assert.equal(error.code, "CONNECTION_REFUSED");
    assert.equal(error.retryable, true);
    return true;
  });
});

Deno.test("httpCallHandler() gives up with DEADLINE_EXCEEDED when the peer is too slow", async () => {
  await using_(await startNotes(), async ({ baseUrl, slowStarted }) => {
    const client = createClient(notesContract, httpCallHandler({ baseUrl }), { caller: "tester" });
    await assert.rejects(
      client.call("slow", {}, { timeoutMs: 200 }),
      (error: FlotillaError) => error.kind === "DEADLINE_EXCEEDED",
    );
    await slowStarted;
  });
});

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
