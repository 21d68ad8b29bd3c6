/**
 * A client of a running supervisor's control API, as `flotilla stop`,
 * `flotilla start` and `flotilla restart` use it.
 *
 * @module
 */

import { join } from "node:path";
import { ADMIN_TOKEN_FILE, type ControlAction } from "./_admin_api.ts";
import { http1Request } from "./_http1.ts";
import { ServiceStartError, SupervisorNotRunningError, UnknownServiceError } from "./errors.ts";
import { readStatus, type ServiceStatus } from "./status.ts";

/** Options of {@link SupervisorClient}. */
export interface SupervisorClientOptions {
  /** The control API's bearer token (the content of `<dataRoot>/supervisor.token`). */
  token: string;
}

/** Options of one request of a {@link SupervisorClient}. */
export interface ControlRequestOptions {
  /** Aborts the request (the supervisor still finishes what it began). */
  signal?: AbortSignal;
}

/**
 * Talks to the control API of a running {@link Supervisor}. The requests go
 * over plain HTTP/1.1 to the loopback, never through an `HTTP_PROXY`, and
 * need network access to `127.0.0.1` and, for {@link SupervisorClient.connect},
 * read access to the data root.
 *
 * @example
 * ```ts
 * const client = await SupervisorClient.connect(resolveDataRoot());
 * const payment = await client.restartService("payment");
 * console.log(payment.state, payment.pid); // "running", 48213
 * ```
 */
export class SupervisorClient {
  /** Base URL of the control API, e.g. `http://127.0.0.1:41234`. */
  readonly adminUrl: string;
  readonly #hostname: string;
  readonly #port: number;
  readonly #token: string;

  /**
   * Creates a client of the control API at `adminUrl`.
   *
   * @throws {RangeError} when `adminUrl` is not an `http:` URL.
   */
  constructor(adminUrl: string, options: SupervisorClientOptions) {
    let url: URL | undefined;
    try {
      url = new URL(adminUrl);
    } catch {
      url = undefined;
    }
    if (url === undefined || url.protocol !== "http:") {
      throw new RangeError(
        `Cannot create a supervisor client as 'adminUrl' must be an http: URL: current value is "${adminUrl}"`,
      );
    }
    this.adminUrl = url.origin;
    this.#hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
    this.#port = url.port === "" ? 80 : Number(url.port);
    this.#token = options.token;
  }

  /**
   * A client of the supervisor that runs on `dataRoot`: reads its control
   * API's URL from `supervisor.json` and the token beside it.
   *
   * @throws {SupervisorNotRunningError} when no live supervisor runs on `dataRoot`.
   */
  static async connect(dataRoot: string): Promise<SupervisorClient> {
    const status = await readStatus(dataRoot);
    const notRunning = (cause?: unknown) =>
      new SupervisorNotRunningError(
        `Cannot reach the supervisor as none is running on data folder "${dataRoot}": start one with "flotilla up" (or "deno task start")`,
        cause === undefined ? {} : { cause },
      );
    if (status === undefined || status.adminUrl === null) throw notRunning();
    let token: string;
    try {
      token = (await Deno.readTextFile(join(dataRoot, ADMIN_TOKEN_FILE))).trim();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) throw notRunning(error);
      throw error;
    }
    return new SupervisorClient(status.adminUrl, { token });
  }

  /** Every service process the supervisor runs, with url, instance and startedAt. */
  async services(options: ControlRequestOptions = {}): Promise<ServiceStatus[]> {
    return await this.#request("GET", "/api/services", options) as ServiceStatus[];
  }

  /**
   * Stops one service process gracefully and keeps it stopped; `name` as in
   * status (`payment`, `payment-2`) or its instance id (`payment-1`).
   *
   * @throws {UnknownServiceError} when the supervisor runs no such process.
   * @throws {SupervisorNotRunningError} when the supervisor is not running.
   */
  stopService(name: string, options: ControlRequestOptions = {}): Promise<ServiceStatus> {
    return this.#control("stop", name, options);
  }

  /**
   * Starts one service process again and resolves once it is ready.
   *
   * @throws {UnknownServiceError} when the supervisor runs no such process.
   * @throws {SupervisorNotRunningError} when the supervisor is not running.
   * @throws {ServiceStartError} when it did not get ready.
   */
  startService(name: string, options: ControlRequestOptions = {}): Promise<ServiceStatus> {
    return this.#control("start", name, options);
  }

  /**
   * Stops one service process gracefully, starts it again and resolves once
   * it is ready.
   *
   * @throws {UnknownServiceError} when the supervisor runs no such process.
   * @throws {SupervisorNotRunningError} when the supervisor is not running.
   * @throws {ServiceStartError} when it did not get ready.
   */
  restartService(name: string, options: ControlRequestOptions = {}): Promise<ServiceStatus> {
    return this.#control("restart", name, options);
  }

  async #control(
    action: ControlAction,
    name: string,
    options: ControlRequestOptions,
  ): Promise<ServiceStatus> {
    const path = `/api/services/${encodeURIComponent(name)}/${action}`;
    return await this.#request("POST", path, options) as ServiceStatus;
  }

  async #request(method: string, path: string, options: ControlRequestOptions): Promise<unknown> {
    let response;
    try {
      response = await http1Request(this.#hostname, this.#port, {
        method,
        path,
        headers: { authorization: `Bearer ${this.#token}` },
        signal: options.signal ?? new AbortController().signal,
      });
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionRefused) {
        throw new SupervisorNotRunningError(
          `Cannot reach the supervisor's control API at ${this.adminUrl}: it is no longer running`,
          { cause: error },
        );
      }
      throw error;
    }
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      body = undefined;
    }
    if (response.status === 200 && body !== undefined) return body;
    throw fromProblem(response.status, body, `${method} ${this.adminUrl}${path}`);
  }
}

/** Rebuilds the error a problem+json answer of the control API stands for. */
function fromProblem(status: number, body: unknown, request: string): Error {
  const problem = typeof body === "object" && body !== null ? body as Record<string, unknown> : {};
  const detail = typeof problem.detail === "string"
    ? problem.detail
    : `${request} answered ${status}`;
  const service = typeof problem.service === "string" ? problem.service : "";
  switch (problem.code) {
    case "SERVICE_NOT_FOUND": {
      const error = new UnknownServiceError(service, []);
      error.message = detail;
      return error;
    }
    case "SUPERVISOR_NOT_RUNNING":
      return new SupervisorNotRunningError(detail);
    case "SERVICE_NOT_READY": {
      const logTail = Array.isArray(problem.logTail)
        ? problem.logTail.filter((line): line is string => typeof line === "string")
        : [];
      const error = new ServiceStartError(service, "", { logTail });
      error.message = detail;
      return error;
    }
    default:
      return Object.assign(new Error(detail), {
        code: typeof problem.code === "string" ? problem.code : "INTERNAL",
        status,
      });
  }
}
