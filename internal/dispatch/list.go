package dispatch

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/model"
)

// DeliveryPage is one page of a vendor's deliveries, newest first.
type DeliveryPage struct {
	Vendor     string      `json:"vendor"`
	Status     string      `json:"status,omitempty"`
	Deliveries []*Delivery `json:"deliveries"`
	// NextCursor continues the listing; absent on the last page. A page may
	// hold fewer than limit deliveries when a status filter skipped many:
	// follow NextCursor until it is absent.
	NextCursor string `json:"next_cursor,omitempty"`
}

// listScanMax bounds how many records one page request reads while it skips
// those of another status, so a rare status never makes a request unbounded.
const listScanMax = 5000

// ListDeliveries lists the vendor's delivery records newest first, with the
// live queue state of those still Sending, keeping those whose status is
// status (Sending, Success or Failure; "" for all). cursor is "" for the
// first page or a NextCursor; limit is 1..1000. It returns ErrUnknownVendor
// for a vendor that is not configured and a *model.ValidationError naming
// status, cursor or limit.
func (s *Service) ListDeliveries(ctx context.Context, vendorName, status, cursor string, limit int) (*DeliveryPage, error) {
	if _, err := s.vendor(vendorName); err != nil {
		return nil, err
	}
	switch model.DeliveryStatus(status) {
	case "", model.DeliverySending, model.DeliverySuccess, model.DeliveryFailure:
	default:
		return nil, &model.ValidationError{Field: "status", Rule: fmt.Sprintf("must be one of Sending, Success, Failure, got %q", status)}
	}
	if limit < 1 || limit > 1000 {
		return nil, &model.ValidationError{Field: "limit", Rule: fmt.Sprintf("must be between 1 and 1000, got %d", limit)}
	}
	max, after := "+inf", ""
	if cursor != "" {
		score, member, ok := strings.Cut(cursor, ":")
		if _, err := strconv.ParseInt(score, 10, 64); !ok || err != nil || !strings.Contains(member, "|") {
			return nil, &model.ValidationError{Field: "cursor", Rule: "is not a cursor this listing gave"}
		}
		max, after = score, member
	}
	page := &DeliveryPage{Vendor: vendorName, Status: status, Deliveries: []*Delivery{}}
	key := s.k.vendorDeliveries(vendorName)
	scanned := 0
	for {
		// Members sharing the cursor's score come again; skip up to and
		// including the cursor's own member (reverse order: member descending).
		zs, err := s.rdb.ZRevRangeByScoreWithScores(ctx, key, &redis.ZRangeBy{Max: max, Min: "-inf", Count: 200}).Result()
		if err != nil {
			return nil, fmt.Errorf("dispatch: deliveries of %s: %w", vendorName, err)
		}
		fresh := zs[:0]
		for _, z := range zs {
			m := z.Member.(string)
			if after != "" && strconv.FormatInt(int64(z.Score), 10) == max && m >= after {
				continue
			}
			fresh = append(fresh, z)
		}
		if len(fresh) == 0 {
			return page, nil
		}
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.StringCmd, len(fresh))
		for i, z := range fresh {
			orderID, id, _ := strings.Cut(z.Member.(string), "|")
			cmds[i] = pipe.HGet(ctx, s.k.deliveries(orderID), id)
		}
		_, _ = pipe.Exec(ctx) // a trimmed record answers redis.Nil; it is skipped below
		for i, z := range fresh {
			scanned++
			max, after = strconv.FormatInt(int64(z.Score), 10), z.Member.(string)
			doc, err := cmds[i].Result()
			if err != nil {
				continue
			}
			d, err := s.readRecord(ctx, doc)
			if err != nil {
				return nil, err
			}
			if status == "" || string(d.Status) == status {
				page.Deliveries = append(page.Deliveries, d)
			}
			if len(page.Deliveries) == limit || scanned >= listScanMax {
				page.NextCursor = max + ":" + after
				return page, nil
			}
		}
		if len(zs) < 200 {
			return page, nil
		}
	}
}
