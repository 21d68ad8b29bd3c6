import assert from "node:assert/strict";
import { Logger, MemorySink, ServiceHost } from "@flotilla/core";
import { createHttpApp } from "./app.ts";
import { createNotesService } from "./testdata/notes.ts";

function setup(bodyLimit = 1024) {
  const notes = createNotesService();
  const sink = new MemorySink();
  const host = new ServiceHost(notes.service, { logger: new Logger({ sink, level: "debug" }) });
  host.markReady();
  const app = createHttpApp(host, { bodyLimit });
  return { ...notes, host, app, sink };
}

async function problem(response: Response) {
  assert.equal(response.headers.get("content-type"), "application/problem+json");
  return await response.json();
}

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: typeof body === "string" ? body : JSON.stringify(body),
});

Deno.test("createHttpApp() serves REST routes from the contract", async () => {
  const { app } = setup();
  const created = await app.request("/notes", json({ text: "hello" }));
  assert.equal(created.status, 201);
  assert.deepEqual(await created.json(), { id: 1, text: "hello" });
  const fetched = await app.request("/notes/1");
  assert.equal(fetched.status, 200);
  assert.deepEqual(await fetched.json(), { id: 1, text: "hello" });
  const listed = await app.request("/notes?prefix=he");
  assert.deepEqual(await listed.json(), [{ id: 1, text: "hello" }]);
  const all = await app.request("/notes");
  assert.equal(all.status, 200);
  assert.deepEqual(await all.json(), [{ id: 1, text: "hello" }]);
});

Deno.test("createHttpApp() serves every action on POST /rpc/<action>", async () => {
  const { app } = setup();
  const response = await app.request("/rpc/addNote", json({ text: "via rpc" }));
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { id: 1, text: "via rpc" });
  const unknown = await app.request("/rpc/nope", json({}));
  assert.equal(unknown.status, 404);
  assert.equal((await problem(unknown)).code, "UNKNOWN_ACTION");
});

Deno.test("createHttpApp() answers malformed JSON with 400 problem+json and changes nothing", async () => {
  const { app, notes } = setup();
  const response = await app.request("/notes", json("{ not json"));
  assert.equal(response.status, 400);
  const body = await problem(response);
  assert.equal(body.code, "MALFORMED_JSON");
  assert.equal(body.status, 400);
  assert.match(body.traceId, /^[0-9a-f]{32}$/);
  assert.equal(notes.size, 0);
});

Deno.test("createHttpApp() names the offending field of a schema violation", async () => {
  const { app, notes } = setup();
  const response = await app.request("/notes", json({ text: 42, extra: true }));
  assert.equal(response.status, 400);
  const body = await problem(response);
  assert.equal(body.code, "INVALID_ARGUMENT");
  const fields = body.errors.map((e: { field: string }) => e.field).sort();
  assert.deepEqual(fields, ["(body)", "text"]);
  assert.match(body.detail, /text:/);
  assert.match(body.detail, /unknown field "extra"/);
  assert.equal(notes.size, 0);
});

Deno.test("createHttpApp() answers bodies over the limit with 413, with or without Content-Length", async () => {
  const { app, notes } = setup(64);
  const big = JSON.stringify({ text: "x".repeat(100) });
  const declared = await app.request("/notes", json(big));
  assert.equal(declared.status, 413);
  assert.equal((await problem(declared)).code, "PAYLOAD_TOO_LARGE");
  const chunks = new TextEncoder().encode(big);
  const streamed = await app.request("/notes", {
    method: "POST",
    headers: { "content-type": "application/json", "transfer-encoding": "chunked" },
    body: new ReadableStream({
      start(controller) {
        controller.enqueue(chunks.subarray(0, 50));
        controller.enqueue(chunks.subarray(50));
        controller.close();
      },
    }),
  });
  assert.equal(streamed.status, 413);
  await streamed.body?.cancel();
  assert.equal(notes.size, 0);
});

Deno.test("createHttpApp() answers unknown routes 404 and wrong methods 405 with Allow", async () => {
  const { app } = setup();
  const missing = await app.request("/nowhere");
  assert.equal(missing.status, 404);
  assert.equal((await problem(missing)).code, "ROUTE_NOT_FOUND");
  const wrong = await app.request("/notes/1", { method: "DELETE" });
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get("allow"), "GET");
  assert.equal((await problem(wrong)).code, "METHOD_NOT_ALLOWED");
});

Deno.test("createHttpApp() maps typed handler errors to their status", async () => {
  const { app } = setup();
  const response = await app.request("/notes/99");
  assert.equal(response.status, 404);
  const body = await problem(response);
  assert.equal(body.code, "NOTE_NOT_FOUND");
  assert.equal(body.instance, "/notes/99");
});

Deno.test("createHttpApp() passes caller, idempotency key, deadline and trace to the handler", async () => {
  const { app } = setup();
  const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  const response = await app.request(
    "/rpc/whoami",
    json({}, {
      "flotilla-caller": "order",
      "idempotency-key": "key-1",
      "flotilla-timeout-ms": "5000",
      traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
    }),
  );
  const body = await response.json();
  assert.equal(body.caller, "order");
  assert.equal(body.key, "key-1");
  assert.equal(body.traceId, traceId);
  assert.ok(body.remaining > 0 && body.remaining <= 5000);
  assert.match(response.headers.get("traceresponse") ?? "", new RegExp(`^00-${traceId}-`));
});

Deno.test("createHttpApp() rejects an invalid Idempotency-Key or timeout header", async () => {
  const { app } = setup();
  const key = await app.request("/rpc/whoami", json({}, { "idempotency-key": "x".repeat(256) }));
  assert.equal(key.status, 400);
  assert.equal((await problem(key)).code, "INVALID_IDEMPOTENCY_KEY");
  const timeout = await app.request("/rpc/whoami", json({}, { "flotilla-timeout-ms": "soon" }));
  assert.equal(timeout.status, 400);
});

Deno.test("createHttpApp() serves /healthz always and /readyz only when ready", async () => {
  const { app, host } = setup();
  assert.equal((await app.request("/healthz")).status, 200);
  assert.equal((await app.request("/readyz")).status, 200);
  const stopping = host.stop();
  const draining = await app.request("/readyz");
  assert.equal(draining.status, 503);
  assert.equal((await draining.json()).status, "draining");
  await stopping;
  assert.equal((await app.request("/healthz")).status, 200);
});

Deno.test("createHttpApp() rejects a non-positive body limit", () => {
  const { host } = setup();
  assert.throws(() => createHttpApp(host, { bodyLimit: 0 }), RangeError);
});

Deno.test("createHttpApp() serves GET /metrics outside the host when given, and not otherwise", async () => {
  const { host } = setup();
  const app = createHttpApp(host, {
    metrics: () => new Response("up 1\n", { headers: { "content-type": "text/plain" } }),
  });
  const response = await app.request("/metrics");
  assert.equal(response.status, 200);
  assert.equal(await response.text(), "up 1\n");
  assert.equal((await app.request("/metrics", { method: "POST" })).status, 405);
  const plain = await setup().app.request("/metrics");
  assert.equal(plain.status, 404);
  await plain.body?.cancel();
});
