package intake

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// turns serialises the commits of this process that address the same order,
// so a burst of messages on one ticket (a partner replaying its backlog after
// an outage, 32 at once) waits its turn instead of racing through version
// conflicts, each lost race costing a read and a commit and, past
// maxAttempts, an answer of 503 to the partner. Commits from other replicas
// are still ordered by the store's version check and the retry loop, with
// backoff. An idle key holds no memory.
type turns struct {
	mu sync.Mutex
	m  map[string]*turn
}

// turn is one key's token (a buffered channel of one, so a waiter can give
// up when its request is cancelled) and the number of holders and waiters.
type turn struct {
	token chan struct{}
	refs  int
}

// take waits for key's turn and returns the function that gives it back;
// it returns ctx's error, holding nothing, if ctx ends first.
func (t *turns) take(ctx context.Context, key string) (release func(), err error) {
	t.mu.Lock()
	if t.m == nil {
		t.m = map[string]*turn{}
	}
	e := t.m[key]
	if e == nil {
		e = &turn{token: make(chan struct{}, 1)}
		t.m[key] = e
	}
	e.refs++
	t.mu.Unlock()
	done := func() {
		t.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(t.m, key)
		}
		t.mu.Unlock()
	}
	select {
	case e.token <- struct{}{}:
		return func() { <-e.token; done() }, nil
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	}
}

// size is the number of keys held or waited for (for tests).
func (t *turns) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// backoff waits before another attempt after a version conflict with another
// replica: a random time below 1 ms << attempt, at most 64 ms, so writers
// that keep colliding spread out instead of colliding again in step.
func backoff(ctx context.Context, attempt int) error {
	limit := time.Millisecond << min(attempt, 6)
	t := time.NewTimer(rand.N(limit))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
