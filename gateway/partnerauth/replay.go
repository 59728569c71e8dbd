package partnerauth

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ReplayGuard remembers message ids so a captured request cannot be replayed.
//
// Claim records id (within partner) for ttl and reports true when it was not
// already recorded; it is atomic across callers (two concurrent claims of one
// id: exactly one gets true). Forget removes the record, so that the sender's
// retry of a message the gateway failed to commit is accepted again.
type ReplayGuard interface {
	Claim(ctx context.Context, partner, id string, ttl time.Duration) (bool, error)
	Forget(ctx context.Context, partner, id string) error
}

// MemoryReplay is a ReplayGuard for one process (tests, the embedded mode).
// Expired ids are swept on Claim.
type MemoryReplay struct {
	mu   sync.Mutex
	seen map[string]time.Time
	now  func() time.Time
	next time.Time
}

var _ ReplayGuard = (*MemoryReplay)(nil)

// NewMemoryReplay returns an empty MemoryReplay using now as its clock (nil: time.Now).
func NewMemoryReplay(now func() time.Time) *MemoryReplay {
	if now == nil {
		now = time.Now
	}
	return &MemoryReplay{seen: make(map[string]time.Time), now: now}
}

// Claim implements ReplayGuard.
func (m *MemoryReplay) Claim(_ context.Context, partner, id string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if !now.Before(m.next) {
		for k, exp := range m.seen {
			if !now.Before(exp) {
				delete(m.seen, k)
			}
		}
		m.next = now.Add(time.Minute)
	}
	k := partner + "\x00" + id
	if exp, ok := m.seen[k]; ok && now.Before(exp) {
		return false, nil
	}
	m.seen[k] = now.Add(ttl)
	return true, nil
}

// Forget implements ReplayGuard.
func (m *MemoryReplay) Forget(_ context.Context, partner, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.seen, partner+"\x00"+id)
	return nil
}

// RedisReplay is a ReplayGuard shared by every replica: one key per id, set
// with SET NX PX, so the first claim wins and the key expires by itself.
type RedisReplay struct {
	rdb redis.UniversalClient
}

var _ ReplayGuard = (*RedisReplay)(nil)

// NewRedisReplay returns a RedisReplay over rdb.
func NewRedisReplay(rdb redis.UniversalClient) *RedisReplay { return &RedisReplay{rdb: rdb} }

// Claim implements ReplayGuard.
func (r *RedisReplay) Claim(ctx context.Context, partner, id string, ttl time.Duration) (bool, error) {
	if ttl < time.Millisecond {
		ttl = time.Millisecond
	}
	ok, err := r.rdb.SetNX(ctx, replayKey(partner, id), 1, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("partnerauth: claim replay id: %w", err)
	}
	return ok, nil
}

// Forget implements ReplayGuard.
func (r *RedisReplay) Forget(ctx context.Context, partner, id string) error {
	if err := r.rdb.Del(ctx, replayKey(partner, id)).Err(); err != nil {
		return fmt.Errorf("partnerauth: forget replay id: %w", err)
	}
	return nil
}
