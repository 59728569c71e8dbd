package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/equus/sogateway/internal/model"
)

// Events returns an order's events, oldest first.
func (s *Store) Events(ctx context.Context, orderID string) ([]*model.Event, error) {
	n, err := s.rdb.Exists(ctx, s.k.order(orderID)).Result()
	if err != nil {
		return nil, fmt.Errorf("store: events of %s: %w", orderID, err)
	}
	if n == 0 {
		return nil, model.NotFound("order", orderID)
	}
	raw, err := s.rdb.LRange(ctx, s.k.events(orderID), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("store: events of %s: %w", orderID, err)
	}
	out := make([]*model.Event, 0, len(raw))
	for _, r := range raw {
		var ev model.Event
		if err := json.Unmarshal([]byte(r), &ev); err != nil {
			return nil, fmt.Errorf("store: decode event of %s: %w", orderID, err)
		}
		out = append(out, &ev)
	}
	return out, nil
}

// MaxPage is the most history entries one page returns.
const MaxPage = 1000

// pageRange reads entries [cursor, cursor+limit) of an order's history list
// and returns them with the cursor of the next page ("" after the last). The
// cursor is the position in the list, opaque to callers.
func (s *Store) pageRange(ctx context.Context, id, list, cursor string, limit int) ([]string, string, error) {
	var from int64
	if cursor != "" {
		n, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || n < 0 {
			return nil, "", &model.ValidationError{Field: "cursor", Rule: "must be a cursor this listing returned"}
		}
		from = n
	}
	if limit <= 0 || limit > MaxPage {
		return nil, "", &model.ValidationError{Field: "limit", Rule: fmt.Sprintf("must be from 1 to %d", MaxPage)}
	}
	pipe := s.rdb.Pipeline()
	exists := pipe.Exists(ctx, s.k.order(id))
	rng := pipe.LRange(ctx, list, from, from+int64(limit)) // one more than asked: is there a next page?
	_, _ = pipe.Exec(ctx)
	if n, err := exists.Result(); err != nil {
		return nil, "", fmt.Errorf("store: history of %s: %w", id, err)
	} else if n == 0 {
		return nil, "", model.NotFound("order", id)
	}
	raw, err := rng.Result()
	if err != nil {
		return nil, "", fmt.Errorf("store: history of %s: %w", id, err)
	}
	next := ""
	if len(raw) > limit {
		raw, next = raw[:limit], strconv.FormatInt(from+int64(limit), 10)
	}
	return raw, next, nil
}

// EventsPage returns up to limit (1..MaxPage) of an order's events, oldest
// first, from cursor ("" for the first page), and the cursor of the next page
// ("" after the last one).
func (s *Store) EventsPage(ctx context.Context, id, cursor string, limit int) ([]*model.Event, string, error) {
	raw, next, err := s.pageRange(ctx, id, s.k.events(id), cursor, limit)
	if err != nil {
		return nil, "", err
	}
	out := make([]*model.Event, len(raw))
	for i, r := range raw {
		out[i] = new(model.Event)
		if err := json.Unmarshal([]byte(r), out[i]); err != nil {
			return nil, "", fmt.Errorf("store: decode event of %s: %w", id, err)
		}
	}
	return out, next, nil
}

// MessagesPage returns up to limit (1..MaxPage) of an order's messages,
// oldest first, from cursor ("" for the first page), and the cursor of the
// next page ("" after the last one).
func (s *Store) MessagesPage(ctx context.Context, id, cursor string, limit int) ([]model.Message, string, error) {
	if _, err := s.GetOrderHead(ctx, id); err != nil { // migrates a legacy order first
		return nil, "", err
	}
	raw, next, err := s.pageRange(ctx, id, s.k.messages(id), cursor, limit)
	if err != nil {
		return nil, "", err
	}
	out := make([]model.Message, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal([]byte(r), &out[i]); err != nil {
			return nil, "", fmt.Errorf("store: decode message of %s: %w", id, err)
		}
	}
	return out, next, nil
}
