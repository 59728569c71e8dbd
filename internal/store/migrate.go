package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/equus/sogateway/internal/model"
)

// migrate moves the history found inside a legacy doc (read at version v)
// into the order's lists; errRetry when the order changed meanwhile.
func (s *Store) migrate(ctx context.Context, o *model.Order, v, doc string) error {
	head, err := encodeHead(o)
	if err != nil {
		return fmt.Errorf("store: encode order: %w", err)
	}
	args, err := appendHistory([]any{v, doc, head}, nil, o, 0, 0)
	if err != nil {
		return err
	}
	n, err := migrateScript.Run(ctx, s.rdb, s.k.orderKeys(o.ID), args...).Int()
	if err != nil {
		return fmt.Errorf("store: migrate order %s: %w", o.ID, err)
	}
	if n == 0 {
		return errRetry
	}
	return nil
}

// MigrateOrder moves the messages and attachments of an order written by an
// older gateway (inside the order's document) beside it, and reports whether
// there was anything to move. Reads migrate on the fly too; this is for the
// one-shot `gatewayd migrate history`.
func (s *Store) MigrateOrder(ctx context.Context, id string) (bool, error) {
	for attempt := 0; attempt < 10; attempt++ {
		_, legacy, err := s.decodeHead(ctx, id, s.rdb.HMGet(ctx, s.k.order(id), "v", "doc"))
		if errors.Is(err, errRetry) {
			continue
		}
		return legacy, err
	}
	return false, fmt.Errorf("store: migrate order %s: kept changing: %w", id, model.ErrVersionConflict)
}

// MigrateAll runs MigrateOrder on every order in the order index, a page at a
// time, and returns how many orders it looked at and how many it migrated.
// It is idempotent: a second run migrates nothing.
func (s *Store) MigrateAll(ctx context.Context) (scanned, migrated int, err error) {
	const page = 500
	for offset := int64(0); ; offset += page {
		ids, err := s.rdb.ZRange(ctx, s.k.orderIndex(), offset, offset+page-1).Result()
		if err != nil {
			return scanned, migrated, fmt.Errorf("store: order index: %w", err)
		}
		for _, id := range ids {
			moved, err := s.MigrateOrder(ctx, id)
			if errors.Is(err, model.ErrNotFound) {
				continue
			}
			if err != nil {
				return scanned, migrated, err
			}
			scanned++
			if moved {
				migrated++
			}
		}
		if len(ids) < page {
			return scanned, migrated, nil
		}
	}
}
