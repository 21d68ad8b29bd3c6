/**
 * A small stand-in for a Consul agent's HTTP API, for contract tests of
 * Consul clients where no Consul server exists.
 *
 * Reads are answered in the format of HashiCorp's own API fixtures,
 * `@hashicorp/consul-api-double` (rendered from its templates with seeded
 * fake data): `GET /v1/health/service/<name>` builds each entry from the
 * fixture's `Node`/`Service`/`Checks` shape, and any other `GET` the fixtures
 * cover is served from them as they are. Writes are stateful: the agent
 * endpoints that register a service, pass a TTL check and deregister keep
 * services and checks in memory, expire TTL checks, run HTTP checks, reap
 * services critical for longer than `DeregisterCriticalServiceAfter`, and
 * answer blocking queries (`index`, `wait`, `X-Consul-Index`). Every request
 * is recorded so a test can assert what a client sent.
 *
 * It is not Consul: request bodies are checked against the documented field
 * names with their documented casing (Consul itself also accepts other
 * casings), error texts are close to Consul's but not guaranteed equal, and
 * `DeregisterCriticalServiceAfter` is honoured as given (Consul enforces at
 * least one minute).
 *
 * @module
 */

import { renderFixture } from "./_consul_fixtures.ts";

/** Options of {@linkcode ConsulDouble.start}. */
export interface ConsulDoubleOptions {
  /**
   * The ACL token every request must carry in `X-Consul-Token`; requests
   * without it get 403. @default {no ACLs}
   */
  token?: string;
  /** Seed of the fixtures' fake data; the same seed renders the same data. @default {1} */
  seed?: number;
  /**
   * Values the fixture templates read with `env()`, e.g.
   * `{ CONSUL_NODE_COUNT: 3, CONSUL_LATENCY: 50 }`. @default {{}}
   */
  env?: Readonly<Record<string, string | number>>;
  /**
   * Services whose `GET /v1/health/service/<name>` is the rendered fixture
   * itself (random nodes, as consul-api-double serves it) instead of the
   * registered instances. @default {[]}
   */
  fixtureServices?: readonly string[];
}

/** One request the double received. */
export interface ConsulDoubleRequest {
  /** HTTP method. */
  readonly method: string;
  /** Path, e.g. `/v1/agent/service/register`. */
  readonly path: string;
  /** Query parameters. */
  readonly query: Readonly<Record<string, string>>;
  /** Headers, with lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body parsed as JSON (its text when it is not JSON; `undefined` when empty). */
  readonly body: unknown;
}

/** A check as the double holds it (the shape of `GET /v1/agent/checks`). */
export interface ConsulDoubleCheck {
  /** Check id, e.g. `service:payment-1`. */
  CheckID: string;
  /** Check name. */
  Name: string;
  /** `ttl` or `http`. */
  Type: "ttl" | "http";
  /** Current status. */
  Status: "passing" | "warning" | "critical";
  /** Output of the last update. */
  Output: string;
  /** Notes from the definition. */
  Notes: string;
  /** The service it belongs to. */
  ServiceID: string;
  /** That service's name. */
  ServiceName: string;
}

/** A registered service (the shape of `GET /v1/agent/services`). */
export interface ConsulDoubleService {
  /** Service id. */
  ID: string;
  /** Service name. */
  Service: string;
  /** Tags. */
  Tags: string[];
  /** Meta. */
  Meta: Record<string, string>;
  /** Port. */
  Port: number;
  /** Address (`""` when registered without one). */
  Address: string;
}

interface CheckState extends ConsulDoubleCheck {
  ttlMs?: number;
  expiresAt?: number;
  deregisterAfterMs?: number;
  criticalSince?: number;
  probe?: ReturnType<typeof setInterval>;
}

type Reply = { status: number; body?: unknown; headers?: Record<string, string> };

const SERVICE_FIELDS = new Set([
  "ID",
  "Name",
  "Tags",
  "Address",
  "TaggedAddresses",
  "Meta",
  "Port",
  "Kind",
  "Proxy",
  "Connect",
  "Check",
  "Checks",
  "EnableTagOverride",
  "Weights",
  "Namespace",
  "Partition",
  "Locality",
]);

const CHECK_FIELDS = new Set([
  "CheckID",
  "Name",
  "Notes",
  "ServiceID",
  "Status",
  "Interval",
  "Timeout",
  "TTL",
  "HTTP",
  "Header",
  "Method",
  "Body",
  "DisableRedirects",
  "TLSServerName",
  "TLSSkipVerify",
  "DeregisterCriticalServiceAfter",
  "Args",
  "AliasNode",
  "AliasService",
  "DockerContainerID",
  "Shell",
  "GRPC",
  "GRPCUseTLS",
  "H2PING",
  "H2PingUseTLS",
  "TCP",
  "UDP",
  "OSService",
  "SuccessBeforePassing",
  "FailuresBeforeWarning",
  "FailuresBeforeCritical",
  "OutputMaxSize",
]);

const STATUSES = new Set(["passing", "warning", "critical"]);

/**
 * A fake Consul agent on `127.0.0.1` and a free port. See the module
 * documentation for what it does and does not do.
 *
 * @example
 * ```ts
 * import { ConsulDouble } from "@flotilla/testing";
 *
 * await using consul = await ConsulDouble.start({ token: "s3cr3t" });
 * await fetch(`${consul.endpoint}/v1/agent/service/register`, {
 *   method: "PUT",
 *   headers: { "X-Consul-Token": "s3cr3t" },
 *   body: JSON.stringify({ ID: "web-1", Name: "web", Port: 80, Check: { TTL: "10s" } }),
 * }).then((response) => response.body?.cancel());
 * consul.requests.at(-1)?.body; // { ID: "web-1", … }
 * ```
 */
export class ConsulDouble implements AsyncDisposable {
  /** Base URL of the API, e.g. `http://127.0.0.1:41234`. */
  readonly endpoint: string;
  /** Every request received, oldest first. */
  readonly requests: ConsulDoubleRequest[] = [];
  #options: ConsulDoubleOptions;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #services = new Map<string, ConsulDoubleService>();
  #checks = new Map<string, CheckState>();
  #index = 10;
  #changed = new Set<() => void>();
  #failures: Array<{ status: number; body: string }> = [];
  #closing = new AbortController();
  #sweeper: ReturnType<typeof setInterval>;
  #skeleton: Promise<Record<string, unknown>> | undefined;

  private constructor(options: ConsulDoubleOptions) {
    this.#options = options;
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => this.#handle(request),
    );
    this.endpoint = `http://127.0.0.1:${this.#server.addr.port}`;
    this.#sweeper = setInterval(() => this.#sweep(), 10);
  }

  /** Starts the double on a free port. */
  static start(options: ConsulDoubleOptions = {}): Promise<ConsulDouble> {
    return Promise.resolve(new ConsulDouble(options));
  }

  /** The current `X-Consul-Index`; it grows with every change. */
  get index(): number {
    return this.#index;
  }

  /** The registered services, by id (as `GET /v1/agent/services`). */
  get services(): ReadonlyMap<string, Readonly<ConsulDoubleService>> {
    return this.#services;
  }

  /** The checks, by id (as `GET /v1/agent/checks`). */
  get checks(): ReadonlyMap<string, Readonly<ConsulDoubleCheck>> {
    return this.#checks;
  }

  /** The requests received for `path` (and `method`, when given). */
  requestsTo(path: string | RegExp, method?: string): ConsulDoubleRequest[] {
    return this.requests.filter((r) =>
      (typeof path === "string" ? r.path === path : path.test(r.path)) &&
      (method === undefined || r.method === method)
    );
  }

  /**
   * Sets the index, e.g. lower, as after a Consul server is restored from a
   * snapshot. Blocked queries go on waiting for an index above theirs.
   */
  setIndex(index: number): void {
    this.#index = index;
    this.#wake();
  }

  /** Changes a check's status, e.g. to make an instance critical. */
  setCheckStatus(checkId: string, status: ConsulDoubleCheck["Status"], output = ""): void {
    const check = this.#checks.get(checkId);
    if (check === undefined) throw new Error(`Unknown check ${checkId}`);
    this.#setStatus(check, status, output);
  }

  /** Forgets all services and checks, as an agent that lost its state. */
  reset(): void {
    for (const check of this.#checks.values()) clearInterval(check.probe);
    this.#checks.clear();
    this.#services.clear();
    this.#bump();
  }

  /** Answers the next `count` requests with `status` and `body`, e.g. 500 "No cluster leader". */
  failNext(count: number, status = 500, body = "rpc error making call: No cluster leader"): void {
    for (let i = 0; i < count; i++) this.#failures.push({ status, body });
  }

  /**
   * The consul-api-double fixture for `GET path`, rendered with this
   * double's seed and env, and parsed; `undefined` when there is none.
   */
  async fixture(
    path: string,
    query: Readonly<Record<string, string>> = {},
  ): Promise<{ body: unknown; headers: Record<string, string> } | undefined> {
    const rendered = await renderFixture({
      path,
      query,
      env: this.#options.env ?? {},
      seed: this.#options.seed ?? 1,
    });
    return rendered && { body: JSON.parse(rendered.body), headers: rendered.headers };
  }

  /** Ends blocked queries, stops the checks and closes the server. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    clearInterval(this.#sweeper);
    for (const check of this.#checks.values()) clearInterval(check.probe);
    this.#wake();
    await this.#server.shutdown();
  }

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const text = await request.text();
    let body: unknown = undefined;
    if (text !== "") {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => headers[name] = value);
    const query = Object.fromEntries(url.searchParams);
    this.requests.push({ method: request.method, path: url.pathname, query, headers, body });
    const reply = await this.#route(request.method, url.pathname, query, headers, body);
    const responseHeaders = new Headers(reply.headers);
    let payload: string | null = null;
    if (reply.body !== undefined) {
      const json = typeof reply.body !== "string";
      payload = json ? JSON.stringify(reply.body) : reply.body as string;
      responseHeaders.set("content-type", json ? "application/json" : "text/plain; charset=utf-8");
    }
    return new Response(payload, { status: reply.status, headers: responseHeaders });
  }

  async #route(
    method: string,
    path: string,
    query: Record<string, string>,
    headers: Record<string, string>,
    body: unknown,
  ): Promise<Reply> {
    const failure = this.#failures.shift();
    if (failure !== undefined) return { status: failure.status, body: failure.body };
    const token = this.#options.token;
    if (token !== undefined) {
      const sent = headers["x-consul-token"];
      if (sent === undefined) {
        return { status: 403, body: "Permission denied: anonymous token lacks permission" };
      }
      if (sent !== token) return { status: 403, body: "ACL not found" };
    }
    let match: RegExpExecArray | null;
    if (method === "PUT" && path === "/v1/agent/service/register") {
      return this.#register(body, query);
    }
    if ((match = /^\/v1\/agent\/service\/deregister\/(.+)$/.exec(path)) && method === "PUT") {
      return this.#deregister(decodeURIComponent(match[1]!));
    }
    if ((match = /^\/v1\/agent\/check\/(pass|warn|fail)\/(.+)$/.exec(path)) && method === "PUT") {
      const status = { pass: "passing", warn: "warning", fail: "critical" } as const;
      return this.#updateTtl(
        decodeURIComponent(match[2]!),
        status[match[1] as "pass" | "warn" | "fail"],
        query.note ?? "",
      );
    }
    if ((match = /^\/v1\/health\/service\/([^/]+)$/.exec(path)) && method === "GET") {
      return await this.#health(decodeURIComponent(match[1]!), path, query, headers);
    }
    if (method === "GET" && path === "/v1/agent/services") {
      return { status: 200, body: Object.fromEntries(this.#services) };
    }
    if (method === "GET" && path === "/v1/agent/checks") {
      return { status: 200, body: Object.fromEntries([...this.#checks].map(publicCheck)) };
    }
    if (method === "GET") {
      const rendered = await renderFixture({
        path,
        query,
        headers,
        env: this.#options.env ?? {},
        seed: this.#options.seed ?? 1,
      }).catch(() => undefined);
      if (rendered !== undefined && rendered.body.trim() !== "") {
        return { status: 200, body: rendered.body, headers: rendered.headers };
      }
    }
    return { status: 404, body: `Not found: ${method} ${path}` };
  }

  #register(body: unknown, query: Record<string, string>): Reply {
    const invalid = (message: string): Reply => ({ status: 400, body: message });
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      return invalid("Request decode failed: body must be a JSON object");
    }
    const service = body as Record<string, unknown>;
    const unknown = Object.keys(service).filter((key) => !SERVICE_FIELDS.has(key));
    if (unknown.length > 0) {
      return invalid(`Request decode failed: unknown field(s) ${unknown.join(", ")}`);
    }
    if (typeof service.Name !== "string" || service.Name === "") {
      return invalid("Missing service name");
    }
    const id = service.ID === undefined ? service.Name : service.ID;
    if (typeof id !== "string" || id === "") return invalid("Invalid service ID");
    const port = service.Port ?? 0;
    if (!(Number.isInteger(port) && (port as number) >= 0 && (port as number) <= 65535)) {
      return invalid(`Invalid Port: ${JSON.stringify(service.Port)}`);
    }
    const address = service.Address ?? "";
    if (typeof address !== "string") return invalid("Invalid Address");
    const meta = service.Meta ?? {};
    if (
      typeof meta !== "object" || meta === null ||
      Object.values(meta).some((v) => typeof v !== "string")
    ) {
      return invalid("Invalid Meta: must map strings to strings");
    }
    const tags = service.Tags ?? [];
    if (!Array.isArray(tags) || tags.some((t) => typeof t !== "string")) {
      return invalid("Invalid Tags");
    }
    if (service.Check !== undefined && service.Checks !== undefined) {
      // Consul merges them; the double keeps it simple.
      return invalid("The double takes either Check or Checks, not both");
    }
    const definitions = service.Checks !== undefined
      ? service.Checks
      : service.Check === undefined
      ? []
      : [service.Check];
    if (!Array.isArray(definitions)) return invalid("Invalid Checks: must be an array");
    const checks: CheckState[] = [];
    for (const [i, definition] of definitions.entries()) {
      const defaultId = service.Checks === undefined ? `service:${id}` : `service:${id}:${i + 1}`;
      const check = parseCheck(definition, defaultId, id, service.Name);
      if (typeof check === "string") return invalid(check);
      checks.push(check);
    }
    const previous = [...this.#checks.values()].filter((c) => c.ServiceID === id);
    const replace = query["replace-existing-checks"] === "true" ||
      query["replace-existing-checks"] === "1";
    for (const check of previous) {
      if (replace || checks.some((c) => c.CheckID === check.CheckID)) {
        clearInterval(check.probe);
        this.#checks.delete(check.CheckID);
      }
    }
    this.#services.set(id, {
      ID: id,
      Service: service.Name,
      Tags: [...tags] as string[],
      Meta: { ...meta as Record<string, string> },
      Port: port as number,
      Address: address,
    });
    for (const check of checks) {
      // An unchanged TTL check keeps its status across re-registration, as in Consul.
      const old = previous.find((c) => c.CheckID === check.CheckID);
      if (old !== undefined && old.Type === check.Type && check.Type === "ttl") {
        check.Status = old.Status;
        check.Output = old.Output;
        if (old.expiresAt !== undefined) check.expiresAt = old.expiresAt;
        if (old.criticalSince !== undefined) check.criticalSince = old.criticalSince;
      }
      if (check.Status === "critical") check.criticalSince ??= Date.now();
      this.#checks.set(check.CheckID, check);
      if (check.Type === "http") this.#startProbe(check, definitions[checks.indexOf(check)]);
    }
    this.#bump();
    return { status: 200 };
  }

  #deregister(id: string): Reply {
    if (!this.#services.has(id)) {
      return {
        status: 404,
        body:
          `Unknown service ID "${id}". Ensure that the service ID is passed, not the service name.`,
      };
    }
    this.#remove(id);
    return { status: 200 };
  }

  #updateTtl(checkId: string, status: ConsulDoubleCheck["Status"], note: string): Reply {
    const check = this.#checks.get(checkId);
    if (check === undefined || check.Type !== "ttl" || check.ttlMs === undefined) {
      return { status: 500, body: `CheckID "${checkId}" does not have associated TTL` };
    }
    check.expiresAt = Date.now() + check.ttlMs;
    this.#setStatus(check, status, note);
    return { status: 200 };
  }

  async #health(
    name: string,
    path: string,
    query: Record<string, string>,
    headers: Record<string, string>,
  ): Promise<Reply> {
    const waitMs = Math.min(parseDuration(query.wait ?? "5m") ?? 300_000, 600_000);
    if (this.#options.fixtureServices?.includes(name)) {
      const rendered = await renderFixture({
        path,
        query,
        headers,
        env: this.#options.env ?? {},
        seed: this.#options.seed ?? 1,
      });
      if (rendered === undefined) return { status: 404 };
      if (query.index !== undefined) await this.#sleep(Math.min(rendered.latencyMs, waitMs));
      const entries = JSON.parse(rendered.body) as Array<Record<string, unknown>>;
      return {
        status: 200,
        body: query.passing === undefined ? entries : entries.filter(allPassing),
        headers: rendered.headers,
      };
    }
    const minIndex = Number(query.index ?? 0);
    const deadline = Date.now() + waitMs;
    while (
      query.index !== undefined && this.#index <= minIndex && !this.#closing.signal.aborted &&
      Date.now() < deadline
    ) {
      await this.#nextChange(deadline - Date.now());
    }
    const skeleton = await this.#skeletonEntry(name);
    let entries = [...this.#services.values()]
      .filter((service) => service.Service === name)
      .sort((a, b) => a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0)
      .map((service) => healthEntry(skeleton, service, this.#checksOf(service.ID)));
    if (query.passing !== undefined && query.passing !== "false") {
      entries = entries.filter(allPassing);
    }
    return {
      status: 200,
      body: entries,
      headers: {
        "X-Consul-Index": String(this.#index),
        "X-Consul-KnownLeader": "true",
        "X-Consul-LastContact": "0",
      },
    };
  }

  /** One rendered fixture entry whose Node, Service and Check shapes the double's entries take. */
  #skeletonEntry(name: string): Promise<Record<string, unknown>> {
    this.#skeleton ??= renderFixture({
      path: `/v1/health/service/${name}`,
      query: {},
      env: { ...this.#options.env, CONSUL_NODE_COUNT: 1, CONSUL_CHECK_COUNT: 1 },
      seed: this.#options.seed ?? 1,
    }).then((rendered) => {
      const entries = JSON.parse(rendered?.body ?? "[]") as Array<Record<string, unknown>>;
      if (entries[0] === undefined) throw new Error("The health fixture rendered no entry");
      return entries[0];
    });
    return this.#skeleton;
  }

  #checksOf(serviceId: string): CheckState[] {
    return [...this.#checks.values()].filter((check) => check.ServiceID === serviceId);
  }

  #startProbe(check: CheckState, definition: unknown): void {
    const d = definition as Record<string, unknown>;
    const interval = parseDuration(String(d.Interval)) ?? 10_000;
    const timeout = parseDuration(String(d.Timeout ?? "10s")) ?? 10_000;
    const url = String(d.HTTP);
    const method = typeof d.Method === "string" ? d.Method : "GET";
    const probe = async () => {
      if (this.#checks.get(check.CheckID) !== check) return;
      try {
        const response = await fetch(url, { method, signal: AbortSignal.timeout(timeout) });
        await response.body?.cancel();
        const status = response.ok ? "passing" : response.status === 429 ? "warning" : "critical";
        this.#setStatus(check, status, `HTTP ${method} ${url}: ${response.status}`);
      } catch (error) {
        this.#setStatus(check, "critical", `HTTP ${method} ${url}: ${String(error)}`);
      }
    };
    check.probe = setInterval(probe, interval);
    void probe();
  }

  #setStatus(check: CheckState, status: ConsulDoubleCheck["Status"], output: string): void {
    if (this.#checks.get(check.CheckID) !== check) return;
    const changed = check.Status !== status || check.Output !== output;
    if (status === "critical") check.criticalSince ??= Date.now();
    else delete check.criticalSince;
    check.Status = status;
    check.Output = output;
    if (changed) this.#bump();
  }

  #sweep(): void {
    const now = Date.now();
    for (const check of [...this.#checks.values()]) {
      if (check.Type === "ttl" && check.expiresAt !== undefined && now > check.expiresAt) {
        delete check.expiresAt;
        this.#setStatus(check, "critical", "TTL expired");
      }
      if (
        check.deregisterAfterMs !== undefined && check.criticalSince !== undefined &&
        now - check.criticalSince >= check.deregisterAfterMs && this.#services.has(check.ServiceID)
      ) {
        this.#remove(check.ServiceID);
      }
    }
  }

  #remove(serviceId: string): void {
    this.#services.delete(serviceId);
    for (const check of this.#checksOf(serviceId)) {
      clearInterval(check.probe);
      this.#checks.delete(check.CheckID);
    }
    this.#bump();
  }

  #bump(): void {
    this.#index++;
    this.#wake();
  }

  #wake(): void {
    for (const wake of [...this.#changed]) wake();
  }

  #nextChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#changed.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.#changed.add(done);
    });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#closing.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#closing.signal.addEventListener("abort", done, { once: true });
    });
  }
}

function parseCheck(
  definition: unknown,
  defaultId: string,
  serviceId: string,
  serviceName: string,
): CheckState | string {
  if (typeof definition !== "object" || definition === null || Array.isArray(definition)) {
    return "Invalid check: must be a JSON object";
  }
  const d = definition as Record<string, unknown>;
  const unknown = Object.keys(d).filter((key) => !CHECK_FIELDS.has(key));
  if (unknown.length > 0) {
    return `Request decode failed: unknown check field(s) ${unknown.join(", ")}`;
  }
  const kinds = ["TTL", "HTTP", "TCP", "Args", "GRPC", "H2PING", "UDP", "AliasService"]
    .filter((key) => d[key] !== undefined);
  if (kinds.length !== 1) {
    return "Invalid check: exactly one of TTL, HTTP, TCP, Args, GRPC, H2PING, UDP or AliasService must be set";
  }
  const status = d.Status ?? "critical";
  if (typeof status !== "string" || !STATUSES.has(status)) {
    return `Invalid check status: ${JSON.stringify(d.Status)}`;
  }
  const check: CheckState = {
    CheckID: typeof d.CheckID === "string" && d.CheckID !== "" ? d.CheckID : defaultId,
    Name: typeof d.Name === "string" && d.Name !== "" ? d.Name : `Service '${serviceName}' check`,
    Type: "ttl",
    Status: status as ConsulDoubleCheck["Status"],
    Output: "",
    Notes: typeof d.Notes === "string" ? d.Notes : "",
    ServiceID: serviceId,
    ServiceName: serviceName,
  };
  if (d.DeregisterCriticalServiceAfter !== undefined) {
    const after = parseDuration(d.DeregisterCriticalServiceAfter);
    if (after === undefined) {
      return `Invalid DeregisterCriticalServiceAfter: ${
        JSON.stringify(d.DeregisterCriticalServiceAfter)
      }`;
    }
    check.deregisterAfterMs = after;
  }
  if (d.TTL !== undefined) {
    const ttl = parseDuration(d.TTL);
    if (ttl === undefined || ttl <= 0) return `Invalid TTL: ${JSON.stringify(d.TTL)}`;
    check.ttlMs = ttl;
    return check;
  }
  if (d.HTTP !== undefined) {
    if (typeof d.HTTP !== "string" || !URL.canParse(d.HTTP)) {
      return `Invalid HTTP: ${JSON.stringify(d.HTTP)}`;
    }
    const interval = parseDuration(d.Interval);
    if (interval === undefined || interval <= 0) {
      return "Invalid check: HTTP checks need an Interval";
    }
    if (d.Timeout !== undefined && parseDuration(d.Timeout) === undefined) {
      return `Invalid Timeout: ${JSON.stringify(d.Timeout)}`;
    }
    check.Type = "http";
    return check;
  }
  return `The double does not run ${kinds[0]} checks`;
}

/** Parses a Go duration (`10s`, `1.5s`, `500ms`, `1m30s`, `2h`) into milliseconds. */
function parseDuration(value: unknown): number | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  const units: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    "µs": 1e-3,
    ms: 1,
    s: 1_000,
    m: 60_000,
    h: 3_600_000,
  };
  let total = 0;
  let rest = value;
  while (rest !== "") {
    const match = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/.exec(rest);
    if (match === null) return value === "0" ? 0 : undefined;
    total += Number(match[1]) * units[match[2]!]!;
    rest = rest.slice(match[0].length);
  }
  return total;
}

function publicCheck([id, check]: [string, CheckState]): [string, ConsulDoubleCheck] {
  const { CheckID, Name, Type, Status, Output, Notes, ServiceID, ServiceName } = check;
  return [id, { CheckID, Name, Type, Status, Output, Notes, ServiceID, ServiceName }];
}

function allPassing(entry: Record<string, unknown>): boolean {
  const checks = (entry.Checks ?? []) as Array<{ Status?: string }>;
  return checks.every((check) => check.Status === "passing");
}

function healthEntry(
  skeleton: Record<string, unknown>,
  service: ConsulDoubleService,
  checks: readonly CheckState[],
): Record<string, unknown> {
  const node = skeleton.Node as Record<string, unknown>;
  const skeletonService = skeleton.Service as Record<string, unknown>;
  const skeletonCheck = ((skeleton.Checks ?? []) as Array<Record<string, unknown>>)[0] ?? {};
  const { Namespace: _, ...serviceShape } = skeletonService;
  return {
    Node: node,
    Service: {
      ...serviceShape,
      ID: service.ID,
      Service: service.Service,
      Tags: service.Tags,
      Meta: service.Meta,
      Address: service.Address,
      Port: service.Port,
    },
    Checks: [
      {
        ...skeletonCheck,
        Node: node.Node,
        CheckID: "serfHealth",
        Name: "Serf Health Status",
        Type: "",
        Status: "passing",
        Notes: "",
        Output: "Agent alive and reachable",
        ServiceID: "",
        ServiceName: "",
        ServiceTags: [],
      },
      ...checks.map((check) => ({
        ...skeletonCheck,
        Node: node.Node,
        CheckID: check.CheckID,
        Name: check.Name,
        Type: check.Type,
        Status: check.Status,
        Notes: check.Notes,
        Output: check.Output,
        ServiceID: check.ServiceID,
        ServiceName: check.ServiceName,
        ServiceTags: service.Tags,
      })),
    ],
  };
}
