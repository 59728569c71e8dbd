package orderindex

import "github.com/equus/sogateway/internal/luascript"

// applyScript indexes one order version unless a newer one is indexed.
//
// KEYS[1] entry hash, KEYS[2] all zset, KEYS[3] dirty hash; the per-value
// sets are base .. field .. ':' .. value (same slot: tag {ix})
// ARGV[1] base, ARGV[2] order id, ARGV[3] version, ARGV[4] score (ms),
// ARGV[5] partner, ARGV[6] company, ARGV[7] service_type, ARGV[8] status,
// ARGV[9] refs joined by \31
// Returns 1 when indexed, 0 when a newer version was indexed already.
var applyScript = luascript.New(`
local base, id, ver, score = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local d = redis.call('HGET', KEYS[3], id)
if d then
  local dv = tonumber(string.sub(d, 1, string.find(d, '|', 1, true) - 1))
  if dv <= ver then redis.call('HDEL', KEYS[3], id) end
end
local cur = redis.call('HMGET', KEYS[1], 'v', 'partner', 'company', 'service_type', 'status', 'refs')
if cur[1] and tonumber(cur[1]) > ver then
  return 0
end
-- Leave only the sets whose value changed; ZADD below moves the score of
-- the others in place.
local fields = {'partner', 'company', 'service_type', 'status'}
for i, f in ipairs(fields) do
  if cur[i + 1] and cur[i + 1] ~= '' and cur[i + 1] ~= ARGV[4 + i] then redis.call('ZREM', base .. f .. ':' .. cur[i + 1], id) end
end
if cur[6] and cur[6] ~= '' and cur[6] ~= ARGV[9] then
  local keep = {}
  for r in string.gmatch(ARGV[9], '[^\31]+') do keep[r] = true end
  for r in string.gmatch(cur[6], '[^\31]+') do
    if not keep[r] then redis.call('ZREM', base .. 'ref:' .. r, id) end
  end
end
for i, f in ipairs(fields) do
  local v = ARGV[4 + i]
  if v ~= '' then redis.call('ZADD', base .. f .. ':' .. v, score, id) end
end
if ARGV[9] ~= '' then
  for r in string.gmatch(ARGV[9], '[^\31]+') do redis.call('ZADD', base .. 'ref:' .. r, score, id) end
end
redis.call('ZADD', KEYS[2], score, id)
redis.call('HSET', KEYS[1], 'v', ver, 'at', score, 'partner', ARGV[5], 'company', ARGV[6],
  'service_type', ARGV[7], 'status', ARGV[8], 'refs', ARGV[9])
return 1
`)
