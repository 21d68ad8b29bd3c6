/**
 * Starts the shop through the real supervisor (`cli/flotilla.ts up`), on a
 * free gateway port and a temporary data folder, for e2e tests.
 *
 * @module
 */

import { freePort, type NatsServer, startNats, waitFor } from "@flotilla/testing";

const ROOT = new URL("../../", import.meta.url);
const CLI = new URL("cli/flotilla.ts", ROOT).pathname;

/** The permissions `deno task start` gives the supervisor. */
export const SUPERVISOR_FLAGS = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env",
  "--allow-run",
];

/** One row of `flotilla status --json`. */
export interface ServiceStatus {
  /** Service name. */
  name: string;
  /** Process id, or null when not running. */
  pid: number | null;
  /** Port it listens on. */
  port: number;
  /** Supervisor's view of it. */
  state: string;
  /** How many times it was restarted. */
  restarts: number;
}

/** A running shop. */
export interface Shop extends AsyncDisposable {
  /** The gateway's base URL. */
  readonly url: string;
  /** The data folder. */
  readonly dataDir: string;
  /** The supervisor process. */
  readonly process: Deno.ChildProcess;
  /** `flotilla status --json`, parsed. */
  status(): Promise<ServiceStatus[]>;
  /** Sends SIGTERM to the supervisor and resolves to its exit code. */
  stop(): Promise<number>;
  /** What the supervisor printed so far. */
  output(): string;
  /** GET a JSON document from the gateway. */
  get<T = unknown>(path: string): Promise<{ status: number; body: T; headers: Headers }>;
  /** POST a JSON document (or raw text) to the gateway. */
  post<T = unknown>(
    path: string,
    body: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: T; headers: Headers }>;
}

/** Options of {@link startShop}. */
export interface StartShopOptions {
  /** Data folder to use (kept); a fresh temp folder otherwise (removed on dispose). */
  dataDir?: string;
  /** Extra environment for the supervisor. */
  env?: Record<string, string>;
  /** Gateway port. @default {a free port} */
  port?: number;
}

/**
 * The transport between the services that e2e tests run the shop on unless
 * they choose one: `FLOTILLA_E2E_TRANSPORT=http|grpc|nats` (`deno task
 * test:e2e:grpc`, `test:e2e:nats`). With `nats`, each shop gets a NATS
 * server of its own, stopped with it.
 */
export function e2eTransport(): "http" | "grpc" | "nats" {
  const value = Deno.env.get("FLOTILLA_E2E_TRANSPORT") ?? "http";
  if (value !== "http" && value !== "grpc" && value !== "nats") {
    throw new Error(`FLOTILLA_E2E_TRANSPORT must be http, grpc or nats, not "${value}"`);
  }
  return value;
}

/**
 * The checkout protocol e2e tests run the shop with unless they choose one:
 * `FLOTILLA_E2E_CHECKOUT=saga|tcc` (`deno task test:e2e:tcc`).
 */
export function e2eCheckout(): "saga" | "tcc" {
  const value = Deno.env.get("FLOTILLA_E2E_CHECKOUT") ?? "saga";
  if (value !== "saga" && value !== "tcc") {
    throw new Error(`FLOTILLA_E2E_CHECKOUT must be saga or tcc, not "${value}"`);
  }
  return value;
}

/** Thrown by {@link startShop} when the supervisor exits before the gateway is ready. */
class ShopExitedEarly extends Error {}

/**
 * Starts the shop and waits until the gateway is ready. A free port picked
 * here may still be taken before the supervisor binds it; then the shop is
 * started again on another one (a port given in `options` is not replaced).
 */
export async function startShop(options: StartShopOptions = {}): Promise<Shop> {
  for (let attempt = 1;; attempt++) {
    try {
      return await startShopOnce(options);
    } catch (error) {
      const portTaken = error instanceof Error && error.cause instanceof ShopExitedEarly &&
        /Cannot assign port \d+ to "gateway" as it is in use/.test(error.cause.message);
      if (!portTaken || options.port !== undefined || attempt === 3) throw error;
    }
  }
}

async function startShopOnce(options: StartShopOptions): Promise<Shop> {
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? await Deno.makeTempDir({ prefix: "flotilla-e2e-" });
  const port = options.port ?? freePort();
  let nats: NatsServer | undefined;
  const transport: Record<string, string> = {};
  if (options.env?.FLOTILLA_TRANSPORT === undefined) {
    const chosen = e2eTransport();
    if (chosen === "grpc") transport.FLOTILLA_TRANSPORT = "grpc";
    if (chosen === "nats") {
      nats = await startNats();
      transport.FLOTILLA_TRANSPORT = nats.url;
    }
  }
  if (options.env?.FLOTILLA_CHECKOUT === undefined && e2eCheckout() === "tcc") {
    transport.FLOTILLA_CHECKOUT = "tcc";
  }
  const env = { PORT: String(port), FLOTILLA_DATA_DIR: dataDir, ...transport, ...options.env };
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...SUPERVISOR_FLAGS, CLI, "up"],
    cwd: ROOT.pathname,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) output += decoder.decode(chunk, { stream: true });
  };
  const pumping = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let exited = false;
  const exit = child.status.then((status) => {
    exited = true;
    return status;
  });
  const url = `http://127.0.0.1:${port}`;

  const request = async <T>(path: string, init: RequestInit = {}) => {
    const response = await fetch(url + path, init);
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch { /* keep the text */ }
    return { status: response.status, body: body as T, headers: response.headers };
  };

  let stopped: Promise<number> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      if (!exited) child.kill("SIGTERM");
      const status = await exit;
      await pumping;
      return status.code;
    })();
    return stopped;
  };

  const shop: Shop = {
    url,
    dataDir,
    process: child,
    status: () => statusOf(dataDir),
    stop,
    output: () => output,
    get: (path) => request(path),
    post: (path, body, headers = {}) =>
      request(path, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      }),
    async [Symbol.asyncDispose]() {
      await stop();
      await nats?.[Symbol.asyncDispose]();
      if (ownsDataDir) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };

  try {
    const outcome = await waitFor(async () => {
      if (exited) return "exited";
      // Bounded: whatever else holds the port may take the connection and never answer.
      const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5_000) })
        .catch(() => undefined);
      await response?.body?.cancel();
      return response?.status === 200 && "ready";
    }, { what: "the shop's gateway to be ready", timeoutMs: 120_000 });
    if (outcome === "exited") {
      await pumping;
      throw new ShopExitedEarly(`the supervisor exited early:\n${output}`);
    }
    await waitFor(async () => {
      const services = await statusOf(dataDir);
      return services.length > 0 && services.every((s) => s.state === "running");
    }, { what: "every service to be running" });
  } catch (error) {
    await shop[Symbol.asyncDispose]();
    throw new Error(`The shop did not start. Output:\n${output}`, { cause: error });
  }
  return shop;
}

/** Runs `deno task status --json` against a data folder and parses the array it prints. */
export async function statusOf(dataDir: string): Promise<ServiceStatus[]> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "status", "--json"],
    cwd: ROOT.pathname,
    env: { FLOTILLA_DATA_DIR: dataDir },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(result.stdout);
  if (!result.success) {
    throw new Error(`status failed: ${new TextDecoder().decode(result.stderr)}`);
  }
  return JSON.parse(text);
}

/** Reads the shop's catalogue and customers: the state bad requests must not change. */
export async function snapshot(
  shop: Shop,
): Promise<{ products: unknown; customers: unknown; orders: unknown }> {
  const [products, customers, orders] = await Promise.all([
    shop.get("/products"),
    shop.get("/customers"),
    shop.get("/orders?limit=1000"),
  ]);
  return { products: products.body, customers: customers.body, orders: orders.body };
}
