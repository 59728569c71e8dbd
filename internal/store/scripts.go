package store

import "github.com/redis/go-redis/v9"

// createScript creates an order with its first event.
//
// KEYS[1] order hash, KEYS[2] events list, KEYS[3] fence hash
// ARGV[1] order JSON, ARGV[2] event JSON, ARGV[3] fence key ("" for none), ARGV[4] fence value
// Returns 1, or the error "EXISTS" when the order already exists. The fence is
// stored as "<version produced>|<value>" (version 1 here).
var createScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.error_reply('EXISTS')
end
redis.call('HSET', KEYS[1], 'v', 1, 'doc', ARGV[1], 'pub', 0)
redis.call('RPUSH', KEYS[2], ARGV[2])
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[3], '1|' .. ARGV[4])
end
return 1
`)

// updateScript replaces an order whose version is still the expected one and
// appends its events, setting the idempotency fence in the same step.
//
// KEYS[1] order hash, KEYS[2] events list, KEYS[3] fence hash
// ARGV[1] expected version, ARGV[2] new order JSON, ARGV[3] fence key ("" for none),
// ARGV[4] fence value, ARGV[5] fence mode: "strict" (a key seen once is always a
// duplicate: partner message ids) or "until-changed" (a duplicate only while the
// order is still at the version the key produced: body digests, so the same
// content sent again after another change applies again), ARGV[6..] event JSON.
// The fence is stored as "<version produced>|<value>".
// Returns {"OK", new version, published mark, events length}; {"DUP", first
// fence value} when the fence key is already set; errors "NOTFOUND" or
// "VERSION <current>".
var updateScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'v')
if not cur then
  return redis.error_reply('NOTFOUND')
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
  return redis.error_reply('VERSION ' .. cur)
end
local nv = tonumber(cur) + 1
redis.call('HSET', KEYS[1], 'v', nv, 'doc', ARGV[2])
for i = 6, #ARGV do
  redis.call('RPUSH', KEYS[2], ARGV[i])
end
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[3], nv .. '|' .. ARGV[4])
end
local pub = tonumber(redis.call('HGET', KEYS[1], 'pub') or '0')
return {'OK', nv, pub, redis.call('LLEN', KEYS[2])}
`)

// publishScript records that the first n events of an order are on the stream,
// never moving the mark backwards.
//
// KEYS[1] order hash
// ARGV[1] n
// Returns the mark after the call.
var publishScript = redis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[1], 'pub') or '0')
local n = tonumber(ARGV[1])
if n > cur then
  redis.call('HSET', KEYS[1], 'pub', n)
  return n
end
return cur
`)
