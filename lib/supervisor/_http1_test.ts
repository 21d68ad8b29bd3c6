import assert from "node:assert/strict";
import { http1Request } from "./_http1.ts";

function serve(handler: (request: Request) => Response | Promise<Response>) {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
}

const signal = () => new AbortController().signal;

Deno.test("http1Request() sends the method, path, headers and body, and reads the answer", async () => {
  const seen: string[] = [];
  await using server = serve(async (request) => {
    seen.push(
      `${request.method} ${new URL(request.url).pathname}${new URL(request.url).search}`,
      request.headers.get("authorization") ?? "",
      await request.text(),
    );
    return Response.json({ ok: true }, { status: 201, headers: { "x-flotilla": "yes" } });
  });
  const response = await http1Request("127.0.0.1", server.addr.port, {
    method: "POST",
    path: "/api/services/payment/stop?x=1",
    headers: { authorization: "Bearer t0ken" },
    body: '{"a":"é"}',
    signal: signal(),
  });
  assert.equal(response.status, 201);
  assert.equal(response.headers.get("x-flotilla"), "yes");
  assert.deepEqual(JSON.parse(response.body), { ok: true });
  assert.deepEqual(seen, ["POST /api/services/payment/stop?x=1", "Bearer t0ken", '{"a":"é"}']);
});

Deno.test("http1Request() de-chunks a streamed body", async () => {
  await using server = serve(() => {
    const parts = ["first ", "second ", "третий"];
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const part = parts.shift();
        if (part === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(part));
      },
    });
    return new Response(body);
  });
  const response = await http1Request("127.0.0.1", server.addr.port, {
    method: "GET",
    path: "/",
    signal: signal(),
  });
  assert.equal(response.status, 200);
  assert.equal(response.body, "first second третий");
});

Deno.test("http1Request() refuses a header that would split the request", async () => {
  await using server = serve(() => new Response("ok"));
  await assert.rejects(
    () =>
      http1Request("127.0.0.1", server.addr.port, {
        method: "GET",
        path: "/",
        headers: { "x-evil": "a\r\nx-injected: 1" },
        signal: signal(),
      }),
    TypeError,
  );
});

Deno.test("http1Request() rejects with the signal's reason when aborted", async () => {
  const answered = Promise.withResolvers<void>();
  await using server = serve(async () => {
    await answered.promise;
    return new Response("late");
  });
  const abort = new AbortController();
  const request = http1Request("127.0.0.1", server.addr.port, {
    method: "GET",
    path: "/",
    signal: abort.signal,
  });
  abort.abort(new Error("gave up"));
  await assert.rejects(() => request, { message: "gave up" });
  answered.resolve();
});
