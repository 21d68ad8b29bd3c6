/**
 * Free TCP ports for tests that start real servers.
 *
 * @module
 */

import { freePort as pickFreePort } from "@flotilla/supervisor/ports";

/**
 * A TCP port that was free a moment ago on `hostname`, drawn the way the
 * supervisor draws its services' ports: outside the ephemeral range on Linux,
 * so that no outgoing connection of a parallel test takes it before you bind
 * it. Another process could still take it; rare enough for tests.
 */
export function freePort(hostname = "127.0.0.1"): number {
  return pickFreePort(hostname);
}
