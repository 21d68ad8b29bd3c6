import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { createClient, FlotillaError, UnavailableError } from "@flotilla/core";
import { callPipeline } from "@flotilla/client";
import { isUnsentError, resolvePolicy } from "@flotilla/resilience";
import { startNats } from "@flotilla/testing";
import { natsRpcCaller } from "./nats_rpc_caller.ts";
import { calcContract, endpoint, outboundCall, startCalc } from "./_test_util.ts";

async function rejection(promise: Promise<unknown>): Promise<FlotillaError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof FlotillaError, `expected a FlotillaError, got ${error}`);
    return error;
  }
  assert.fail("expected the call to fail");
}

Deno.test("natsRpcCaller() rejects bad options with RangeError", () => {
  assert.throws(() => natsRpcCaller({}), RangeError);
  assert.throws(() => natsRpcCaller({ servers: "" }), RangeError);
  assert.throws(
    () => natsRpcCaller({ servers: "nats://127.0.0.1:1", subjectPrefix: "a.*" }),
    /subjectPrefix/,
  );
  assert.throws(
    // @ts-expect-error: not an addressing mode
    () => natsRpcCaller({ servers: "nats://127.0.0.1:1", addressing: "any" }),
    /addressing/,
  );
});

Deno.test("natsRpcCaller()", async (t) => {
  await using nats = await startNats();
  await using a = await startCalc(nats.url, "calc-a");
  await using b = await startCalc(nats.url, "calc-b");
  await using caller = natsRpcCaller({ servers: nats.url });
  await using queued = natsRpcCaller({ servers: nats.url, addressing: "queue" });

  await t.step("sends a call to the instance an endpoint names, by id or by URL path", async () => {
    assert.deepEqual(await caller(endpoint("calc-a"), outboundCall("add", { a: 1, b: 2 })), {
      sum: 3,
      by: "calc-a",
    });
    assert.deepEqual(
      await caller(endpoint("x", `${nats.url}/calc-b`), outboundCall("add", { a: 2, b: 2 })),
      { sum: 4, by: "calc-b" },
    );
    assert.equal(caller.pending, 0);
  });

  await t.step("with queue addressing, lets NATS pick an instance of the group", async () => {
    const by = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const output = await queued(endpoint("anything"), outboundCall("add", { a: i, b: 0 }));
      by.add((output as { by: string }).by);
    }
    assert.deepEqual([...by].sort(), ["calc-a", "calc-b"]);
  });

  await t.step(
    "gets INVALID_ARGUMENT naming the field for bad input, the handler not run",
    async () => {
      const before = a.probe.added.length;
      const error = await rejection(
        caller(endpoint("calc-a"), outboundCall("add", { a: "one", b: 2 })),
      );
      assert.equal(error.code, "INVALID_ARGUMENT");
      assert.equal(error.kind, "INVALID_ARGUMENT");
      assert.equal(error.retryable, false);
      assert.deepEqual(error.issues.map((issue) => issue.pointer), ["/a"]);
      assert.match(error.message, /^a: /);
      assert.equal(a.probe.added.length, before);
    },
  );

  await t.step("rebuilds the handler's typed errors with code, kind, data and status", async () => {
    const notFound = await rejection(
      caller(endpoint("calc-a"), outboundCall("fail", { mode: "not_found" })),
    );
    assert.equal(notFound.code, "ORDER_NOT_FOUND");
    assert.equal(notFound.kind, "NOT_FOUND");
    assert.equal(notFound.message, "No order o-404");
    assert.deepEqual(notFound.data, { orderId: "o-404" });
    assert.equal(notFound.retryable, false);
    assert.equal(notFound.httpStatus, 404);
    // A relayed error is not the caller's own proof that nothing was sent.
    assert.equal(notFound instanceof UnavailableError, false);

    const precondition = await rejection(
      caller(endpoint("calc-a"), outboundCall("fail", { mode: "precondition" })),
    );
    assert.equal(precondition.code, "OUT_OF_STOCK");
    assert.equal(precondition.kind, "FAILED_PRECONDITION");
    assert.deepEqual(precondition.data, { sku: "TEA-01", available: 2 });

    const tooLarge = await rejection(
      caller(endpoint("calc-a"), outboundCall("fail", { mode: "too_large" })),
    );
    assert.equal(tooLarge.httpStatus, 413);

    const crash = await rejection(
      caller(endpoint("calc-a"), outboundCall("fail", { mode: "crash" })),
    );
    assert.equal(crash.code, "INTERNAL");
    assert.equal(crash.kind, "INTERNAL");
    assert.equal(crash.message, "Internal error");
    assert.doesNotMatch(JSON.stringify({ ...crash, message: crash.message }), /secret/);
  });

  await t.step("refuses header values that would break the header block", async () => {
    const error = await rejection(
      caller(endpoint("calc-a"), outboundCall("add", { a: 1, b: 1 }, { caller: "x\r\nevil: 1" })),
    );
    assert.equal(error.code, "INVALID_HEADER");
    assert.equal(error.kind, "INVALID_ARGUMENT");
  });

  await t.step("resolves to undefined for an action without output", async () => {
    assert.equal(await caller(endpoint("calc-a"), outboundCall("nothing", {})), undefined);
  });

  await t.step("propagates the trace, the caller, the idempotency key and a deadline", async () => {
    const trace = {
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      sampled: true,
      tracestate: "vendor=opaque",
    };
    const seen = await caller(
      endpoint("calc-a"),
      outboundCall("context", {}, { trace, idempotencyKey: "order-7" }),
    );
    assert.deepEqual(seen, {
      traceId: trace.traceId,
      parentSpanId: trace.spanId,
      tracestate: "vendor=opaque",
      sampled: true,
      caller: "tester",
      idempotencyKey: "order-7",
      hasDeadline: true,
    });
  });

  await t.step(
    "gets DEADLINE_EXCEEDED when the deadline passes; the handler is cancelled",
    async () => {
      const error = await rejection(
        caller(endpoint("calc-b"), outboundCall("slow", {}, { deadline: Date.now() + 200 })),
      );
      assert.equal(error.kind, "DEADLINE_EXCEEDED");
      assert.equal(error.code, "DEADLINE_EXCEEDED");
      const reason = await b.probe.slowAborted;
      assert.ok(reason instanceof FlotillaError);
      assert.equal(reason.kind, "DEADLINE_EXCEEDED");
      assert.equal(caller.pending, 0);
    },
  );

  await t.step(
    "answers no responders with a CONNECTION_REFUSED that is safe to retry",
    async () => {
      const error = await rejection(
        caller(endpoint("calc-gone"), outboundCall("add", { a: 1, b: 1 })),
      );
      assert.ok(error instanceof UnavailableError);
      assert.equal(error.code, "CONNECTION_REFUSED");
      assert.equal(error.kind, "UNAVAILABLE");
      assert.equal(error.retryable, true);
      assert.equal(error.data?.reason, "no_responders");
      assert.equal(isUnsentError(error), true);
    },
  );

  await t.step("refuses at once an instance registered without NATS", async () => {
    const httpOnly = {
      ...endpoint("calc-a"),
      instance: {
        service: "calc",
        id: "calc-a",
        address: "127.0.0.1",
        port: 1,
        metadata: { transports: "http,grpc" },
      },
    };
    const error = await rejection(caller(httpOnly, outboundCall("add", { a: 1, b: 1 })));
    assert.equal(error.code, "CONNECTION_REFUSED");
    assert.equal(error.data?.reason, "no_nats_transport");
    const both = {
      ...httpOnly,
      instance: { ...httpOnly.instance, metadata: { transports: "http,nats" } },
    };
    assert.deepEqual(await caller(both, outboundCall("add", { a: 1, b: 1 })), {
      sum: 2,
      by: "calc-a",
    });
  });

  await t.step("cancels a call when its signal aborts", async () => {
    const controller = new AbortController();
    const call = caller(
      endpoint("calc-a"),
      outboundCall("gate", { id: 1 }, { signal: controller.signal }),
    );
    assert.equal(await a.probe.gateEntered, 1);
    controller.abort();
    const error = await rejection(call);
    assert.equal(error.kind, "CANCELLED");
    assert.equal(caller.pending, 0);
    a.probe.openGate();
  });

  await t.step("serves the typed client through callPipeline", async () => {
    const pipeline = callPipeline({
      service: "calc",
      endpoints: { current: () => [endpoint("calc-a"), endpoint("calc-b")] },
      transport: caller,
      policy: (action) => resolvePolicy({}, "calc", action),
    });
    const client = createClient(calcContract, pipeline, { caller: "tester" });
    const outputs = await Promise.all(
      Array.from({ length: 50 }, (_, i) => client.call("add", { a: i, b: 1 })),
    );
    assert.deepEqual(
      outputs.map((output) => output.sum),
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    const notFound = await rejection(client.call("fail", { mode: "not_found" }));
    assert.equal(notFound.code, "ORDER_NOT_FOUND");
    const late = await rejection(client.call("slow", {}, { timeoutMs: 100 }));
    assert.equal(late.kind, "DEADLINE_EXCEEDED");
    assert.deepEqual(Object.keys(pipeline.breakers()).sort(), ["calc-a", "calc-b"]);
  });
});

Deno.test("natsRpcCaller() on a connection it was given leaves it open when closed", async () => {
  await using nats = await startNats();
  await using _a = await startCalc(nats.url, "calc-a");
  const nc = await connect({ servers: nats.url });
  try {
    const caller = natsRpcCaller({ nc });
    assert.deepEqual(await caller(endpoint("calc-a"), outboundCall("add", { a: 1, b: 1 })), {
      sum: 2,
      by: "calc-a",
    });
    await caller.close();
    assert.equal(nc.isClosed(), false);
    const error = await rejection(caller(endpoint("calc-a"), outboundCall("add", { a: 1, b: 1 })));
    assert.equal(error.code, "CONNECTION_REFUSED");
  } finally {
    await nc.close();
  }
});

Deno.test("natsRpcCaller() fails calls out when closed, and refuses a server it cannot reach", async () => {
  await using nats = await startNats();
  await using a = await startCalc(nats.url, "calc-a");
  const caller = natsRpcCaller({ servers: nats.url });
  const call = rejection(caller(endpoint("calc-a"), outboundCall("gate", { id: 9 })));
  await a.probe.gateEntered;
  await caller.close();
  const error = await call;
  assert.equal(error.code, "CONNECTION_FAILED");
  assert.equal(isUnsentError(error), false);
  a.probe.openGate();

  await using nowhere = natsRpcCaller({ servers: "nats://127.0.0.1:1" });
  const refused = await rejection(nowhere(endpoint("calc-a"), outboundCall("add", { a: 1, b: 1 })));
  assert.equal(refused.code, "CONNECTION_REFUSED");
  assert.equal(isUnsentError(refused), true);
});

Deno.test("natsRpcCaller() fails calls out as CONNECTION_FAILED when the connection drops, and recovers", async () => {
  await using nats = await startNats();
  await using a = await startCalc(nats.url, "calc-a");
  await using caller = natsRpcCaller({ servers: nats.url });
  await caller.ready();
  const call = rejection(caller(endpoint("calc-a"), outboundCall("gate", { id: 3 })));
  await a.probe.gateEntered;
  await nats.kill();
  const lost = await call;
  assert.equal(lost.code, "CONNECTION_FAILED");
  assert.equal(lost.kind, "UNAVAILABLE");
  assert.equal(isUnsentError(lost), false);
  // While disconnected nothing is buffered for later: the call is refused, certainly unsent.
  const refused = await rejection(caller(endpoint("calc-a"), outboundCall("add", { a: 1, b: 1 })));
  assert.equal(refused.code, "CONNECTION_REFUSED");
  a.probe.openGate();

  await nats.restart();
  let output: unknown;
  for (let attempt = 0; output === undefined; attempt++) {
    try {
      output = await caller(endpoint("calc-a"), outboundCall("add", { a: 2, b: 3 }));
    } catch (error) {
      if (attempt > 200 || !(error instanceof UnavailableError)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  assert.deepEqual(output, { sum: 5, by: "calc-a" });
});
