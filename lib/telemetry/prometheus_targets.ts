/**
 * Prometheus `file_sd_configs` targets for the services a supervisor runs.
 *
 * @module
 */

/** What a target needs from a supervised process (a supervisor `ServiceStatus` fits). */
export interface ScrapedProcess {
  /** The service it runs. */
  readonly service: string;
  /** Its instance id, `<service>-<n>`. */
  readonly instance: string;
  /** Its base URL, e.g. `http://127.0.0.1:41873`. */
  readonly url: string;
}

/** One target group of a Prometheus file_sd file. */
export interface TargetGroup {
  /** `host:port` of each target. */
  readonly targets: readonly string[];
  /** Labels added to every series scraped from them. */
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * The content of a `file_sd_configs` file listing `processes`: one group per
 * process, labelled `system`, `flotilla_service` and `flotilla_instance` (not
 * `service`, which the Flotilla metrics carry themselves and a target label
 * would rename to `exported_service`). Prometheus
 * re-reads the file when it changes, so a supervisor that rewrites it on
 * every (re)start keeps the scrape set in line with the dynamic ports.
 * Write it atomically (temporary file, then rename).
 *
 * @example
 * ```ts
 * import { prometheusTargets } from "@flotilla/telemetry";
 *
 * const groups = prometheusTargets("shop", [
 *   { service: "order", instance: "order-1", url: "http://127.0.0.1:41873" },
 * ]);
 * JSON.stringify(groups); // [{"targets":["127.0.0.1:41873"],"labels":{…}}]
 * ```
 */
export function prometheusTargets(
  system: string,
  processes: readonly ScrapedProcess[],
): TargetGroup[] {
  return processes.map((process) => {
    const url = new URL(process.url);
    const port = url.port || (url.protocol === "https:" ? "443" : "80");
    return {
      targets: [`${url.hostname}:${port}`],
      labels: {
        system,
        flotilla_service: process.service,
        flotilla_instance: process.instance,
        ...(url.protocol === "https:" ? { __scheme__: "https" } : {}),
      },
    };
  });
}
