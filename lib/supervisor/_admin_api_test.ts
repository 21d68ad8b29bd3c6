import assert from "node:assert/strict";
import { adminHandler, type AdminTarget } from "./_admin_api.ts";
import { ServiceStartError, SupervisorNotRunningError, UnknownServiceError } from "./errors.ts";
import type { ServiceStatus } from "./status.ts";

const row = (name: string, state: ServiceStatus["state"] = "running"): ServiceStatus => ({
  name,
  service: name.replace(/-\d+$/, ""),
  instance: /-\d+$/.test(name) ? name : `${name}-1`,
  pid: state === "running" ? 4242 : null,
  port: 40001,
  state,
  restarts: 0,
  url: "http://127.0.0.1:40001",
  startedAt: "2025-01-01T00:00:00.000Z",
});

/** A target that records its calls and answers with `behaviour`. */
function target(behaviour: (action: string, name: string) => ServiceStatus | Promise<never>) {
  const calls: string[] = [];
  const rows = [row("payment"), row("payment-2")];
  const act = (action: string) => (name: string) => {
    calls.push(`${action} ${name}`);
    return Promise.resolve(behaviour(action, name));
  };
  const fake: AdminTarget = {
    services: () => rows,
    stopService: act("stop"),
    startService: act("start"),
    restartService: act("restart"),
  };
  return { fake, calls };
}

const TOKEN = "s3cret";
const auth = { authorization: `Bearer ${TOKEN}` };

function request(method: string, path: string, headers: Record<string, string> = auth) {
  return new Request(`http://127.0.0.1:41000${path}`, { method, headers });
}

async function problemOf(response: Response) {
  assert.equal(response.headers.get("content-type"), "application/problem+json");
  return await response.json();
}

Deno.test("adminHandler() lists the services, or one by name or instance id", async () => {
  const { fake } = target((_, name) => row(name));
  const handle = adminHandler(fake, { token: TOKEN });
  const all = await handle(request("GET", "/api/services"));
  assert.equal(all.status, 200);
  assert.deepEqual(await all.json(), fake.services());
  for (const name of ["payment-2", "payment-1"]) {
    const one = await handle(request("GET", `/api/services/${name}`));
    assert.equal(one.status, 200);
    assert.equal((await one.json()).service, "payment");
  }
  const missing = await handle(request("GET", "/api/services/ghost"));
  assert.equal(missing.status, 404);
  assert.equal((await problemOf(missing)).code, "SERVICE_NOT_FOUND");
});

Deno.test("adminHandler() stops, starts and restarts a service and answers its status", async () => {
  const { fake, calls } = target((action, name) =>
    row(name, action === "stop" ? "stopped" : "running")
  );
  const handle = adminHandler(fake, { token: TOKEN });
  for (const action of ["stop", "start", "restart"]) {
    const response = await handle(request("POST", `/api/services/payment-2/${action}`));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/json");
    assert.deepEqual(
      await response.json(),
      row("payment-2", action === "stop" ? "stopped" : "running"),
    );
  }
  assert.deepEqual(calls, ["stop payment-2", "start payment-2", "restart payment-2"]);
});

Deno.test("adminHandler() answers 401 without the bearer token, and acts on nothing", async () => {
  const { fake, calls } = target((_, name) => row(name));
  const handle = adminHandler(fake, { token: TOKEN });
  for (const headers of [{}, { authorization: "Bearer wrong!" }, { authorization: TOKEN }]) {
    const response = await handle(request("POST", "/api/services/payment/stop", headers));
    assert.equal(response.status, 401);
    assert.match(response.headers.get("www-authenticate") ?? "", /^Bearer /);
    assert.deepEqual(await problemOf(response), {
      type: "urn:flotilla:problem:unauthorized",
      title: "Unauthorized",
      status: 401,
      detail: "The control API needs the bearer token of the supervisor's data folder",
      code: "UNAUTHORIZED",
    });
  }
  assert.deepEqual(calls, []);
});

Deno.test("adminHandler() answers 404 on an unknown route and 405 on a wrong method", async () => {
  const { fake, calls } = target((_, name) => row(name));
  const handle = adminHandler(fake, { token: TOKEN });
  for (const path of ["/", "/api", "/api/services/payment/kill", "/api/services/a/b/c"]) {
    const response = await handle(request("POST", path));
    assert.equal(response.status, 404, path);
    assert.equal((await problemOf(response)).code, "NOT_FOUND");
  }
  const get = await handle(request("GET", "/api/services/payment/stop"));
  assert.equal(get.status, 405);
  assert.equal(get.headers.get("allow"), "POST");
  assert.equal((await problemOf(get)).code, "METHOD_NOT_ALLOWED");
  const post = await handle(request("POST", "/api/services"));
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD");
  assert.deepEqual(calls, []);
});

Deno.test("adminHandler() maps the supervisor's errors to problem+json", async () => {
  const errors: Record<string, Error> = {
    ghost: new UnknownServiceError("ghost", ["payment", "payment-2"]),
    idle: new SupervisorNotRunningError(
      "Cannot control the services as its supervisor is stopping",
    ),
    broken: new ServiceStartError("broken", "its process exited with code 3 before it was ready", {
      logTail: ["boom"],
    }),
    bug: new TypeError("secret internals"),
  };
  const seen: unknown[] = [];
  const { fake } = target((_, name) => Promise.reject(errors[name]));
  const handle = adminHandler(fake, { token: TOKEN, onError: (error) => seen.push(error) });
  const answer = async (name: string) => {
    const response = await handle(request("POST", `/api/services/${name}/start`));
    return { status: response.status, body: await problemOf(response) };
  };
  assert.deepEqual(await answer("ghost"), {
    status: 404,
    body: {
      type: "urn:flotilla:problem:service-not-found",
      title: "Service not found",
      status: 404,
      detail: 'Cannot find service "ghost": the supervisor runs payment, payment-2',
      code: "SERVICE_NOT_FOUND",
      service: "ghost",
    },
  });
  assert.deepEqual(await answer("idle"), {
    status: 409,
    body: {
      type: "urn:flotilla:problem:supervisor-not-running",
      title: "Supervisor not running",
      status: 409,
      detail: "Cannot control the services as its supervisor is stopping",
      code: "SUPERVISOR_NOT_RUNNING",
    },
  });
  assert.deepEqual(await answer("broken"), {
    status: 503,
    body: {
      type: "urn:flotilla:problem:service-not-ready",
      title: "Service not ready",
      status: 503,
      detail: 'Cannot start "broken" as its process exited with code 3 before it was ready',
      code: "SERVICE_NOT_READY",
      service: "broken",
      logTail: ["boom"],
    },
  });
  assert.deepEqual(await answer("bug"), {
    status: 500,
    body: {
      type: "urn:flotilla:problem:internal",
      title: "Internal error",
      status: 500,
      detail: "The supervisor could not handle the request",
      code: "INTERNAL",
    },
  });
  assert.deepEqual(seen, [errors.bug]);
});
