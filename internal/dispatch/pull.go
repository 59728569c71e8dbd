package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/luascript"
	"github.com/equus/sogateway/internal/model"
)

// publishScript marks an order new or changed in a vendor's pull feed.
//
//	KEYS[1] pull feed ZSET (order id -> sequence)
//	KEYS[2] pull sequence STRING
//	ARGV[1] order id
//	ARGV[2] "1": only when the order is in the feed already (a change)
//	returns the order's new sequence, or 0 when nothing was done
var publishScript = luascript.New(`
if ARGV[2] == "1" and not redis.call("ZSCORE", KEYS[1], ARGV[1]) then return 0 end
local n = redis.call("INCR", KEYS[2])
redis.call("ZADD", KEYS[1], n, ARGV[1])
return n
`)

// ackScript advances a vendor's acknowledged pull cursor, never backwards and
// never past the feed.
//
//	KEYS[1] pull ack STRING
//	KEYS[2] pull sequence STRING
//	ARGV[1] cursor
//	returns the acknowledged cursor, or -1 when ARGV[1] is past the feed
var ackPullScript = redis.NewScript(`
local c = tonumber(ARGV[1])
local seq = tonumber(redis.call("GET", KEYS[2]) or "0")
if c > seq then return -1 end
local cur = tonumber(redis.call("GET", KEYS[1]) or "0")
if c > cur then redis.call("SET", KEYS[1], c); cur = c end
return cur
`)

// publish adds the order to the vendor's pull feed (new or changed).
func (s *Service) publish(ctx context.Context, vendor, orderID string) error {
	if err := publishScript.Run(ctx, s.rdb, []string{s.k.pullFeed(vendor), s.k.pullSeq(vendor)}, orderID, "0").Err(); err != nil {
		return fmt.Errorf("dispatch: publish %s to %s: %w", orderID, vendor, err)
	}
	return nil
}

// PullPage is one page of a vendor's pull.
type PullPage struct {
	// Orders are the orders rendered by the vendor's mapping (render pull).
	Orders []json.RawMessage `json:"orders"`
	// Cursor is where the next pull starts; acknowledge it once the page is stored.
	Cursor string `json:"cursor"`
	// More is true when more orders wait after Cursor.
	More bool `json:"more"`
}

// Pull returns the orders new or changed for the vendor after cursor (empty:
// after its last acknowledged cursor) that its permission set allows,
// rendered by its mapping, at most limit (<= 0 or above pull.page_limit means
// the page limit). Orders outside the permission set are skipped.
func (s *Service) Pull(ctx context.Context, vendorName, cursor string, limit int) (*PullPage, error) {
	v, err := s.vendor(vendorName)
	if err != nil {
		return nil, err
	}
	if !v.cfg.Pull.Enabled {
		return nil, fmt.Errorf("dispatch: %w", &model.NotFoundError{What: "pull mode of vendor", ID: v.name, Err: ErrPullDisabled})
	}
	if cursor == "" {
		cursor, err = s.rdb.Get(ctx, s.k.pullAck(v.name)).Result()
		if errors.Is(err, redis.Nil) {
			cursor = "0"
		} else if err != nil {
			return nil, fmt.Errorf("dispatch: pull cursor of %s: %w", v.name, err)
		}
	}
	from, err := strconv.ParseInt(cursor, 10, 64)
	if err != nil || from < 0 {
		return nil, &model.ValidationError{Field: "cursor", Rule: fmt.Sprintf("must be a cursor returned by a previous pull, got %q", cursor)}
	}
	if limit <= 0 || limit > v.cfg.Pull.PageLimit {
		limit = v.cfg.Pull.PageLimit
	}
	zs, err := s.rdb.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: s.k.pullFeed(v.name), ByScore: true,
		Start: "(" + strconv.FormatInt(from, 10), Stop: "+inf", Count: int64(limit) + 1}).Result()
	if err != nil {
		return nil, fmt.Errorf("dispatch: pull %s: %w", v.name, err)
	}
	page := &PullPage{Orders: []json.RawMessage{}, Cursor: strconv.FormatInt(from, 10)}
	if len(zs) > limit {
		page.More, zs = true, zs[:limit]
	}
	for _, z := range zs {
		id, _ := z.Member.(string)
		page.Cursor = strconv.FormatInt(int64(z.Score), 10)
		o, err := s.st.GetOrder(ctx, id)
		if errors.Is(err, model.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("dispatch: pull %s: %w", v.name, err)
		}
		if s.permit(v, o) != nil {
			continue
		}
		if s.r == nil {
			return nil, fmt.Errorf("dispatch: pull %s: no renderer: %w", v.name, ErrNoMapping)
		}
		r, err := s.r.Render(v.cfg.Mapping, v.cfg.Pull.Render, visibleOrder(v, o), nil, map[string]any{"vendor": v.name})
		if err != nil {
			return nil, fmt.Errorf("dispatch: pull %s: order %s: %w", v.name, id, err)
		}
		if json.Valid(r.Body) {
			page.Orders = append(page.Orders, json.RawMessage(r.Body))
		} else {
			b, _ := json.Marshal(string(r.Body))
			page.Orders = append(page.Orders, b)
		}
	}
	return page, nil
}

// AckPull records that the vendor stored everything up to cursor: a pull
// without a cursor starts there. A cursor is never moved backwards; one past
// the feed is refused.
func (s *Service) AckPull(ctx context.Context, vendorName, cursor string) (string, error) {
	v, err := s.vendor(vendorName)
	if err != nil {
		return "", err
	}
	if !v.cfg.Pull.Enabled {
		return "", fmt.Errorf("dispatch: %w", &model.NotFoundError{What: "pull mode of vendor", ID: v.name, Err: ErrPullDisabled})
	}
	c, err := strconv.ParseInt(cursor, 10, 64)
	if err != nil || c < 0 {
		return "", &model.ValidationError{Field: "cursor", Rule: fmt.Sprintf("must be a cursor returned by a pull, got %q", cursor)}
	}
	n, err := ackPullScript.Run(ctx, s.rdb, []string{s.k.pullAck(v.name), s.k.pullSeq(v.name)}, c).Int64()
	if err != nil {
		return "", fmt.Errorf("dispatch: ack pull of %s: %w", v.name, err)
	}
	if n < 0 {
		return "", &model.ValidationError{Field: "cursor", Rule: fmt.Sprintf("is past the end of the feed, got %q", cursor)}
	}
	return strconv.FormatInt(n, 10), nil
}

// PullKey returns the vendor's pull API key (from pull.api_key_env), for the
// HTTP layer's constant-time comparison; ok is false when pull is off or the
// key is not set.
func (s *Service) PullKey(vendorName string) (key []byte, header string, ok bool) {
	v, err := s.vendor(vendorName)
	if err != nil || !v.cfg.Pull.Enabled {
		return nil, "", false
	}
	k := v.pullKey
	return k, v.cfg.Pull.Header, len(k) > 0
}
