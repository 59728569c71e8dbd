package console

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/equus/sogateway/internal/model"
)

// OrderStore is what StoreOrders reads: the order store /v1 reads
// (*store.Store satisfies it).
type OrderStore interface {
	GetOrder(ctx context.Context, id string) (*model.Order, error)
	Events(ctx context.Context, orderID string) ([]*model.Event, error)
	ListOrders(ctx context.Context, offset, limit int64) ([]string, error)
	FindByRef(ctx context.Context, partner, kind, ref string) (string, error)
}

// StoreOrders answers order searches from the order store's own lookups: an
// order id, a partner reference bound by the store (requestor or servicer, of
// any partner Partners lists), or the newest orders filtered page by page.
type StoreOrders struct {
	Store OrderStore
	// Partners lists the partners whose references are looked up.
	Partners func() []string
	// ScanLimit caps how many orders one filtered page reads; default 1000.
	ScanLimit int
}

var _ Orders = StoreOrders{}

// GetOrder returns the order.
func (s StoreOrders) GetOrder(ctx context.Context, id string) (*model.Order, error) {
	return s.Store.GetOrder(ctx, id)
}

// Events returns the order's events, oldest first.
func (s StoreOrders) Events(ctx context.Context, id string) ([]*model.Event, error) {
	return s.Store.Events(ctx, id)
}

// Search finds orders: by reference when q.Ref is set, else the newest
// orders matching the filters. The cursor is an offset into the newest-first
// order index.
func (s StoreOrders) Search(ctx context.Context, q OrderQuery) (*OrderPage, error) {
	if q.Limit <= 0 {
		q.Limit = 25
	}
	if q.Ref != "" {
		return s.byRef(ctx, q)
	}
	off := int64(0)
	if q.Cursor != "" {
		n, err := strconv.ParseInt(q.Cursor, 10, 64)
		if err != nil || n < 0 {
			return nil, &model.ValidationError{Field: "cursor", Rule: "is not a cursor of this search"}
		}
		off = n
	}
	scan := s.ScanLimit
	if scan <= 0 {
		scan = 1000
	}
	page := &OrderPage{}
	const chunk = 100
	for read := 0; read < scan; {
		ids, err := s.Store.ListOrders(ctx, off, chunk)
		if err != nil {
			return nil, fmt.Errorf("console: list orders: %w", err)
		}
		for _, id := range ids {
			off++
			read++
			o, err := s.Store.GetOrder(ctx, id)
			if errors.Is(err, model.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if matches(o, q) {
				page.Orders = append(page.Orders, o)
				if len(page.Orders) == q.Limit {
					page.Next = strconv.FormatInt(off, 10)
					return page, nil
				}
			}
		}
		if len(ids) < chunk {
			return page, nil
		}
	}
	page.Next = strconv.FormatInt(off, 10)
	return page, nil
}

func (s StoreOrders) byRef(ctx context.Context, q OrderQuery) (*OrderPage, error) {
	page := &OrderPage{}
	seen := map[string]bool{}
	add := func(id string) error {
		if seen[id] {
			return nil
		}
		seen[id] = true
		o, err := s.Store.GetOrder(ctx, id)
		if errors.Is(err, model.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if matches(o, q) {
			page.Orders = append(page.Orders, o)
		}
		return nil
	}
	if err := add(q.Ref); err != nil {
		return nil, err
	}
	var partners []string
	if s.Partners != nil {
		partners = s.Partners()
	}
	for _, p := range partners {
		for _, kind := range []string{"requestor", "servicer"} {
			id, err := s.Store.FindByRef(ctx, p, kind, q.Ref)
			if errors.Is(err, model.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if err := add(id); err != nil {
				return nil, err
			}
		}
	}
	return page, nil
}

func matches(o *model.Order, q OrderQuery) bool {
	return (q.Partner == "" || o.Partner == q.Partner) && (q.Company == "" || o.Company == q.Company) &&
		(q.ServiceType == "" || o.ServiceType == q.ServiceType) && (q.Status == "" || string(o.Status) == q.Status)
}
