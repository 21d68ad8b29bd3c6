// Internal helper; not exported by mod.ts.

/** The address peers and probes connect to for a service bound on `hostname`. */
export function connectHost(hostname: string): string {
  if (hostname === "0.0.0.0") return "127.0.0.1";
  if (hostname === "::" || hostname === "[::]") return "::1";
  return hostname;
}

/** `http://host:port`, with an IPv6 address in brackets. */
export function httpUrl(hostname: string, port: number): string {
  return `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}
