package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// answerIn queues storing answer under key in p, as SetAnswer (replace) or
// RememberAnswer (only when none is stored) would.
func (s *Store) answerIn(ctx context.Context, p redis.Pipeliner, key, answer string, replace bool) {
	if replace {
		p.Set(ctx, s.k.idem(key), answer, s.ttl)
	} else {
		p.SetNX(ctx, s.k.idem(key), answer, s.ttl)
	}
}

// SetAnswer stores (replacing) the answer to an inbound message under key for
// the idempotency TTL.
func (s *Store) SetAnswer(ctx context.Context, key string, answer []byte) error {
	return s.rdb.Set(ctx, s.k.idem(key), answer, s.ttl).Err()
}

// RememberAnswer stores the first answer to an inbound message under key for
// the idempotency TTL, unless one is stored already; it returns the stored
// answer and whether this call stored it.
func (s *Store) RememberAnswer(ctx context.Context, key string, answer []byte) ([]byte, bool, error) {
	ok, err := s.rdb.SetNX(ctx, s.k.idem(key), answer, s.ttl).Result()
	if err != nil {
		return nil, false, fmt.Errorf("store: idempotency: %w", err)
	}
	if ok {
		return answer, true, nil
	}
	prev, err := s.rdb.Get(ctx, s.k.idem(key)).Bytes()
	if errors.Is(err, redis.Nil) { // expired between the two calls
		return s.RememberAnswer(ctx, key, answer)
	}
	return prev, false, err
}

// Answer returns the answer stored for an idempotency key, or nil.
func (s *Store) Answer(ctx context.Context, key string) ([]byte, error) {
	b, err := s.rdb.Get(ctx, s.k.idem(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return b, err
}

// AnswerAndRef is Answer and FindByRef in one round trip: the stored answer
// under key (nil when none) and the order id partner's kind reference ref is
// bound to ("" when it is not bound).
func (s *Store) AnswerAndRef(ctx context.Context, key, partner, kind, ref string) (answer []byte, id string, err error) {
	p := s.rdb.Pipeline()
	a := p.Get(ctx, s.k.idem(key))
	r := p.Get(ctx, s.k.ref(partner, kind, ref))
	_, _ = p.Exec(ctx)
	if answer, err = a.Bytes(); errors.Is(err, redis.Nil) {
		answer, err = nil, nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("store: idempotency: %w", err)
	}
	if id, err = r.Result(); errors.Is(err, redis.Nil) {
		id, err = "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("store: find ref: %w", err)
	}
	return answer, id, nil
}

// RememberNonce records a one-time value (a WS-Security nonce) for ttl and
// reports whether it was fresh; every replica shares the record, so a replay
// to another replica is refused too.
func (s *Store) RememberNonce(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, s.k.nonce(key), 1, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("store: nonce: %w", err)
	}
	return ok, nil
}
