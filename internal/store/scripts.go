package store

import "github.com/equus/sogateway/internal/luascript"

// The order scripts share one KEYS layout, all under the order's hash tag:
//
//	KEYS[1] order hash, KEYS[2] events list, KEYS[3] fence hash,
//	KEYS[4] fence-age zset, KEYS[5] messages list, KEYS[6] attachments list
//
// and append the history entries the same way: ARGV carries the counts of new
// events, messages and attachments, then the entries themselves (JSON), in
// that order. Only the order's current state (the doc field) is rewritten;
// history is appended, so a commit costs the same on the 1,000th message as on
// the first.
//
// A fence entry is "<version produced>|<value>"; its age (Redis TIME, ms) is in
// the fence-age zset. With a retention (fence TTL ms > 0) the fences are
// looked after when due, not on every write: a write that finds the order's
// "fdue" field (unix ms) passed, or missing, drops up to 64 entries older than
// the retention and sets both keys to expire one retention plus one step
// (fenceStep of it) later, and the next such pass is due one step later (at
// once while older entries are left). Every write between two passes falls
// at least one retention before the expiry the first set, so a fence is kept
// at least the retention; while the order is written to, a pass drops it at
// most a step after it passed the retention; an order that stops changing
// loses its fences whole between one retention and one retention plus a step
// after its last write.
const historyLua = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- fence_set records fence key fk = val; due is the order's fdue field (nil
-- when unset). It returns the new fdue when it looked after the fences, else
-- nil.
local function fence_set(fk, val, ttl, due)
  redis.call('HSET', KEYS[3], fk, val)
  if ttl <= 0 then
    return nil
  end
  local now = now_ms()
  redis.call('ZADD', KEYS[4], now, fk)
  local step = math.floor(ttl / ` + fenceStep + `)
  due = tonumber(due)
  if due and now < due and due - now <= step then
    return nil
  end
  local old = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now - ttl, 'LIMIT', 0, 64)
  if #old > 0 then
    redis.call('HDEL', KEYS[3], unpack(old))
    redis.call('ZREM', KEYS[4], unpack(old))
  end
  redis.call('PEXPIRE', KEYS[3], ttl + step)
  redis.call('PEXPIRE', KEYS[4], ttl + step)
  if #old == 64 then
    return now
  end
  return now + step
end
-- append_history appends the entries counted at ARGV[at] on and returns the
-- events list's length when it appended events (RPUSH answers it), else nil.
local function append_history(at)
  local ne, nm, na = tonumber(ARGV[at]), tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2])
  local i = at + 3
  local n
  for _ = 1, ne do n = redis.call('RPUSH', KEYS[2], ARGV[i]); i = i + 1 end
  for _ = 1, nm do redis.call('RPUSH', KEYS[5], ARGV[i]); i = i + 1 end
  for _ = 1, na do redis.call('RPUSH', KEYS[6], ARGV[i]); i = i + 1 end
  return n
end
`

// fenceStep divides the fence retention into the steps at which an order's
// fences are looked after (24: every 30 hours of the default 720).
const fenceStep = "24"

// createScript creates an order (version 1) with its first event and history.
//
// KEYS as above
// ARGV[1] order JSON (without history), ARGV[2] fence key ("" for none),
// ARGV[3] fence value, ARGV[4] fence TTL ms (0 keeps fences forever),
// ARGV[5..] counts and entries as above.
// Returns 1 when created, 0 when the order already exists (nothing written).
var createScript = luascript.New(historyLua + `
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'v', 1, 'doc', ARGV[1], 'pub', 0)
append_history(5)
if ARGV[2] ~= '' then
  local due = fence_set(ARGV[2], '1|' .. ARGV[3], tonumber(ARGV[4]), nil)
  if due then
    redis.call('HSET', KEYS[1], 'fdue', due)
  end
end
return 1
`)

// updateScript replaces an order's current state if its version is still the
// expected one, appends its new history and sets the idempotency fence, in one
// step.
//
// KEYS as above
// ARGV[1] expected version, ARGV[2] new order JSON (without history),
// ARGV[3] fence key ("" for none), ARGV[4] fence value, ARGV[5] fence mode:
// "strict" (a key seen once is always a duplicate: partner message ids) or
// "until-changed" (a duplicate only while the order is still at the version
// the key produced: body digests, so the same content sent again after another
// change applies again), ARGV[6] fence TTL ms, ARGV[7..] counts and entries.
// Returns a reply whose first element is its code (see the update* constants):
// {"OK", new version, published mark, events length}; {"DUP", first fence
// value} when the fence key is already set; {"NOTFOUND"} when the order does
// not exist; {"VERSION", current version} when it is not at the expected one.
// Nothing is written unless the code is "OK".
var updateScript = luascript.New(historyLua + `
local head = redis.call('HMGET', KEYS[1], 'v', 'pub', 'fdue')
local cur = head[1]
if not cur then
  return {'NOTFOUND'}
end
if ARGV[3] ~= '' then
  local seen = redis.call('HGET', KEYS[3], ARGV[3])
  if seen then
    local bar = string.find(seen, '|', 1, true)
    local produced = string.sub(seen, 1, bar - 1)
    if ARGV[5] == 'strict' or produced == cur then
      return {'DUP', string.sub(seen, bar + 1)}
    end
  end
end
if cur ~= ARGV[1] then
  return {'VERSION', cur}
end
local nv = tonumber(cur) + 1
local n = append_history(7)
local due
if ARGV[3] ~= '' then
  due = fence_set(ARGV[3], nv .. '|' .. ARGV[4], tonumber(ARGV[6]), head[3])
end
if due then
  redis.call('HSET', KEYS[1], 'v', nv, 'doc', ARGV[2], 'fdue', due)
else
  redis.call('HSET', KEYS[1], 'v', nv, 'doc', ARGV[2])
end
return {'OK', nv, tonumber(head[2] or '0'), n or redis.call('LLEN', KEYS[2])}
`)

// The codes updateScript answers with, as the first element of its reply.
const (
	updateOK       = "OK"
	updateDup      = "DUP"
	updateNotFound = "NOTFOUND"
	updateVersion  = "VERSION"
)

// migrateScript moves the history of an order written before history lived
// beside it (messages and attachments inside the doc) into its lists, without
// changing the order's version.
//
// KEYS as above
// ARGV[1] version the doc was read at, ARGV[2] the doc as read (legacy),
// ARGV[3] the doc without history, ARGV[4..] counts (0 events) and entries.
// Returns 1 when migrated, 0 when the order changed or is gone since it was
// read (the caller reads again).
var migrateScript = luascript.New(historyLua + `
local cur = redis.call('HMGET', KEYS[1], 'v', 'doc')
if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], 'doc', ARGV[3])
append_history(4)
return 1
`)

// publishScript records that the first n events of an order are on the stream,
// never moving the mark backwards.
//
// KEYS[1] order hash
// ARGV[1] n
// Returns the mark after the call.
var publishScript = luascript.New(`
local cur = tonumber(redis.call('HGET', KEYS[1], 'pub') or '0')
local n = tonumber(ARGV[1])
if n > cur then
  redis.call('HSET', KEYS[1], 'pub', n)
  return n
end
return cur
`)
