// Internal to the CLI.

import { readStatus, resolveDataRoot } from "@flotilla/supervisor";
import type { Io } from "./_io.ts";

/** Options of {@link checkouts}. */
export interface CheckoutsOptions {
  /** `list` or `resume`. */
  verb: "list" | "resume";
  /** With `list`: only checkouts in this state (e.g. `NEEDS_ATTENTION`). */
  status?: string | undefined;
  /** With `list`: print the JSON the order service answered. */
  json?: boolean;
  /** With `resume`: the order whose checkout to drive on. */
  orderId?: string | undefined;
  /** Where to write. */
  io: Io;
  /** The environment, for FLOTILLA_DATA_DIR. */
  env: Readonly<Record<string, string | undefined>>;
  /** The working directory, for the default data root. */
  cwd: string;
}

interface Checkout {
  orderId: string;
  protocol: string;
  status: string;
  error: { code: string; message: string } | null;
  updatedAt: string;
}

/**
 * `flotilla checkouts list [--status S] [--json]` and `flotilla checkouts
 * resume <orderId>`: asks the running order service (its `listCheckouts` /
 * `resumeCheckout` actions) for the checkout sagas, or to drive a parked one
 * on once its cause is fixed. Returns the exit code: 0 ok, 1 when no order
 * service runs or it refuses.
 */
export async function checkouts(options: CheckoutsOptions): Promise<number> {
  const { io } = options;
  const dataRoot = resolveDataRoot(options.env, options.cwd);
  const order = (await readStatus(dataRoot))?.services.find((s) =>
    s.service === "order" && s.state === "running"
  );
  if (!order) {
    io.err(`flotilla: no order service runs on ${dataRoot}`);
    return 1;
  }
  const call = async (action: string, input: unknown) => {
    const response = await fetch(`${order.url}/rpc/${action}`, {
      method: "POST",
      headers: { "content-type": "application/json", "flotilla-caller": "flotilla-cli" },
      body: JSON.stringify(input),
      signal: AbortSignal.timeout(60_000),
    });
    const body = await response.json().catch(() => undefined);
    if (!response.ok) {
      const detail = (body as { code?: string; detail?: string } | undefined) ?? {};
      throw new Error(`${detail.code ?? response.status}: ${detail.detail ?? "refused"}`);
    }
    return body;
  };
  try {
    if (options.verb === "resume") {
      const resumed = await call("resumeCheckout", { orderId: options.orderId }) as Checkout;
      io.out(`${resumed.orderId} ${resumed.status}${errorText(resumed)}`);
      return 0;
    }
    const listed = await call("listCheckouts", {
      limit: 1000,
      ...(options.status === undefined ? {} : { status: options.status.toUpperCase() }),
    }) as Checkout[];
    if (options.json) {
      io.out(JSON.stringify(listed, null, 2));
      return 0;
    }
    const rows = [
      ["ORDER", "PROTOCOL", "STATUS", "UPDATED", "ERROR"],
      ...listed.map((c) => [c.orderId, c.protocol, c.status, c.updatedAt, errorText(c).trim()]),
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
    io.out(
      rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd())
        .join("\n"),
    );
    return 0;
  } catch (error) {
    io.err(`flotilla: ${(error as Error).message}`);
    return 1;
  }
}

function errorText(checkout: Checkout): string {
  return checkout.error === null ? "" : ` ${checkout.error.code}: ${checkout.error.message}`;
}
