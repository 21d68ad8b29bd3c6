import assert from "node:assert/strict";
import { formatStatusJson, formatStatusTable } from "./format_status.ts";
import type { ServiceStatus } from "./status.ts";

const services: ServiceStatus[] = [
  {
    name: "gateway",
    service: "gateway",
    instance: "gateway-1",
    pid: 2000,
    port: 8080,
    state: "running",
    restarts: 0,
    url: "http://127.0.0.1:8080",
    startedAt: "2025-01-01T00:00:01.000Z",
  },
  {
    name: "inventory-2",
    service: "inventory",
    instance: "inventory-2",
    pid: null,
    port: 40001,
    state: "restarting",
    restarts: 12,
    url: "http://127.0.0.1:40001",
    startedAt: null,
  },
];

Deno.test("formatStatusJson() prints exactly name, pid, port, state, restarts in order", () => {
  const parsed = JSON.parse(formatStatusJson(services));
  assert.deepEqual(parsed, [
    { name: "gateway", pid: 2000, port: 8080, state: "running", restarts: 0 },
    { name: "inventory-2", pid: null, port: 40001, state: "restarting", restarts: 12 },
  ]);
  for (const entry of parsed) {
    assert.deepEqual(Object.keys(entry), ["name", "pid", "port", "state", "restarts"]);
  }
});

Deno.test("formatStatusJson() prints an empty array for no services", () => {
  assert.equal(formatStatusJson([]), "[]");
});

Deno.test("formatStatusTable() aligns the columns", () => {
  assert.equal(
    formatStatusTable(services),
    [
      "NAME         PID   PORT   STATE       RESTARTS  URL",
      "gateway      2000  8080   running     0         http://127.0.0.1:8080",
      "inventory-2  -     40001  restarting  12        http://127.0.0.1:40001",
    ].join("\n"),
  );
});

Deno.test("formatStatusTable() prints only the header for no services", () => {
  assert.equal(formatStatusTable([]), "NAME  PID  PORT  STATE  RESTARTS  URL");
});
