import assert from "node:assert/strict";
import type { ServiceStatus, SupervisorStatus } from "@flotilla/supervisor";
import { waitFor } from "@flotilla/testing";
import {
  createDashboard,
  dashboard,
  type DashboardOptions,
  digestMetrics,
  parsePrometheusText,
  startDashboard,
} from "./_dashboard.ts";
import { DASHBOARD_PAGE, DASHBOARD_TITLE } from "./_dashboard_page.ts";
import { main } from "./flotilla.ts";
import { memoryIo, tempDir } from "./_test_util.ts";

const BASE = "http://127.0.0.1:8090";

Deno.test("parsePrometheusText() reads samples, unescaping label values", () => {
  const text = [
    "# HELP flotilla_server_requests_total Inbound calls \\\\ handled.",
    "# TYPE flotilla_server_requests_total counter",
    'flotilla_server_requests_total{service="order",action="placeOrder",outcome="ok"} 12',
    'flotilla_server_requests_total{service="a\\"b",action="x\\\\y",outcome="line\\nbreak"} 3 1700000000000',
    "",
    "process_up 1",
    'flotilla_circuit_breaker_state{ peer = "payment" , endpoint="http://127.0.0.1:1"} 2',
    'odd_values{le="+Inf"} +Inf',
    "odd_values -Inf",
    "odd_values NaN",
    "odd_values 1.5e3",
  ].join("\n");
  const samples = parsePrometheusText(text);
  assert.deepEqual(samples.slice(0, 4), [
    {
      name: "flotilla_server_requests_total",
      labels: { service: "order", action: "placeOrder", outcome: "ok" },
      value: 12,
    },
    {
      name: "flotilla_server_requests_total",
      labels: { service: 'a"b', action: "x\\y", outcome: "line\nbreak" },
      value: 3,
    },
    { name: "process_up", labels: {}, value: 1 },
    {
      name: "flotilla_circuit_breaker_state",
      labels: { peer: "payment", endpoint: "http://127.0.0.1:1" },
      value: 2,
    },
  ]);
  assert.deepEqual(samples.slice(4).map((s) => s.value), [Infinity, -Infinity, NaN, 1500]);
  assert.deepEqual(samples[4]!.labels, { le: "+Inf" });
});

Deno.test("parsePrometheusText() keeps only the names asked for and skips malformed lines", () => {
  const text = [
    'wanted{a="1"} 1',
    'wanted{a="unterminated} 2',
    "wanted{a=1} 3",
    "wanted",
    'wanted{a="x"} notanumber',
    "other 4",
    'wanted{a="}"} 5',
  ].join("\n");
  assert.deepEqual(parsePrometheusText(text, new Set(["wanted"])), [
    { name: "wanted", labels: { a: "1" }, value: 1 },
    { name: "wanted", labels: { a: "}" }, value: 5 },
  ]);
});

Deno.test("digestMetrics() sums requests and errors but its own, reads breakers and saga outcomes", () => {
  const digest = digestMetrics(
    [
      'flotilla_server_requests_total{service="order",action="placeOrder",transport="http",outcome="ok"} 90',
      'flotilla_server_requests_total{service="order",action="placeOrder",transport="http",outcome="unavailable"} 6',
      'flotilla_server_requests_total{service="order",action="getOrder",transport="http",outcome="not_found"} 4',
      'flotilla_server_requests_total{service="order",action="listCheckouts",transport="http",outcome="ok"} 500',
      'flotilla_circuit_breaker_state{peer="payment",endpoint="p2"} 1',
      'flotilla_circuit_breaker_state{peer="inventory",endpoint="i1"} 2',
      'flotilla_circuit_breaker_state{peer="payment",endpoint="p1"} 0',
      'flotilla_saga_outcomes_total{saga="checkout",outcome="completed"} 7',
      'flotilla_saga_outcomes_total{saga="checkout",outcome="compensated"} 2',
      'flotilla_server_request_duration_seconds_count{service="order"} 1000',
    ].join("\n"),
  );
  assert.deepEqual(digest, {
    requests: 100,
    errors: 10,
    breakers: [
      { peer: "inventory", endpoint: "i1", state: "open" },
      { peer: "payment", endpoint: "p1", state: "closed" },
      { peer: "payment", endpoint: "p2", state: "half_open" },
    ],
    sagas: { completed: 7, compensated: 2 },
  });
});

// ---------------------------------------------------------------------------
// A fake system: a status, services answering /metrics, /config and the order's /rpc.

function service(name: string, port: number, state: ServiceStatus["state"] = "running") {
  return {
    name,
    service: name,
    instance: `${name}-1`,
    pid: state === "running" ? 1000 + port : null,
    port,
    state,
    restarts: name === "payment" ? 2 : 0,
    url: `http://127.0.0.1:${port}`,
    startedAt: "2030-01-01T00:00:00.000Z",
  } satisfies ServiceStatus;
}

interface FakeSystem {
  options: DashboardOptions;
  calls: { url: string; init: RequestInit | undefined }[];
  clock: { now: number };
  requests: Record<string, number>;
  orderAnswer: (action: string, input: Record<string, unknown>) => Response;
}

function fakeSystem(): FakeSystem {
  const status: SupervisorStatus = {
    pid: 42,
    system: "shop",
    startedAt: "2030-01-01T00:00:00.000Z",
    adminUrl: "http://127.0.0.1:9999",
    services: [
      service("gateway", 8080),
      service("order", 8001),
      service("payment", 8002),
      service("notification", 8003, "stopped"),
    ],
  };
  const checkout = (orderId: string, status: string) => ({
    orderId,
    protocol: "checkout",
    status,
    steps: [],
    error: status === "NEEDS_ATTENTION"
      ? { code: "TX_COMPENSATION_FAILED", message: 'release failed: "UNAVAILABLE"' }
      : null,
    createdAt: "2030-01-01T00:01:00.000Z",
    updatedAt: "2030-01-01T00:02:00.000Z",
  });
  const system: FakeSystem = {
    calls: [],
    clock: { now: Date.parse("2030-01-01T00:10:00.000Z") },
    requests: { gateway: 0, order: 0, payment: 0 },
    orderAnswer: (action, input) => {
      if (action === "listCheckouts") {
        const byStatus: Record<string, string[]> = {
          COMPLETED: ["o-1", "o-2", "o-3"],
          NEEDS_ATTENTION: ["o-4"],
        };
        const ids = byStatus[input.status as string] ?? [];
        return Response.json(ids.map((id) => checkout(id, input.status as string)));
      }
      return Response.json(checkout(input.orderId as string, "COMPENSATED"));
    },
    options: undefined as unknown as DashboardOptions,
  };
  const fetch = (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    system.calls.push({ url: url.href, init });
    const name = status.services.find((s) => s.port === Number(url.port))?.name ?? "?";
    if (url.pathname === "/metrics") {
      const total = system.requests[name] ?? 0;
      return Promise.resolve(
        new Response(
          [
            "# TYPE flotilla_server_requests_total counter",
            `flotilla_server_requests_total{service="${name}",action="a",transport="http",outcome="ok"} ${
              total - Math.floor(total / 10)
            }`,
            `flotilla_server_requests_total{service="${name}",action="a",transport="http",outcome="unavailable"} ${
              Math.floor(total / 10)
            }`,
            ...(name === "order"
              ? [
                'flotilla_circuit_breaker_state{peer="payment",endpoint="http://127.0.0.1:8002"} 2',
              ]
              : []),
          ].join("\n"),
        ),
      );
    }
    if (url.pathname === "/config") {
      const auth = new Headers(init?.headers).get("authorization");
      if (auth !== "Bearer s3cret") return Promise.resolve(new Response(null, { status: 404 }));
      const rules = name === "payment"
        ? [{
          id: "pay-down",
          enabled: true,
          service: "*",
          peer: "*",
          action: "charge",
          instance: "*",
          percentage: 100,
          fault: { type: "error", code: "UNAVAILABLE" },
        }]
        : [];
      return Promise.resolve(
        Response.json({ version: 1, values: { chaos: { enabled: true, seed: 1, rules } } }),
      );
    }
    const action = /^\/rpc\/(\w+)$/.exec(url.pathname)?.[1];
    if (name === "order" && action !== undefined) {
      return Promise.resolve(system.orderAnswer(action, JSON.parse(String(init?.body))));
    }
    return Promise.resolve(new Response("not found", { status: 404 }));
  };
  system.options = {
    dataRoot: "/data/shop",
    fetch: fetch as typeof globalThis.fetch,
    readStatus: () => Promise.resolve(structuredClone(status)),
    readToken: () => Promise.resolve("s3cret"),
    now: () => system.clock.now,
  };
  return system;
}

Deno.test("createDashboard().overview() assembles services, traffic, breakers, chaos and checkouts", async () => {
  const system = fakeSystem();
  const app = createDashboard(system.options);
  system.requests = { gateway: 100, order: 50, payment: 0 };
  const first = await app.overview();
  assert.equal(first.system, "shop");
  assert.deepEqual(first.supervisor, { pid: 42, startedAt: "2030-01-01T00:00:00.000Z" });
  assert.deepEqual(first.services.map((s) => [s.name, s.state, s.pid, s.restarts]), [
    ["gateway", "running", 9080, 0],
    ["order", "running", 9001, 0],
    ["payment", "running", 9002, 2],
    ["notification", "stopped", null, 0],
  ]);
  assert.equal(first.services[0]!.uptimeSeconds, 600);
  assert.equal(first.services[3]!.uptimeSeconds, null);
  // One scrape gives totals, not rates.
  assert.deepEqual(first.services[0]!.traffic, {
    requests: 100,
    errors: 10,
    requestRate: null,
    errorRatio: null,
    windowRequests: 0,
    windowErrors: 0,
  });
  assert.deepEqual(first.services[1]!.breakers, [
    { peer: "payment", endpoint: "http://127.0.0.1:8002", state: "open" },
  ]);
  assert.deepEqual(first.services[2]!.chaos?.rules.map((r) => r.id), ["pay-down"]);
  assert.deepEqual(first.services[0]!.chaos, { enabled: true, rules: [] });
  assert.deepEqual(first.checkouts?.counts, {
    RUNNING: 0,
    COMPENSATING: 0,
    COMPLETED: 3,
    COMPENSATED: 0,
    NEEDS_ATTENTION: 1,
  });
  assert.deepEqual(first.checkouts?.attention, [{
    orderId: "o-4",
    protocol: "checkout",
    error: { code: "TX_COMPENSATION_FAILED", message: 'release failed: "UNAVAILABLE"' },
    createdAt: "2030-01-01T00:01:00.000Z",
    updatedAt: "2030-01-01T00:02:00.000Z",
  }]);
  // The stopped service is not asked anything.
  assert.ok(system.calls.every((c) => !c.url.startsWith("http://127.0.0.1:8003")));

  system.clock.now += 2_000;
  system.requests = { gateway: 140, order: 50, payment: 0 };
  const second = await app.overview();
  const gateway = second.services[0]!.traffic!;
  assert.equal(gateway.requestRate, 20);
  assert.equal(gateway.windowRequests, 40);
  assert.equal(gateway.errorRatio, 4 / 40);
  assert.equal(second.services[1]!.traffic!.requestRate, 0);
  assert.equal(second.services[1]!.traffic!.errorRatio, null, "no call, no ratio");
});

Deno.test("createDashboard().overview() starts rates over when a counter goes back (a restart)", async () => {
  const system = fakeSystem();
  const app = createDashboard(system.options);
  system.requests.gateway = 500;
  await app.overview();
  system.clock.now += 1_000;
  system.requests.gateway = 20;
  const after = await app.overview();
  assert.equal(after.services[0]!.traffic!.requestRate, null);
  system.clock.now += 1_000;
  system.requests.gateway = 30;
  assert.equal((await app.overview()).services[0]!.traffic!.requestRate, 10);
});

Deno.test("createDashboard().overview() reports what it cannot read instead of failing", async () => {
  const system = fakeSystem();
  const app = createDashboard({
    ...system.options,
    readToken: () => Promise.reject(new Error("permission denied")),
  });
  system.orderAnswer = () =>
    Response.json({ code: "UNAVAILABLE", detail: "draining" }, { status: 503 });
  const overview = await app.overview();
  assert.equal(overview.services[0]!.chaos, null);
  assert.match(overview.services[0]!.problems.join(), /chaos rules: .*permission denied/);
  assert.ok(overview.services[0]!.traffic !== null);
  assert.equal(overview.checkouts?.attention.length, 0);
  assert.match(overview.checkouts?.problem ?? "", /UNAVAILABLE: draining/);
});

Deno.test("createDashboard().overview() without a supervisor shows nothing running", async () => {
  const app = createDashboard({
    dataRoot: "/nowhere",
    readStatus: () => Promise.resolve(undefined),
  });
  assert.deepEqual(
    { ...await app.overview(), generatedAt: "" },
    {
      generatedAt: "",
      dataRoot: "/nowhere",
      system: null,
      supervisor: null,
      services: [],
      checkouts: null,
    },
  );
});

Deno.test("createDashboard() refuses a bad option with a RangeError", () => {
  assert.throws(() => createDashboard({ dataRoot: "" }), RangeError);
  assert.throws(() => createDashboard({ dataRoot: "/d", rateWindowMs: 0 }), RangeError);
});

// ---------------------------------------------------------------------------
// The HTTP surface.

async function problemOf(response: Response) {
  assert.equal(response.headers.get("content-type"), "application/problem+json");
  return await response.json() as { status: number; code: string; type: string; detail: string };
}

Deno.test("the resume endpoint refuses cross-site requests", async () => {
  const system = fakeSystem();
  const app = createDashboard(system.options);
  const resume = (headers: Record<string, string>) =>
    app.handle(new Request(`${BASE}/api/checkouts/o-4/resume`, { method: "POST", headers }));
  for (
    const [headers, why] of [
      [{}, /x-flotilla-dashboard/],
      [{ "x-flotilla-dashboard": "yes" }, /x-flotilla-dashboard/],
      [{ "x-flotilla-dashboard": "1", origin: "https://evil.example" }, /evil\.example/],
      [{ "x-flotilla-dashboard": "1", "sec-fetch-site": "cross-site" }, /cross-site/],
    ] as const
  ) {
    const response = await resume(headers);
    assert.equal(response.status, 403);
    const body = await problemOf(response);
    assert.equal(body.code, "CROSS_SITE_REQUEST");
    assert.equal(body.type, "urn:flotilla:problem:cross-site-request");
    assert.match(body.detail, why);
  }
  assert.ok(system.calls.every((c) => !c.url.includes("resumeCheckout")), "nothing was resumed");

  const allowed = await resume({
    "x-flotilla-dashboard": "1",
    origin: BASE,
    "sec-fetch-site": "same-origin",
  });
  assert.equal(allowed.status, 200);
  assert.deepEqual(await allowed.json().then((c) => [c.orderId, c.status]), ["o-4", "COMPENSATED"]);
  const call = system.calls.find((c) => c.url.endsWith("/rpc/resumeCheckout"))!;
  assert.equal(call.url, "http://127.0.0.1:8001/rpc/resumeCheckout");
  assert.deepEqual(JSON.parse(String(call.init?.body)), { orderId: "o-4" });
});

Deno.test("the dashboard refuses another host name (DNS rebinding)", async () => {
  const app = createDashboard(fakeSystem().options);
  for (const path of ["/", "/api/overview"]) {
    const response = await app.handle(new Request(`http://evil.example:8090${path}`));
    assert.equal(response.status, 403);
    assert.equal((await problemOf(response)).code, "HOST_NOT_ALLOWED");
  }
  const local = await app.handle(new Request("http://localhost:8090/api/overview"));
  assert.equal(local.status, 200);
  await local.body?.cancel();
});

Deno.test("the resume endpoint passes the order service's refusal on as problem+json", async () => {
  const system = fakeSystem();
  system.orderAnswer = () =>
    Response.json({ code: "CHECKOUT_NOT_FOUND", detail: "no checkout of o-9" }, { status: 404 });
  const app = createDashboard(system.options);
  const response = await app.handle(
    new Request(`${BASE}/api/checkouts/o-9/resume`, {
      method: "POST",
      headers: { "x-flotilla-dashboard": "1" },
    }),
  );
  assert.equal(response.status, 404);
  assert.deepEqual(await problemOf(response), {
    type: "urn:flotilla:problem:checkout-not-found",
    title: "Checkout not found",
    status: 404,
    detail: "no checkout of o-9",
    code: "CHECKOUT_NOT_FOUND",
  });

  const unreachable = createDashboard({
    ...system.options,
    fetch: () => Promise.reject(new TypeError("connection refused")),
  });
  const down = await unreachable.handle(
    new Request(`${BASE}/api/checkouts/o-9/resume`, {
      method: "POST",
      headers: { "x-flotilla-dashboard": "1" },
    }),
  );
  assert.equal(down.status, 502);
  assert.equal((await problemOf(down)).code, "ORDER_SERVICE_UNREACHABLE");
});

Deno.test("the dashboard answers unknown routes and wrong methods with problem+json", async () => {
  const app = createDashboard(fakeSystem().options);
  const missing = await app.handle(new Request(`${BASE}/api/nothing`));
  assert.equal(missing.status, 404);
  assert.equal((await problemOf(missing)).code, "NOT_FOUND");
  const wrong = await app.handle(new Request(`${BASE}/api/checkouts/o-4/resume`));
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get("allow"), "POST");
  assert.equal((await problemOf(wrong)).code, "METHOD_NOT_ALLOWED");
  const post = await app.handle(new Request(`${BASE}/api/overview`, { method: "POST" }));
  assert.equal(post.status, 405);
  await post.body?.cancel();
});

Deno.test("the dashboard serves one self-contained page whose script parses", async () => {
  const app = createDashboard(fakeSystem().options);
  const response = await app.handle(new Request(`${BASE}/`));
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
  assert.match(response.headers.get("content-security-policy") ?? "", /default-src 'none'/);
  const html = await response.text();
  assert.equal(html, DASHBOARD_PAGE);
  assert.ok(html.includes(`<title>${DASHBOARD_TITLE}</title>`));
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, "no external asset");
  assert.ok(html.includes("x-flotilla-dashboard"), "the page sends the header");
  const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1];
  assert.ok(script !== undefined);
  new Function(script); // throws a SyntaxError if the script does not parse
});

Deno.test("startDashboard() listens on 127.0.0.1 and refuses a bad port", async () => {
  await assert.rejects(() => startDashboard({ dataRoot: "/d", port: 70_000 }), RangeError);
  await using server = await startDashboard({
    ...fakeSystem().options,
    port: 0,
  });
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const response = await fetch(`${server.url}/api/overview`);
  assert.equal(response.status, 200);
  assert.equal((await response.json()).services.length, 4);
});

Deno.test("main() dashboard validates --port and serves until stopped", async () => {
  for (const port of ["x", "65536", "1.5", ""]) {
    const { io, err } = memoryIo();
    assert.equal(await main(["dashboard", "--port", port], { io }), 2, port);
    assert.match(err[0]!, /--port must be a port number/);
  }
  await using dir = await tempDir();
  const { io, out } = memoryIo();
  const stop = new AbortController();
  const running = dashboard({
    port: 0,
    io,
    env: { FLOTILLA_DATA_DIR: dir.path },
    cwd: dir.path,
    signal: stop.signal,
  });
  const url = await waitFor(() => /(http:\/\/127\.0\.0\.1:\d+)/.exec(out.join("\n"))?.[1]);
  const overview = await (await fetch(`${url}/api/overview`)).json();
  assert.equal(overview.supervisor, null);
  assert.deepEqual(overview.services, []);
  stop.abort();
  assert.equal(await running, 0);
});
