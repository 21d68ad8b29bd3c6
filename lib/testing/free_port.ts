/**
 * Free TCP ports for tests that start real servers.
 *
 * @module
 */

/**
 * A TCP port that was free a moment ago on `hostname`. Another process could
 * take it before you bind it; that race is rare enough for tests.
 */
export function freePort(hostname = "127.0.0.1"): number {
  const listener = Deno.listen({ hostname, port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}
