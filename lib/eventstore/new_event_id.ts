/**
 * Time-ordered event ids.
 *
 * @module
 */

import { type Clock, systemClock } from "@flotilla/core";

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const bytes = new Uint8Array(16);
let lastMs = -1;
let counter = 0;

/**
 * A new event id: a UUID version 7 (RFC 9562) — 48 bits of the clock's
 * milliseconds, a 12-bit counter seeded at random each millisecond, then 62
 * random bits. Ids made by one process sort in the order they were made
 * (also within a millisecond, and when the clock steps back), so the
 * store's unique index on ids grows at its end: random (version 4) ids
 * scatter each batch over the whole index and make appends several times
 * slower once the store is large.
 *
 * @example
 * ```ts
 * import { newEventId } from "@flotilla/eventstore";
 *
 * const event = { id: newEventId(), type: "OrderPlaced", data: { total: 12 } };
 * ```
 */
export function newEventId(clock: Clock = systemClock): string {
  let time = Math.max(0, Math.floor(clock.now()));
  crypto.getRandomValues(bytes);
  if (time > lastMs) {
    lastMs = time;
    counter = ((bytes[6]! << 8) | bytes[7]!) & 0x7ff;
  } else {
    time = lastMs;
    counter += 1;
    if (counter > 0xfff) {
      lastMs += 1;
      time = lastMs;
      counter = 0;
    }
  }
  bytes[0] = Math.floor(time / 2 ** 40) & 0xff;
  bytes[1] = Math.floor(time / 2 ** 32) & 0xff;
  bytes[2] = (time >>> 24) & 0xff;
  bytes[3] = (time >>> 16) & 0xff;
  bytes[4] = (time >>> 8) & 0xff;
  bytes[5] = time & 0xff;
  bytes[6] = 0x70 | (counter >>> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  let hex = "";
  for (let i = 0; i < 16; i++) {
    hex += HEX[bytes[i]!];
    if (i === 3 || i === 5 || i === 7 || i === 9) hex += "-";
  }
  return hex;
}
