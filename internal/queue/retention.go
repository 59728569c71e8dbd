package queue

import (
	"context"
	"fmt"
	"time"
)

// trimDeadScript deletes up to ARGV[4] dead jobs that died before
// now - retention, with their hashes.
//
// KEYS[1] dead ZSET
// ARGV[1] offset ms, ARGV[2] retention ms, ARGV[3] job prefix, ARGV[4] limit
// Returns how many dead jobs it deleted.
var trimDeadScript = script(`
local now = now_ms(ARGV[1])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]), 'LIMIT', 0, tonumber(ARGV[4]))
for _, id in ipairs(ids) do
  redis.call('DEL', ARGV[3] .. id)
end
if #ids > 0 then
  redis.call('ZREM', KEYS[1], unpack(ids))
end
return #ids
`)

// TrimDead deletes every vendor's dead jobs that died more than olderThan
// ago (Redis time), a bounded step at a time, and returns how many it
// deleted. It is idempotent; any replica may run it.
func (q *Queue) TrimDead(ctx context.Context, olderThan time.Duration) (int64, error) {
	vendors, err := q.Vendors(ctx)
	if err != nil {
		return 0, err
	}
	const step = 500
	var total int64
	for _, v := range vendors {
		for {
			n, err := trimDeadScript.Run(ctx, q.rdb, []string{q.deadKey(v)}, q.offsetMs(), olderThan.Milliseconds(), q.jobPrefix(v), step).Int64()
			if err != nil {
				return total, fmt.Errorf("queue: trim dead of %s: %w", v, err)
			}
			total += n
			if n < step {
				break
			}
		}
	}
	return total, nil
}

// Sizes returns, per vendor, the number of dead jobs and of live ones
// (pending, leased or waiting behind their group's head).
func (q *Queue) Sizes(ctx context.Context) (dead, live map[string]int64, err error) {
	vendors, err := q.Vendors(ctx)
	if err != nil {
		return nil, nil, err
	}
	dead, live = map[string]int64{}, map[string]int64{}
	pipe := q.rdb.Pipeline()
	type pair struct{ d, l interface{ Val() int64 } }
	cmds := make([]pair, len(vendors))
	for i, v := range vendors {
		cmds[i] = pair{pipe.ZCard(ctx, q.deadKey(v)), pipe.ZCard(ctx, q.liveKey(v))}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, nil, fmt.Errorf("queue: sizes: %w", err)
	}
	for i, v := range vendors {
		dead[v], live[v] = cmds[i].d.Val(), cmds[i].l.Val()
	}
	return dead, live, nil
}
