/**
 * The Lua scripts of the Redis bus, and how to run one with EVALSHA falling
 * back to EVAL (a restarted Redis has forgotten its script cache). Private
 * to the package.
 *
 * Each script runs atomically in Redis, which is what makes dedupe,
 * claiming and dead-lettering free of races between consumers.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** A Lua script with its SHA-1, as EVALSHA wants it. */
export interface LuaScript {
  /** The source. */
  readonly source: string;
  /** Its SHA-1, hex. */
  readonly sha: string;
}

function lua(source: string): LuaScript {
  return { source, sha: createHash("sha1").update(source).digest("hex") };
}

/**
 * Appends events unless their id was seen within the dedupe window.
 *
 * KEYS: the stream, then one dedupe key per event.
 * ARGV: window ms, MAXLEN (`""` for none), then `id, type, json` per event.
 * Returns per event its new entry id, or `=<entry id>` of the original for
 * a duplicate (`=` alone when the original's position is unknown).
 */
export const PUBLISH: LuaScript = lua(`
local window = ARGV[1]
local maxlen = ARGV[2]
local out = {}
for i = 2, #KEYS do
  local a = (i - 2) * 3 + 3
  local prior = redis.call('GET', KEYS[i])
  if prior then
    out[#out + 1] = '=' .. prior
  else
    local position
    if maxlen == '' then
      position = redis.call('XADD', KEYS[1], '*', 'id', ARGV[a], 'type', ARGV[a + 1], 'event', ARGV[a + 2])
    else
      position = redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*',
        'id', ARGV[a], 'type', ARGV[a + 1], 'event', ARGV[a + 2])
    end
    redis.call('SET', KEYS[i], position, 'PX', window)
    out[#out + 1] = position
  end
end
return out
`);

/**
 * Hands this consumer the deliveries that are due again: failures whose
 * backoff has run out (the retry set), and deliveries nobody acknowledged
 * within the ack wait (the PEL, read with XPENDING IDLE like XAUTOCLAIM
 * would, but skipping entries that wait out a backoff — XAUTOCLAIM cannot
 * skip them). Claims them with XCLAIM, which counts a delivery.
 *
 * KEYS: the stream, the retry set.
 * ARGV: group, consumer, now (ms, the bus's clock), min idle ms, count, PEL cursor.
 * Returns `{ next cursor, entries, delivery counts }`; the cursor is `0-0`
 * once the scan of the PEL wrapped around.
 */
export const CLAIM: LuaScript = lua(`
local stream, retry = KEYS[1], KEYS[2]
local group, consumer = ARGV[1], ARGV[2]
local count = tonumber(ARGV[5])
local ids, seen = {}, {}
local due = redis.call('ZRANGE', retry, '-inf', ARGV[3], 'BYSCORE', 'LIMIT', 0, count)
for _, id in ipairs(due) do
  ids[#ids + 1] = id
  seen[id] = true
end
local cursor = '0-0'
if #ids < count then
  local start = ARGV[6] == '0-0' and '-' or ('(' .. ARGV[6])
  local want = count - #ids
  local pending = redis.call('XPENDING', stream, group, 'IDLE', ARGV[4], start, '+', want)
  for _, p in ipairs(pending) do
    local id = p[1]
    if not seen[id] and not redis.call('ZSCORE', retry, id) then
      ids[#ids + 1] = id
      seen[id] = true
    end
  end
  if #pending == want then cursor = pending[#pending][1] end
end
if #ids == 0 then return { cursor, {}, {} } end
if #due > 0 then redis.call('ZREM', retry, unpack(due)) end
local claimed = redis.call('XCLAIM', stream, group, consumer, 0, unpack(ids))
local counts = {}
for i, entry in ipairs(claimed) do
  local p = redis.call('XPENDING', stream, group, entry[1], entry[1], 1)
  counts[i] = p[1] and p[1][4] or 1
end
return { cursor, claimed, counts }
`);

/**
 * Records a failed delivery: it stays pending, and becomes due again at
 * `not before` (the retry set); the reason is kept for a later dead letter.
 *
 * KEYS: the retry set, the failures hash.
 * ARGV: entry id, not before (ms), reason.
 */
export const FAIL: LuaScript = lua(`
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1
`);

/**
 * Acknowledges redeliveries and forgets their retry state.
 *
 * KEYS: the stream, the retry set, the failures hash.
 * ARGV: group, then entry ids.
 */
export const ACK_RETRIED: LuaScript = lua(`
local ids = {}
for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end
local acked = redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
redis.call('ZREM', KEYS[2], unpack(ids))
redis.call('HDEL', KEYS[3], unpack(ids))
return acked
`);

/**
 * Moves one entry to the dead-letter stream and acknowledges it, if it is
 * still pending with this consumer (otherwise another consumer claimed it
 * after this one's ack wait ran out, and it is theirs to settle).
 *
 * KEYS: the stream, the dead-letter stream, the retry set, the failures hash.
 * ARGV: group, consumer, entry id, event id, event JSON, attempts, reason
 * (`""`: the recorded failure, else `fallback reason`), fallback reason,
 * time (RFC 3339), stream name, `"1"` when the entry is not a CloudEvent.
 * Returns the dead letter's entry id, or false when not ours.
 */
export const DEAD_LETTER: LuaScript = lua(`
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if not p[1] or p[1][2] ~= ARGV[2] then return false end
local reason = ARGV[7]
if reason == '' then reason = redis.call('HGET', KEYS[4], ARGV[3]) or ARGV[8] end
local position = redis.call('XADD', KEYS[2], '*', 'id', ARGV[4], 'position', ARGV[3],
  'event', ARGV[5], 'attempts', ARGV[6], 'reason', reason, 'at', ARGV[9],
  'stream', ARGV[10], 'group', ARGV[1], 'malformed', ARGV[11])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('ZREM', KEYS[3], ARGV[3])
redis.call('HDEL', KEYS[4], ARGV[3])
return position
`);

/**
 * Gives deliveries this consumer read but will not handle (it is closing)
 * back to the group: they stay pending under its name, but with their
 * delivery count put back and an idle time of the ack wait, so that any
 * consumer's next claim takes them at once without counting an attempt.
 *
 * KEYS: the stream.
 * ARGV: group, consumer, idle ms, then `entry id, delivery count` pairs.
 */
export const RELEASE: LuaScript = lua(`
for i = 4, #ARGV, 2 do
  redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'IDLE', ARGV[3],
    'RETRYCOUNT', ARGV[i + 1], 'JUSTID')
end
return 1
`);

/**
 * Removes a consumer from its group once it holds no pending entry (a
 * consumer's pending entries would be lost with it).
 *
 * KEYS: the stream.
 * ARGV: group, consumer.
 */
export const RETIRE: LuaScript = lua(`
local p = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if p[1] then return 0 end
return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
`);
