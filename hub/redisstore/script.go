package redisstore

import "github.com/redis/go-redis/v9"

// The scripts below are the whole protocol of the store. Each call is one
// script on the room's two keys (KEYS[1] the stream, KEYS[2] the meta
// hash), so that it is atomic and one round trip.
//
// The meta hash holds:
//
//	e  the room's epoch
//	o  the offset of the newest message appended (the room's Top)
//	a  when the newest message was appended (server ms, never decreasing)
//	t  the room's TTL in ms from the last Append's policy (0: none)
//	n  the room's Size from the last Append's policy
//
// Each stream entry's ID is "<offset>-0": the offset is the ID, so that a
// read from a position is one XRANGE from "<offset+1>-0", and the fields
// are t (message type), d (data) and a (append time, server ms).

// scriptLib is shared by both scripts.
const scriptLib = `
-- clock returns the server's time in ms, never before last.
local function clock(last)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if last and now < last then now = last end
  return now
end

local function offsetOf(id)
  return tonumber(string.match(id, '^(%d+)-'))
end

local function appendedAt(fields)
  for i = 1, #fields, 2 do
    if fields[i] == 'a' then return tonumber(fields[i + 1]) end
  end
  return 0
end

-- trimExpired removes the entries appended at or before cut from the
-- head of stream s and returns the offset of the oldest entry left (top+1
-- when none). Entries are in append-time order, so the first live one is
-- found by a binary search over offsets: at most about 20 XRANGE calls for
-- the largest history, whatever the number of expired entries.
local function trimExpired(s, top, cut)
  local head = redis.call('XRANGE', s, '-', '+', 'COUNT', 1)
  if #head == 0 then return top + 1 end
  local lo = offsetOf(head[1][1])
  if appendedAt(head[1][2]) > cut then return lo end
  local tail = redis.call('XREVRANGE', s, '+', '-', 'COUNT', 1)
  local hi = offsetOf(tail[1][1])
  if appendedAt(tail[1][2]) <= cut then
    redis.call('DEL', s)
    return top + 1
  end
  -- lo is expired, hi is live: find the first live offset in (lo, hi].
  while hi - lo > 1 do
    local mid = math.floor((lo + hi) / 2)
    local e = redis.call('XRANGE', s, string.format('%d-0', mid), '+', 'COUNT', 1)[1]
    local off = offsetOf(e[1])
    if appendedAt(e[2]) > cut then hi = off else lo = off end
  end
  redis.call('XTRIM', s, 'MINID', string.format('%d-0', hi))
  return hi
end
`

// appendScript appends one message.
//
//	ARGV[1] an epoch for the room, used only when it has none
//	ARGV[2] message type, ARGV[3] data
//	ARGV[4] policy Size, ARGV[5] policy TTL in ms (0: none)
//
// It returns {epoch, offset}. A room without meta (never written, its
// history lost with the server's data, or expired whole) starts a new
// epoch at offset 1, and whatever stream it had left is dropped.
var appendScript = redis.NewScript(scriptLib + `
local s, m = KEYS[1], KEYS[2]
local size, ttl = tonumber(ARGV[4]), tonumber(ARGV[5])
local meta = redis.call('HMGET', m, 'e', 'a')
local epoch = meta[1]
if not epoch then
  epoch = ARGV[1]
  redis.call('DEL', s)
  redis.call('HSET', m, 'e', epoch, 'o', 0)
end
local now = clock(tonumber(meta[2]))
local top = redis.call('HINCRBY', m, 'o', 1)
redis.call('XADD', s, 'MAXLEN', '~', size, string.format('%d-0', top), 't', ARGV[2], 'd', ARGV[3], 'a', now)
redis.call('HSET', m, 'a', now, 't', ttl, 'n', size)
if ttl > 0 then
  trimExpired(s, top, now - ttl)
  -- Once the newest message has expired the room is gone whole: its
  -- next message starts a new epoch.
  redis.call('PEXPIRE', s, ttl)
  redis.call('PEXPIRE', m, ttl)
else
  redis.call('PERSIST', s)
  redis.call('PERSIST', m)
end
return {epoch, top}
`)

// readScript reads the messages after a position.
//
//	ARGV[1] an epoch for the room, used only when it has none
//	ARGV[2] since's epoch ("" reads from the oldest message held)
//	ARGV[3] since's offset, ARGV[4] limit
//	ARGV[5] how long, in ms, the epoch of a room read before any Append
//	        is kept
//
// It returns {lost, epoch, top} or {0, epoch, top, entries}; lost is 1
// when since cannot be continued without a gap.
var readScript = redis.NewScript(scriptLib + `
local s, m = KEYS[1], KEYS[2]
local sinceEpoch, sinceOff, limit = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local meta = redis.call('HMGET', m, 'e', 'o', 'a', 't', 'n')
local epoch, top, ttl, size = meta[1], tonumber(meta[2]) or 0, tonumber(meta[4]) or 0, tonumber(meta[5]) or 0
if not epoch then
  -- A room never written gets its epoch now, so that a reader that
  -- starts before the first message keeps a position the first Append
  -- continues.
  epoch, top, ttl = ARGV[1], 0, 0
  redis.call('DEL', s)
  redis.call('HSET', m, 'e', epoch, 'o', 0)
  redis.call('PEXPIRE', m, ARGV[5])
end
local first
if ttl > 0 then
  first = trimExpired(s, top, clock(tonumber(meta[3])) - ttl)
else
  local head = redis.call('XRANGE', s, '-', '+', 'COUNT', 1)
  if #head == 0 then first = top + 1 else first = offsetOf(head[1][1]) end
end
-- MAXLEN ~ leaves up to a stream node more than Size: they are not
-- served, so that a reader gets exactly what the policy promises.
if size > 0 and first < top - size + 1 then first = top - size + 1 end
local from = first
if sinceEpoch ~= '' then
  if sinceEpoch ~= epoch or sinceOff > top or sinceOff + 1 < first then
    return {1, epoch, top}
  end
  from = sinceOff + 1
end
if limit == 0 or from > top then
  return {0, epoch, top}
end
return {0, epoch, top, redis.call('XRANGE', s, string.format('%d-0', from), '+', 'COUNT', limit)}
`)
