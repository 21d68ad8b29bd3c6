import assert from "node:assert/strict";
import { httpStatus, waitUntilReady } from "./_readiness.ts";

function serve(handler: (request: Request) => Response) {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
}

Deno.test("httpStatus() reads the status of a GET over plain HTTP/1.1", async () => {
  const paths: string[] = [];
  await using server = serve((request) => {
    paths.push(new URL(request.url).pathname);
    return new Response("draining", { status: 503 });
  });
  const status = await httpStatus("127.0.0.1", server.addr.port, "/readyz", {
    signal: new AbortController().signal,
  });
  assert.equal(status, 503);
  assert.deepEqual(paths, ["/readyz"]);
});

Deno.test("waitUntilReady() resolves ready once the endpoint answers 200", async () => {
  let calls = 0;
  await using server = serve(() => new Response(null, { status: ++calls < 3 ? 503 : 200 }));
  const readiness = await waitUntilReady("127.0.0.1", server.addr.port, {
    deadline: Date.now() + 30_000,
    signal: new AbortController().signal,
    intervalMs: 1,
  });
  assert.equal(readiness, "ready");
  assert.equal(calls, 3);
});

Deno.test("waitUntilReady() gives up at the deadline, or when aborted", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close(); // nothing listens there now
  assert.equal(
    await waitUntilReady("127.0.0.1", port, {
      deadline: Date.now() - 1,
      signal: new AbortController().signal,
    }),
    "timeout",
  );
  const abort = new AbortController();
  const waiting = waitUntilReady("127.0.0.1", port, {
    deadline: Date.now() + 30_000,
    signal: abort.signal,
  });
  abort.abort();
  assert.equal(await waiting, "aborted");
});
