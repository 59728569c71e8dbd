package catalog

import "github.com/redis/go-redis/v9"

// putScript creates, replaces or deletes one document if its version is the
// expected one, and bumps the revision.
//
// KEYS[1] docs hash, KEYS[2] versions hash, KEYS[3] rev counter
// ARGV[1] name, ARGV[2] expected version (-1: any; 0: must not exist),
// ARGV[3] new document JSON ("" deletes)
// Returns {version after (0 when deleted), version before, revision};
// errors "VERSION <current>" or "NOTFOUND" (delete of a missing document).
var putScript = redis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
local want = tonumber(ARGV[2])
if want >= 0 and cur ~= want then
  return redis.error_reply('VERSION ' .. cur)
end
if ARGV[3] == '' then
  if cur == 0 then
    return redis.error_reply('NOTFOUND')
  end
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  return {0, cur, redis.call('INCR', KEYS[3])}
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], cur + 1)
return {cur + 1, cur, redis.call('INCR', KEYS[3])}
`)

// seedScript writes the first documents once: only when the catalog was
// never seeded, so a restart never overwrites what admins changed.
//
// KEYS[1] seeded flag, KEYS[2] rev counter, then pairs (docs hash, versions
// hash) per kind: KEYS[3],KEYS[4] vendors, KEYS[5],KEYS[6] groups
// ARGV[1] number of vendor documents n, then n name/doc pairs, then the group
// name/doc pairs
// Returns 1 when it seeded, 0 when the catalog was seeded before.
var seedScript = redis.NewScript(`
if redis.call('SET', KEYS[1], '1', 'NX') == false then
  return 0
end
local n = tonumber(ARGV[1])
local i = 2
for j = 1, n do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
  redis.call('HSET', KEYS[4], ARGV[i], 1)
  i = i + 2
end
while i < #ARGV do
  redis.call('HSET', KEYS[5], ARGV[i], ARGV[i + 1])
  redis.call('HSET', KEYS[6], ARGV[i], 1)
  i = i + 2
end
redis.call('INCR', KEYS[2])
return 1
`)
