// Internal to the CLI: `flotilla dashboard`, an operator's web page over a running system.

import { join } from "node:path";
import {
  readStatus as readSupervisorStatus,
  resolveDataRoot,
  type ServiceStatus,
  type SupervisorStatus,
} from "@flotilla/supervisor";
import type { Io } from "./_io.ts";
import { DASHBOARD_PAGE } from "./_dashboard_page.ts";

/** The port `flotilla dashboard` listens on without `--port`. */
export const DEFAULT_DASHBOARD_PORT = 8090;

/** The header a state-changing request must carry: a cross-site page cannot send it without a preflight we never allow. */
export const DASHBOARD_HEADER = "x-flotilla-dashboard";

/** The checkout states, in the order the dashboard shows them. */
export const CHECKOUT_STATUSES = [
  "RUNNING",
  "COMPENSATING",
  "COMPLETED",
  "COMPENSATED",
  "NEEDS_ATTENTION",
] as const;

/** A checkout state. */
export type CheckoutStatus = typeof CHECKOUT_STATUSES[number];

/** How many checkouts of each state the dashboard asks for; a count at the limit reads "1000+". */
const CHECKOUT_LIMIT = 1000;
const CONFIG_TOKEN_FILE = "config.token";
const SCRAPE_TIMEOUT_MS = 2_000;
const LIST_TIMEOUT_MS = 5_000;
const RESUME_TIMEOUT_MS = 60_000;
const LOOPBACK_NAMES: ReadonlySet<string> = new Set(["127.0.0.1", "localhost", "[::1]"]);

// ---------------------------------------------------------------------------
// Prometheus text format (0.0.4), the little of it the dashboard reads.

/** One sample of a Prometheus exposition. */
export interface Sample {
  /** The sample's name (`flotilla_server_requests_total`, `…_bucket`…). */
  readonly name: string;
  /** Its labels, unescaped. */
  readonly labels: Readonly<Record<string, string>>;
  /** Its value; `+Inf`, `-Inf` and `NaN` included. */
  readonly value: number;
}

/**
 * Reads the samples of a Prometheus text exposition, keeping only those whose
 * name is in `names` when given. Comments and blank lines are skipped, label
 * values are unescaped (`\\`, `\"`, `\n`), a timestamp is ignored, and a line
 * that is not a sample is skipped rather than failing the whole scrape.
 */
export function parsePrometheusText(text: string, names?: ReadonlySet<string>): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const sample = parseSampleLine(trimmed, names);
    if (sample !== undefined) samples.push(sample);
  }
  return samples;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseSampleLine(line: string, names: ReadonlySet<string> | undefined): Sample | undefined {
  const name = NAME.exec(line)?.[0];
  if (name === undefined || (names !== undefined && !names.has(name))) return undefined;
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === "{") {
    i++;
    for (;;) {
      while (line[i] === " " || line[i] === ",") i++;
      if (line[i] === "}") {
        i++;
        break;
      }
      const label = LABEL_NAME.exec(line.slice(i))?.[0];
      if (label === undefined) return undefined;
      i += label.length;
      while (line[i] === " ") i++;
      if (line[i] !== "=") return undefined;
      i++;
      while (line[i] === " ") i++;
      if (line[i] !== '"') return undefined;
      i++;
      let value = "";
      for (;;) {
        const c = line[i];
        if (c === undefined) return undefined;
        i++;
        if (c === '"') break;
        if (c === "\\") {
          const next = line[i];
          if (next === undefined) return undefined;
          i++;
          value += next === "n" ? "\n" : next === "\\" || next === '"' ? next : `\\${next}`;
        } else {
          value += c;
        }
      }
      labels[label] = value;
    }
  }
  const [raw] = line.slice(i).trim().split(/\s+/);
  const value = parseValue(raw);
  return value === undefined ? undefined : { name, labels, value };
}

function parseValue(raw: string | undefined): number | undefined {
  switch (raw) {
    case undefined:
    case "":
      return undefined;
    case "+Inf":
    case "Inf":
      return Infinity;
    case "-Inf":
      return -Infinity;
    case "NaN":
      return NaN;
  }
  const value = Number(raw);
  return Number.isNaN(value) ? undefined : value;
}

// ---------------------------------------------------------------------------
// What one scrape of a service's /metrics says.

/** A circuit breaker's state (`flotilla_circuit_breaker_state`: 0 closed, 1 half_open, 2 open). */
export type BreakerState = "closed" | "half_open" | "open";

/** One circuit breaker of a service: towards an endpoint of a peer. */
export interface BreakerView {
  /** The peer service. */
  peer: string;
  /** The endpoint (instance address) of the peer. */
  endpoint: string;
  /** Its state. */
  state: BreakerState;
}

/** The figures the dashboard takes from one scrape. */
export interface MetricsDigest {
  /** Inbound calls handled since the process started (`flotilla_server_requests_total`), but the dashboard's own. */
  requests: number;
  /** Those whose outcome is not `ok`. */
  errors: number;
  /** Breakers per peer endpoint, sorted. */
  breakers: BreakerView[];
  /** Sagas finished since the start, by outcome (`flotilla_saga_outcomes_total`). */
  sagas: Record<string, number>;
}

const DIGEST_FAMILIES: ReadonlySet<string> = new Set([
  "flotilla_server_requests_total",
  "flotilla_circuit_breaker_state",
  "flotilla_saga_outcomes_total",
]);

const BREAKER_STATES: readonly BreakerState[] = ["closed", "half_open", "open"];

/** Actions the dashboard itself calls on every refresh: left out of traffic, or it would measure itself. */
const DASHBOARD_ACTIONS: ReadonlySet<string> = new Set(["listCheckouts"]);

/**
 * Sums a service's request counters (but for `listCheckouts`, which the
 * dashboard's own refreshes call), reads its breakers and saga outcomes from
 * its `/metrics`.
 */
export function digestMetrics(text: string): MetricsDigest {
  const digest: MetricsDigest = { requests: 0, errors: 0, breakers: [], sagas: {} };
  for (const sample of parsePrometheusText(text, DIGEST_FAMILIES)) {
    if (sample.name === "flotilla_server_requests_total") {
      if (DASHBOARD_ACTIONS.has(sample.labels.action ?? "")) continue;
      digest.requests += sample.value;
      if (sample.labels.outcome !== "ok") digest.errors += sample.value;
    } else if (sample.name === "flotilla_circuit_breaker_state") {
      digest.breakers.push({
        peer: sample.labels.peer ?? "",
        endpoint: sample.labels.endpoint ?? "",
        state: BREAKER_STATES[sample.value] ?? "open",
      });
    } else {
      const outcome = sample.labels.outcome ?? "unknown";
      digest.sagas[outcome] = (digest.sagas[outcome] ?? 0) + sample.value;
    }
  }
  digest.breakers.sort((a, b) =>
    a.peer.localeCompare(b.peer) || a.endpoint.localeCompare(b.endpoint)
  );
  return digest;
}

// ---------------------------------------------------------------------------
// The overview the page polls.

/** A service's traffic: totals since its start and rates over the dashboard's window. */
export interface TrafficView {
  /** Inbound calls since the process started. */
  requests: number;
  /** Those that failed (outcome other than `ok`). */
  errors: number;
  /** Calls per second over the window; null until two scrapes of the same process. */
  requestRate: number | null;
  /** Failed share of the calls in the window; null when none came. */
  errorRatio: number | null;
  /** Calls in the window. */
  windowRequests: number;
  /** Failed calls in the window. */
  windowErrors: number;
}

/** One chaos rule as a service's `GET /config` shows it. */
export interface ChaosRuleView {
  id: string;
  enabled: boolean;
  peer?: string;
  action?: string;
  side?: string[];
  percentage?: number;
  fault?: Record<string, unknown>;
}

/** One service process in the overview. */
export interface ServiceView {
  /** Its name in status (`payment`, `payment-2`). */
  name: string;
  /** The service it runs. */
  service: string;
  /** Where it is in its life: `running`, `failed`… */
  state: string;
  /** Its pid, or null. */
  pid: number | null;
  /** Its port. */
  port: number;
  /** Its base URL. */
  url: string;
  /** How many times it was started again. */
  restarts: number;
  /** When its process started, ISO-8601, or null. */
  startedAt: string | null;
  /** Seconds since `startedAt`, by the dashboard's clock; null when not running. */
  uptimeSeconds: number | null;
  /** Its traffic, or null when its metrics could not be read. */
  traffic: TrafficView | null;
  /** Its circuit breakers. */
  breakers: BreakerView[];
  /** Sagas finished, by outcome (the order service's checkouts). */
  sagas: Record<string, number>;
  /** The chaos section of its configuration in force, or null when unknown. */
  chaos: { enabled: boolean; rules: ChaosRuleView[] } | null;
  /** What could not be read, for the operator. */
  problems: string[];
}

/** A parked checkout. */
export interface AttentionView {
  orderId: string;
  protocol: string;
  error: { code: string; message: string } | null;
  createdAt: string;
  updatedAt: string;
}

/** The order service's checkouts. */
export interface CheckoutsView {
  /** How many checkouts are in each state (at most {@link CheckoutsView.limit}). */
  counts: Record<CheckoutStatus, number>;
  /** The largest count asked for. */
  limit: number;
  /** The checkouts that need an operator (NEEDS_ATTENTION). */
  attention: AttentionView[];
  /** What could not be read, if anything. */
  problem?: string;
}

/** What `GET /api/overview` answers. */
export interface Overview {
  /** When it was assembled, ISO-8601. */
  generatedAt: string;
  /** The data folder of the system. */
  dataRoot: string;
  /** The system's name, or null without a status. */
  system: string | null;
  /** The supervisor, or null when none runs. */
  supervisor: { pid: number; startedAt: string } | null;
  /** Every service process, in plan order. */
  services: ServiceView[];
  /** The checkouts, or null when no order service runs. */
  checkouts: CheckoutsView | null;
}

/** Options of {@link createDashboard}. */
export interface DashboardOptions {
  /** The data folder of the system to show. */
  dataRoot: string;
  /** How HTTP requests to the services are made. @default {globalThis.fetch} */
  fetch?: typeof fetch;
  /** How the supervisor's status is read. @default {readStatus of @flotilla/supervisor} */
  readStatus?: (dataRoot: string) => Promise<SupervisorStatus | undefined>;
  /** How the `GET /config` token is read. @default {`<dataRoot>/config.token`} */
  readToken?: (dataRoot: string) => Promise<string>;
  /** The clock, milliseconds. @default {Date.now} */
  now?: () => number;
  /** How far back request rates look. @default {10_000} */
  rateWindowMs?: number;
  /** Aborts calls to the services in progress. */
  signal?: AbortSignal;
}

/** The dashboard's application: its HTTP handler and the overview it serves. */
export interface DashboardApp {
  /** Answers one request (the page, `/api/overview`, the resume endpoint). */
  handle(request: Request): Promise<Response>;
  /** Assembles the overview now. */
  overview(): Promise<Overview>;
}

interface Scrape {
  readonly at: number;
  readonly requests: number;
  readonly errors: number;
}

class UpstreamError extends Error {
  constructor(readonly status: number, readonly code: string, detail: string) {
    super(detail);
    this.name = "UpstreamError";
  }
}

/** Creates the dashboard's application over the system in `options.dataRoot`. */
export function createDashboard(options: DashboardOptions): DashboardApp {
  const { dataRoot } = options;
  if (typeof dataRoot !== "string" || dataRoot === "") {
    throw new RangeError(
      `Cannot create the dashboard as 'dataRoot' must be a folder: current value is "${dataRoot}"`,
    );
  }
  const doFetch = options.fetch ?? globalThis.fetch;
  const readStatus = options.readStatus ?? ((root: string) => readSupervisorStatus(root));
  const readToken = options.readToken ??
    (async (root: string) => (await Deno.readTextFile(join(root, CONFIG_TOKEN_FILE))).trim());
  const now = options.now ?? Date.now;
  const windowMs = options.rateWindowMs ?? 10_000;
  if (!(windowMs > 0)) {
    throw new RangeError(
      `Cannot create the dashboard as 'rateWindowMs' must be positive: current value is ${windowMs}`,
    );
  }
  /** Scrapes per process (name + start), oldest first, for rates. */
  const scrapes = new Map<string, Scrape[]>();
  let pending: Promise<Overview> | undefined;

  const timeout = (ms: number) =>
    options.signal === undefined
      ? AbortSignal.timeout(ms)
      : AbortSignal.any([options.signal, AbortSignal.timeout(ms)]);

  const get = async (url: string, headers: Record<string, string> = {}) => {
    const response = await doFetch(url, { headers, signal: timeout(SCRAPE_TIMEOUT_MS) });
    const text = await response.text();
    if (!response.ok) throw new Error(`${new URL(url).pathname} answered ${response.status}`);
    return text;
  };

  const callOrder = async (
    order: ServiceStatus,
    action: string,
    input: unknown,
    timeoutMs: number,
  ): Promise<unknown> => {
    let response: Response;
    try {
      response = await doFetch(`${order.url}/rpc/${action}`, {
        method: "POST",
        headers: { "content-type": "application/json", "flotilla-caller": "flotilla-dashboard" },
        body: JSON.stringify(input),
        signal: timeout(timeoutMs),
      });
    } catch (error) {
      throw new UpstreamError(
        502,
        "ORDER_SERVICE_UNREACHABLE",
        `cannot reach the order service at ${order.url}: ${(error as Error).message}`,
      );
    }
    const body = await response.json().catch(() => undefined) as
      | { code?: unknown; detail?: unknown }
      | undefined;
    if (!response.ok) {
      throw new UpstreamError(
        response.status,
        typeof body?.code === "string" ? body.code : "ORDER_SERVICE_ERROR",
        typeof body?.detail === "string" ? body.detail : `${action} answered ${response.status}`,
      );
    }
    return body;
  };

  const traffic = (process: ServiceStatus, digest: MetricsDigest, at: number): TrafficView => {
    const key = `${process.name}@${process.startedAt}`;
    let kept = scrapes.get(key) ?? [];
    const last = kept.at(-1);
    if (last !== undefined && (digest.requests < last.requests || digest.errors < last.errors)) {
      kept = []; // a counter went back: another process under the same start
    }
    kept.push({ at, requests: digest.requests, errors: digest.errors });
    // Keep the scrapes of the window, and always one before the newest.
    while (kept.length > 2 && kept[1]!.at <= at - windowMs) kept.shift();
    scrapes.set(key, kept);
    const first = kept[0]!;
    const seconds = (at - first.at) / 1000;
    const windowRequests = digest.requests - first.requests;
    const windowErrors = digest.errors - first.errors;
    return {
      requests: digest.requests,
      errors: digest.errors,
      requestRate: kept.length < 2 || seconds <= 0 ? null : windowRequests / seconds,
      errorRatio: kept.length < 2 || windowRequests <= 0 ? null : windowErrors / windowRequests,
      windowRequests: kept.length < 2 ? 0 : windowRequests,
      windowErrors: kept.length < 2 ? 0 : windowErrors,
    };
  };

  const serviceView = async (
    process: ServiceStatus,
    token: string | undefined,
    tokenProblem: string | undefined,
  ): Promise<ServiceView> => {
    const at = now();
    const running = process.state === "running";
    const started = process.startedAt === null ? NaN : Date.parse(process.startedAt);
    const view: ServiceView = {
      name: process.name,
      service: process.service,
      state: process.state,
      pid: process.pid,
      port: process.port,
      url: process.url,
      restarts: process.restarts,
      startedAt: process.startedAt,
      uptimeSeconds: running && Number.isFinite(started)
        ? Math.max(0, Math.floor((at - started) / 1000))
        : null,
      traffic: null,
      breakers: [],
      sagas: {},
      chaos: null,
      problems: [],
    };
    if (!running) return view;
    const [metrics, config] = await Promise.allSettled([
      get(`${process.url}/metrics`),
      token === undefined
        ? Promise.reject(new Error(tokenProblem))
        : get(`${process.url}/config`, { authorization: `Bearer ${token}` }),
    ]);
    if (metrics.status === "fulfilled") {
      const digest = digestMetrics(metrics.value);
      view.traffic = traffic(process, digest, now());
      view.breakers = digest.breakers;
      view.sagas = digest.sagas;
    } else {
      view.problems.push(`metrics: ${(metrics.reason as Error).message}`);
    }
    if (config.status === "fulfilled") {
      view.chaos = chaosOf(config.value);
    } else {
      view.problems.push(`chaos rules: ${(config.reason as Error).message}`);
    }
    return view;
  };

  const checkoutsView = async (order: ServiceStatus): Promise<CheckoutsView> => {
    const counts = Object.fromEntries(CHECKOUT_STATUSES.map((s) => [s, 0])) as Record<
      CheckoutStatus,
      number
    >;
    const view: CheckoutsView = { counts, limit: CHECKOUT_LIMIT, attention: [] };
    const lists = await Promise.allSettled(
      CHECKOUT_STATUSES.map((status) =>
        callOrder(order, "listCheckouts", { status, limit: CHECKOUT_LIMIT }, LIST_TIMEOUT_MS)
      ),
    );
    const problems = new Set<string>();
    lists.forEach((list, index) => {
      const status = CHECKOUT_STATUSES[index]!;
      if (list.status === "rejected") {
        const error = list.reason as Error & { code?: string };
        problems.add(`${error.code ?? "ERROR"}: ${error.message}`);
        return;
      }
      const checkouts = Array.isArray(list.value) ? list.value as AttentionView[] : [];
      counts[status] = checkouts.length;
      if (status === "NEEDS_ATTENTION") {
        view.attention = checkouts.map((c) => ({
          orderId: c.orderId,
          protocol: c.protocol,
          error: c.error,
          createdAt: c.createdAt,
          updatedAt: c.updatedAt,
        }));
      }
    });
    if (problems.size > 0) view.problem = `checkouts: ${[...problems].join("; ")}`;
    return view;
  };

  const assemble = async (): Promise<Overview> => {
    const status = await readStatus(dataRoot);
    const processes = status?.services ?? [];
    let token: string | undefined;
    let tokenProblem: string | undefined;
    if (processes.some((p) => p.state === "running")) {
      try {
        token = await readToken(dataRoot);
      } catch (error) {
        tokenProblem = `cannot read ${CONFIG_TOKEN_FILE}: ${(error as Error).message}`;
      }
    }
    const order = processes.find((p) => p.service === "order" && p.state === "running");
    const [services, checkouts] = await Promise.all([
      Promise.all(processes.map((p) => serviceView(p, token, tokenProblem))),
      order === undefined ? Promise.resolve(null) : checkoutsView(order),
    ]);
    const alive = new Set(processes.map((p) => `${p.name}@${p.startedAt}`));
    for (const key of scrapes.keys()) if (!alive.has(key)) scrapes.delete(key);
    // readStatus() reports a gone supervisor's services stopped, without pids nor control API.
    const gone = status === undefined ||
      (status.adminUrl === null && processes.every((p) => p.pid === null));
    return {
      generatedAt: new Date(now()).toISOString(),
      dataRoot,
      system: status?.system ?? null,
      supervisor: gone ? null : { pid: status.pid, startedAt: status.startedAt },
      services,
      checkouts,
    };
  };

  /** One assembly at a time: two tabs polling share a scrape. */
  const overview = () => {
    pending ??= assemble().finally(() => {
      pending = undefined;
    });
    return pending;
  };

  const resume = async (orderId: string): Promise<Response> => {
    const status = await readStatus(dataRoot);
    const order = status?.services.find((p) => p.service === "order" && p.state === "running");
    if (order === undefined) {
      return problem(503, "NO_ORDER_SERVICE", `no order service runs on ${dataRoot}`);
    }
    try {
      return json(200, await callOrder(order, "resumeCheckout", { orderId }, RESUME_TIMEOUT_MS));
    } catch (error) {
      if (error instanceof UpstreamError) return problem(error.status, error.code, error.message);
      throw error;
    }
  };

  const handle = async (request: Request): Promise<Response> => {
    try {
      const url = new URL(request.url);
      // DNS rebinding: a page of another site whose name now points at 127.0.0.1 sends its own Host.
      if (!LOOPBACK_NAMES.has(url.hostname)) {
        return problem(
          403,
          "HOST_NOT_ALLOWED",
          `the dashboard answers 127.0.0.1 and localhost only`,
        );
      }
      const path = url.pathname;
      if (path === "/" || path === "/index.html") {
        if (request.method !== "GET" && request.method !== "HEAD") return notAllowed("GET");
        return new Response(request.method === "HEAD" ? null : DASHBOARD_PAGE, {
          headers: {
            "content-type": "text/html; charset=utf-8",
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
            "content-security-policy": "default-src 'none'; script-src 'unsafe-inline'; " +
              "style-src 'unsafe-inline'; img-src data:; connect-src 'self'; base-uri 'none'; " +
              "form-action 'none'; frame-ancestors 'none'",
          },
        });
      }
      if (path === "/api/overview") {
        if (request.method !== "GET") return notAllowed("GET");
        return json(200, await overview());
      }
      const match = /^\/api\/checkouts\/([^/]+)\/resume$/.exec(path);
      if (match !== null) {
        if (request.method !== "POST") return notAllowed("POST");
        const refusal = crossSiteRefusal(request, url);
        if (refusal !== undefined) return refusal;
        let orderId: string;
        try {
          orderId = decodeURIComponent(match[1]!);
        } catch {
          return problem(400, "INVALID_ARGUMENT", "the order id is not a valid URL component");
        }
        return await resume(orderId);
      }
      return problem(404, "NOT_FOUND", `no route ${request.method} ${path}`);
    } catch (error) {
      return problem(500, "INTERNAL", (error as Error).message ?? String(error));
    }
  };

  return { handle, overview };
}

/**
 * Why a state-changing request is refused as cross-site, or undefined when it
 * may go on: it must carry `x-flotilla-dashboard: 1` (which a page of another
 * site cannot send without a CORS preflight, never allowed here), and an
 * `Origin` or `Sec-Fetch-Site` header, when the browser sends one, must say
 * same origin.
 */
function crossSiteRefusal(request: Request, url: URL): Response | undefined {
  const refuse = (why: string) =>
    problem(403, "CROSS_SITE_REQUEST", `refused a request that may come from another site: ${why}`);
  if (request.headers.get(DASHBOARD_HEADER) !== "1") {
    return refuse(`it lacks the '${DASHBOARD_HEADER}: 1' header`);
  }
  const origin = request.headers.get("origin");
  if (origin !== null && origin !== url.origin) return refuse(`its origin is ${origin}`);
  const site = request.headers.get("sec-fetch-site");
  if (site !== null && site !== "same-origin" && site !== "none") {
    return refuse(`Sec-Fetch-Site is ${site}`);
  }
  return undefined;
}

function chaosOf(configText: string): { enabled: boolean; rules: ChaosRuleView[] } | null {
  const doc = JSON.parse(configText) as {
    values?: { chaos?: { enabled?: boolean; rules?: ChaosRuleView[] } };
  };
  const chaos = doc.values?.chaos;
  if (chaos === undefined) return { enabled: false, rules: [] };
  return { enabled: chaos.enabled ?? false, rules: Array.isArray(chaos.rules) ? chaos.rules : [] };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}

function notAllowed(allow: string): Response {
  const response = problem(405, "METHOD_NOT_ALLOWED", `use ${allow}`);
  response.headers.set("allow", allow);
  return response;
}

/** A problem+json answer (RFC 9457) with a stable `code`. */
function problem(status: number, code: string, detail: string): Response {
  const slug = code.toLowerCase().replaceAll("_", "-");
  const title = code.charAt(0) + code.slice(1).toLowerCase().replaceAll("_", " ");
  return new Response(
    JSON.stringify({ type: `urn:flotilla:problem:${slug}`, title, status, detail, code }),
    { status, headers: { "content-type": "application/problem+json" } },
  );
}

// ---------------------------------------------------------------------------
// The server and the command.

/** Options of {@link startDashboard}. */
export interface StartDashboardOptions extends DashboardOptions {
  /** The port on 127.0.0.1; 0 picks a free one. @default {DEFAULT_DASHBOARD_PORT} */
  port?: number;
}

/** A running dashboard server. */
export interface Dashboard extends AsyncDisposable {
  /** Its base URL, `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Stops it: calls to the services in progress are aborted. */
  close(): Promise<void>;
}

/**
 * Serves the dashboard of the system in `options.dataRoot` on 127.0.0.1 —
 * never another address — and resolves once it listens.
 *
 * @example
 * ```ts ignore
 * await using dashboard = await startDashboard({ dataRoot: ".flotilla", port: 0 });
 * console.log(dashboard.url);
 * ```
 */
export async function startDashboard(options: StartDashboardOptions): Promise<Dashboard> {
  const port = options.port ?? DEFAULT_DASHBOARD_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(
      `Cannot start the dashboard as 'port' must be an integer 0-65535: current value is ${port}`,
    );
  }
  const closing = new AbortController();
  const signal = options.signal === undefined
    ? closing.signal
    : AbortSignal.any([options.signal, closing.signal]);
  const app = createDashboard({ ...options, signal });
  const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port,
    onListen: resolve,
  }, app.handle);
  const address = await listening;
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      closing.abort();
      await server.shutdown();
    })();
    return closed;
  };
  return { url: `http://127.0.0.1:${address.port}`, close, [Symbol.asyncDispose]: close };
}

/** Options of {@link dashboard}. */
export interface DashboardCommandOptions {
  /** The port on 127.0.0.1. */
  port: number;
  /** Where to write. */
  io: Io;
  /** The environment, for FLOTILLA_DATA_DIR. */
  env: Readonly<Record<string, string | undefined>>;
  /** The working directory, for the default data root. */
  cwd: string;
  /** Stops it. @default {SIGINT or SIGTERM} */
  signal?: AbortSignal;
}

/**
 * `flotilla dashboard [--port N]`: serves the dashboard until Ctrl-C or
 * SIGTERM. Returns the exit code: 0 once stopped, 1 when it cannot listen.
 */
export async function dashboard(options: DashboardCommandOptions): Promise<number> {
  const { io } = options;
  const dataRoot = resolveDataRoot(options.env, options.cwd);
  let server: Dashboard;
  try {
    server = await startDashboard({ dataRoot, port: options.port });
  } catch (error) {
    const why = error instanceof Deno.errors.AddrInUse
      ? `port ${options.port} is in use; choose another with --port`
      : (error as Error).message;
    io.err(`flotilla: cannot start the dashboard: ${why}`);
    return 1;
  }
  io.out(`dashboard on ${server.url} for ${dataRoot} — Ctrl-C to stop`);
  const { promise: stopped, resolve: stop } = Promise.withResolvers<void>();
  const listeners: Deno.Signal[] = [];
  if (options.signal === undefined) {
    for (const name of ["SIGINT", "SIGTERM"] as const) {
      Deno.addSignalListener(name, stop);
      listeners.push(name);
    }
  } else if (options.signal.aborted) {
    stop();
  } else {
    options.signal.addEventListener("abort", () => stop(), { once: true });
  }
  await stopped;
  for (const name of listeners) Deno.removeSignalListener(name, stop);
  await server.close();
  return 0;
}
