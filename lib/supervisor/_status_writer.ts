// Internal helper; not exported by mod.ts.

import { join } from "node:path";
import { prometheusTargets } from "@flotilla/telemetry";
import { STATUS_FILE, type SupervisorStatus } from "./status.ts";

/** Where the Prometheus `file_sd` targets are written, relative to the data root. */
export const PROMETHEUS_TARGETS_FILE = "prometheus/targets.json";

/**
 * Writes `supervisor.json` atomically (a temporary file renamed over it),
 * one write at a time; updates that arrive during a write are coalesced so
 * the file always ends with the latest status. Each write also renders the
 * services as Prometheus `file_sd` targets in `prometheus/targets.json`
 * (see `deploy/prometheus/prometheus.yml`), atomically too.
 */
export class StatusWriter {
  readonly #path: string;
  readonly #temp: string;
  readonly #targets: string;
  readonly #targetsTemp: string;
  readonly #onError: (error: unknown) => void;
  #latest: SupervisorStatus | undefined;
  #busy = false;
  #drained: Promise<void> = Promise.resolve();

  /** Creates a writer of the status file in `dataRoot`. */
  constructor(dataRoot: string, onError: (error: unknown) => void) {
    this.#path = join(dataRoot, STATUS_FILE);
    this.#temp = join(dataRoot, `.${STATUS_FILE}.${Deno.pid}.tmp`);
    this.#targets = join(dataRoot, PROMETHEUS_TARGETS_FILE);
    this.#targetsTemp = join(dataRoot, "prometheus", `.targets.json.${Deno.pid}.tmp`);
    this.#onError = onError;
  }

  /** Schedules a write of `status`. */
  update(status: SupervisorStatus): void {
    this.#latest = status;
    if (this.#busy) return;
    this.#busy = true;
    this.#drained = this.#drain();
  }

  /** Resolves once every scheduled write is on disk. */
  async flush(): Promise<void> {
    while (this.#busy) await this.#drained;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#latest !== undefined) {
        const status = this.#latest;
        this.#latest = undefined;
        try {
          await Deno.writeTextFile(this.#temp, JSON.stringify(status, null, 2) + "\n");
          await Deno.rename(this.#temp, this.#path);
        } catch (error) {
          this.#onError(error);
        }
        try {
          const targets = prometheusTargets(status.system, status.services);
          await Deno.mkdir(join(this.#targets, ".."), { recursive: true });
          await Deno.writeTextFile(this.#targetsTemp, JSON.stringify(targets, null, 2) + "\n");
          await Deno.rename(this.#targetsTemp, this.#targets);
        } catch (error) {
          this.#onError(error);
        }
      }
    } finally {
      this.#busy = false;
    }
  }
}
