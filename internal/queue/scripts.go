package queue

import "github.com/redis/go-redis/v9"

// The queue's moves, one Lua script each. Every script reads the time from
// Redis TIME (plus ARGV[1], the test clock's offset in ms, 0 in production), so
// all replicas decide with one clock. Scripts reach a job's HASH or a group's
// LIST by appending the id or group to a prefix passed in ARGV; those keys
// carry the vendor's hash tag, so they live in the slot of the declared KEYS
// (the pattern asynq and BullMQ use on Redis Cluster).
//
// Job HASH fields: id, vendor, group, payload, attempts, max, state
// (pending|leased|done|dead), created, born (start of the MaxAge clock:
// enqueue or last replay), next (due time), lerr, meta (JSON), token (lease
// token, "" when not leased), until (lease expiry), ended (done or dead time).
// All times are unix milliseconds.

// prelude holds the Lua helpers every script shares.
const prelude = `
local function now_ms(off)
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(off)
end
local function wake(key)
  redis.call('XADD', key, 'MAXLEN', '1', '*', 'w', '1')
end
-- schedule puts id in due at at, and wakes waiters only when it is due
-- before everything already there (a waiter sleeps until the earliest).
local function schedule(due, wk, at, id)
  local h = redis.call('ZRANGE', due, 0, 0, 'WITHSCORES')
  redis.call('ZADD', due, at, id)
  if #h == 0 or at < tonumber(h[2]) then wake(wk) end
end
local function window(h)
  if not h then return nil end
  local s, e = string.match(h, '^(%d+):(%d+)$')
  return tonumber(s), tonumber(e)
end
-- promote makes the head of group due at its next time when it is pending.
local function promote(groupPrefix, jobPrefix, due, group)
  local head = redis.call('LINDEX', groupPrefix .. group, 0)
  if not head then return false end
  local st = redis.call('HMGET', jobPrefix .. head, 'state', 'next')
  if st[1] == 'pending' then
    redis.call('ZADD', due, st[2], head)
    return true
  end
  return false
end
-- leave takes id out of its group; when id was the head, the next job is promoted.
local function leave(groupPrefix, jobPrefix, due, group, id)
  if not group or group == '' then return false end
  local gk = groupPrefix .. group
  local head = redis.call('LINDEX', gk, 0)
  redis.call('LREM', gk, 1, id)
  if head == id then return promote(groupPrefix, jobPrefix, due, group) end
  return false
end
-- bury moves a job that is in neither due nor lease to the dead set.
local function bury(jk, id, group, now, lerr, due, dead, live, groupPrefix, jobPrefix)
  redis.call('HSET', jk, 'state', 'dead', 'token', '', 'until', 0, 'lerr', lerr, 'ended', now)
  redis.call('ZADD', dead, now, id)
  redis.call('ZREM', live, id)
  return leave(groupPrefix, jobPrefix, due, group, id)
end
-- reap gives back up to limit expired leases (burying those out of attempts).
local function reap(due, lease, dead, live, wk, jobPrefix, groupPrefix, now, limit)
  local ids = redis.call('ZRANGEBYSCORE', lease, '-inf', '(' .. now, 'LIMIT', 0, limit)
  for _, id in ipairs(ids) do
    redis.call('ZREM', lease, id)
    local jk = jobPrefix .. id
    local st = redis.call('HMGET', jk, 'state', 'attempts', 'max', 'group')
    if st[1] == 'leased' then
      if tonumber(st[2]) >= tonumber(st[3]) then
        bury(jk, id, st[4], now, 'lease expired on the last attempt', due, dead, live, groupPrefix, jobPrefix)
      else
        redis.call('HSET', jk, 'state', 'pending', 'token', '', 'until', 0, 'next', now, 'lerr', 'lease expired')
        redis.call('ZADD', due, now, id)
      end
    end
  end
  if #ids > 0 then wake(wk) end
  return #ids
end
-- requeue puts a dead job back: fresh attempts and age, tail of its group.
local function requeue(jk, id, group, now, dead, due, live, groupPrefix)
  redis.call('HSET', jk, 'state', 'pending', 'attempts', 0, 'next', now, 'born', now, 'ended', 0)
  redis.call('ZREM', dead, id)
  redis.call('ZADD', live, now, id)
  if group and group ~= '' then
    if redis.call('RPUSH', groupPrefix .. group, id) > 1 then return end
  end
  redis.call('ZADD', due, now, id)
end
`

func script(body string) *redis.Script { return redis.NewScript(prelude + body) }

// enqueueScript adds a job unless its id exists.
//
// KEYS[1] job HASH, KEYS[2] due ZSET, KEYS[3] live ZSET, KEYS[4] wake STREAM, KEYS[5] group LIST
// ARGV[1] offset ms, ARGV[2] id, ARGV[3] vendor, ARGV[4] group ("" = none), ARGV[5] payload,
// ARGV[6] max attempts, ARGV[7] due at ms (0 or past = now), ARGV[8] meta JSON
// Returns {1, created ms, next ms} when added, {0, 0, 0} when the id exists.
var enqueueScript = script(`
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, 0, 0} end
local now = now_ms(ARGV[1])
local at = tonumber(ARGV[7])
if at < now then at = now end
redis.call('HSET', KEYS[1], 'id', ARGV[2], 'vendor', ARGV[3], 'group', ARGV[4], 'payload', ARGV[5],
  'attempts', 0, 'max', ARGV[6], 'state', 'pending', 'created', now, 'born', now, 'next', at, 'meta', ARGV[8])
redis.call('ZADD', KEYS[3], now, ARGV[2])
if ARGV[4] ~= '' and redis.call('RPUSH', KEYS[5], ARGV[2]) > 1 then
  return {1, now, at}
end
schedule(KEYS[2], KEYS[4], at, ARGV[2])
return {1, now, at}
`)

// claimScript reaps the vendor's expired leases, then, unless an offline
// window covers now, leases up to max due jobs.
//
// KEYS[1] due ZSET, KEYS[2] lease ZSET, KEYS[3] hold STRING, KEYS[4] wake STREAM,
// KEYS[5] dead ZSET, KEYS[6] live ZSET
// ARGV[1] offset ms, ARGV[2] max, ARGV[3] lease ms, ARGV[4] token base, ARGV[5] job prefix,
// ARGV[6] group prefix
// Returns {now, reaped, job...}, each job the values of jobFields then token and until.
var claimScript = script(`
local now = now_ms(ARGV[1])
local out = {now, reap(KEYS[1], KEYS[2], KEYS[5], KEYS[6], KEYS[4], ARGV[5], ARGV[6], now, 100)}
local s, e = window(redis.call('GET', KEYS[3]))
if e then
  if now >= e then redis.call('DEL', KEYS[3])
  elseif now >= s then return out end
end
local max = tonumber(ARGV[2])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, max)
if #ids == 0 then return out end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, #ids - 1) -- ids are ranks 0..#ids-1
local untl = now + tonumber(ARGV[3])
local leased = {}
for i, id in ipairs(ids) do
  local jk = ARGV[5] .. id
  local f = redis.call('HMGET', jk, 'id', 'group', 'payload', 'attempts', 'max', 'state',
    'created', 'next', 'lerr', 'meta')
  if f[6] == 'pending' then
    local tok = ARGV[4] .. '.' .. i
    local att = tonumber(f[4]) + 1
    redis.call('HSET', jk, 'state', 'leased', 'token', tok, 'until', untl, 'attempts', att)
    f[4], f[6], f[11], f[12] = att, 'leased', tok, untl
    leased[#leased + 1] = untl
    leased[#leased + 1] = id
    out[#out + 1] = f
  end
end
if #leased > 0 then redis.call('ZADD', KEYS[2], unpack(leased)) end
if #ids == max and redis.call('ZCOUNT', KEYS[1], '-inf', now) > 0 then wake(KEYS[4]) end
return out
`)

// ackScript marks leased jobs done, each when its token owns it, and lets
// the next job of each one's group become due.
//
// KEYS[1] lease ZSET, KEYS[2] due ZSET, KEYS[3] live ZSET, KEYS[4] wake STREAM,
// KEYS[5..] job HASH of each lease
// ARGV[1] offset ms, ARGV[2] retention ms, ARGV[3] job prefix, ARGV[4] group prefix,
// ARGV[5..] id and token of each lease, in pairs
// Returns, per lease, 1 when acked or 0 when its lease is lost.
var ackScript = script(`
local now = now_ms(ARGV[1])
local ret = tonumber(ARGV[2])
local out, done, woke = {}, {}, false
for i = 5, #KEYS do
  local id, tok = ARGV[2 * i - 5], ARGV[2 * i - 4]
  local st = redis.call('HMGET', KEYS[i], 'state', 'token', 'group')
  if st[1] ~= 'leased' or st[2] ~= tok then
    out[#out + 1] = 0
  else
    redis.call('HSET', KEYS[i], 'state', 'done', 'token', '', 'ended', now)
    if ret > 0 then redis.call('PEXPIRE', KEYS[i], ret) end
    if leave(ARGV[4], ARGV[3], KEYS[2], st[3], id) then woke = true end
    done[#done + 1] = id
    out[#out + 1] = 1
  end
end
if #done > 0 then
  redis.call('ZREM', KEYS[1], unpack(done))
  redis.call('ZREM', KEYS[3], unpack(done))
end
if woke then wake(KEYS[4]) end
return out
`)

// retryScript gives a leased job back for a later attempt, or buries it when
// it spent its attempts or age.
//
// KEYS[1] job HASH, KEYS[2] lease ZSET, KEYS[3] due ZSET, KEYS[4] live ZSET, KEYS[5] wake STREAM,
// KEYS[6] dead ZSET
// ARGV[1] offset ms, ARGV[2] id, ARGV[3] token, ARGV[4] due at ms, ARGV[5] last error,
// ARGV[6] spend attempt (1|0), ARGV[7] max age ms, ARGV[8] job prefix, ARGV[9] group prefix
// Returns {code, next ms, attempts}: code 1 retried, 2 buried, 0 lease lost.
var retryScript = script(`
local st = redis.call('HMGET', KEYS[1], 'state', 'token', 'group', 'attempts', 'max', 'born')
if st[1] ~= 'leased' or st[2] ~= ARGV[3] then return {0, 0, 0} end
local now = now_ms(ARGV[1])
local attempts = tonumber(st[4])
redis.call('ZREM', KEYS[2], ARGV[2])
if ARGV[6] == '0' then
  if attempts > 0 then attempts = redis.call('HINCRBY', KEYS[1], 'attempts', -1) end
else
  local maxAge = tonumber(ARGV[7])
  if attempts >= tonumber(st[5]) or (maxAge > 0 and now - tonumber(st[6]) >= maxAge) then
    if bury(KEYS[1], ARGV[2], st[3], now, ARGV[5], KEYS[3], KEYS[6], KEYS[4], ARGV[9], ARGV[8]) then
      wake(KEYS[5])
    end
    return {2, now, attempts}
  end
end
local at = tonumber(ARGV[4])
if at < now then at = now end
redis.call('HSET', KEYS[1], 'state', 'pending', 'token', '', 'until', 0, 'next', at, 'lerr', ARGV[5])
schedule(KEYS[3], KEYS[5], at, ARGV[2])
return {1, at, attempts}
`)

// buryScript moves a leased job to the dead set when the token owns it.
//
// KEYS[1] job HASH, KEYS[2] lease ZSET, KEYS[3] due ZSET, KEYS[4] dead ZSET, KEYS[5] live ZSET,
// KEYS[6] wake STREAM
// ARGV[1] offset ms, ARGV[2] id, ARGV[3] token, ARGV[4] last error, ARGV[5] job prefix,
// ARGV[6] group prefix
// Returns 1, or 0 when the lease is lost.
var buryScript = script(`
local st = redis.call('HMGET', KEYS[1], 'state', 'token', 'group')
if st[1] ~= 'leased' or st[2] ~= ARGV[3] then return 0 end
local now = now_ms(ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[2])
if bury(KEYS[1], ARGV[2], st[3], now, ARGV[4], KEYS[3], KEYS[4], KEYS[5], ARGV[6], ARGV[5]) then
  wake(KEYS[6])
end
return 1
`)

// extendScript renews a lease when the token owns it.
//
// KEYS[1] job HASH, KEYS[2] lease ZSET
// ARGV[1] offset ms, ARGV[2] id, ARGV[3] token, ARGV[4] lease ms
// Returns the new expiry ms, or 0 when the lease is lost.
var extendScript = script(`
local st = redis.call('HMGET', KEYS[1], 'state', 'token')
if st[1] ~= 'leased' or st[2] ~= ARGV[3] then return 0 end
local untl = now_ms(ARGV[1]) + tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'until', untl)
redis.call('ZADD', KEYS[2], untl, ARGV[2])
return untl
`)

// holdScript sets (or clears, when end has passed) the vendor's offline
// window and wakes waiters so they recompute their deadline.
//
// KEYS[1] hold STRING, KEYS[2] wake STREAM
// ARGV[1] offset ms, ARGV[2] start ms (0 = now), ARGV[3] end ms
// Returns 1 when a window is set, 0 when it was cleared.
var holdScript = script(`
local now = now_ms(ARGV[1])
local e = tonumber(ARGV[3])
local r = 0
if e <= now then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2] .. ':' .. ARGV[3], 'PX', e - now + 86400000)
  r = 1
end
wake(KEYS[2])
return r
`)

// releaseScript ends the vendor's offline window and wakes waiters.
//
// KEYS[1] hold STRING, KEYS[2] wake STREAM
// Returns the number of windows deleted (0 or 1).
var releaseScript = redis.NewScript(prelude + `
local n = redis.call('DEL', KEYS[1])
wake(KEYS[2])
return n
`)

// holdOfScript reads the window's end when it covers now.
//
// KEYS[1] hold STRING
// ARGV[1] offset ms
// Returns the end ms, or 0.
var holdOfScript = script(`
local s, e = window(redis.call('GET', KEYS[1]))
if not e then return 0 end
local now = now_ms(ARGV[1])
if now >= s and now < e then return e end
return 0
`)

// getScript reads a job and the window covering now.
//
// KEYS[1] job HASH, KEYS[2] hold STRING
// ARGV[1] offset ms
// Returns {} when missing, else {window end ms or 0, values of jobFields}.
var getScript = script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
local held = 0
local s, e = window(redis.call('GET', KEYS[2]))
if e then
  local now = now_ms(ARGV[1])
  if now >= s and now < e then held = e end
end
return {held, redis.call('HMGET', KEYS[1], 'id', 'group', 'payload', 'attempts', 'max', 'state',
  'created', 'next', 'lerr', 'meta')}
`)

// statsScript reads a vendor's figures at one instant.
//
// KEYS[1] due ZSET, KEYS[2] lease ZSET, KEYS[3] dead ZSET, KEYS[4] live ZSET, KEYS[5] hold STRING
// ARGV[1] offset ms
// Returns {now, due now, leased, dead, depth, oldest ms or 0, window end ms or 0}.
var statsScript = script(`
local now = now_ms(ARGV[1])
local oldest = 0
local o = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
if #o > 0 then oldest = tonumber(o[2]) end
local held = 0
local s, e = window(redis.call('GET', KEYS[5]))
if e and now >= s and now < e then held = e end
return {now, redis.call('ZCOUNT', KEYS[1], '-inf', now), redis.call('ZCARD', KEYS[2]),
  redis.call('ZCARD', KEYS[3]), redis.call('ZCARD', KEYS[4]), oldest, held}
`)

// nextScript says how long a worker may sleep: until the first due job (or
// the end of the window holding it) or the first lease expiry. It also reads
// the wake stream's last id, so a wake-up after this script is never missed.
//
// KEYS[1] due ZSET, KEYS[2] lease ZSET, KEYS[3] hold STRING, KEYS[4] wake STREAM
// ARGV[1] offset ms
// Returns {ms to wait (0 = due now, -1 = nothing scheduled), last wake id}.
var nextScript = script(`
local now = now_ms(ARGV[1])
local last = '0-0'
local x = redis.call('XREVRANGE', KEYS[4], '+', '-', 'COUNT', 1)
if #x > 0 then last = x[1][1] end
local cand = -1
local d = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #d > 0 then cand = tonumber(d[2]) end
local s, e = window(redis.call('GET', KEYS[3]))
if cand >= 0 and e and now < e then
  local t = cand
  if t < now then t = now end
  if t >= s then cand = e end
end
local l = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if #l > 0 then
  local le = tonumber(l[2]) + 1
  if cand < 0 or le < cand then cand = le end
end
if cand < 0 then return {-1, last} end
local w = cand - now
if w < 0 then w = 0 end
return {w, last}
`)

// reapScript gives back up to limit expired leases of one vendor.
//
// KEYS[1] due ZSET, KEYS[2] lease ZSET, KEYS[3] dead ZSET, KEYS[4] live ZSET, KEYS[5] wake STREAM
// ARGV[1] offset ms, ARGV[2] limit, ARGV[3] job prefix, ARGV[4] group prefix
// Returns how many leases it moved.
var reapScript = script(`
local now = now_ms(ARGV[1])
return reap(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[3], ARGV[4], now, tonumber(ARGV[2]))
`)

// replayScript puts one dead job back.
//
// KEYS[1] job HASH, KEYS[2] dead ZSET, KEYS[3] due ZSET, KEYS[4] live ZSET, KEYS[5] wake STREAM
// ARGV[1] offset ms, ARGV[2] id, ARGV[3] group prefix
// Returns 1, 0 when the job is not dead, -1 when it does not exist.
var replayScript = script(`
local st = redis.call('HMGET', KEYS[1], 'state', 'group')
if not st[1] then return -1 end
if st[1] ~= 'dead' then return 0 end
requeue(KEYS[1], ARGV[2], st[2], now_ms(ARGV[1]), KEYS[2], KEYS[3], KEYS[4], ARGV[3])
wake(KEYS[5])
return 1
`)

// replayDeadScript puts back up to limit dead jobs, oldest death first.
//
// KEYS[1] dead ZSET, KEYS[2] due ZSET, KEYS[3] live ZSET, KEYS[4] wake STREAM
// ARGV[1] offset ms, ARGV[2] limit, ARGV[3] job prefix, ARGV[4] group prefix
// Returns {ids looked at, jobs replayed}.
var replayDeadScript = script(`
local now = now_ms(ARGV[1])
local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
local n = 0
for _, id in ipairs(ids) do
  local jk = ARGV[3] .. id
  local st = redis.call('HMGET', jk, 'state', 'group')
  if st[1] == 'dead' then
    requeue(jk, id, st[2], now, KEYS[1], KEYS[2], KEYS[3], ARGV[4])
    n = n + 1
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
if n > 0 then wake(KEYS[4]) end
return {#ids, n}
`)
