package orderindex

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/model"
)

// Index maintains and queries the order indexes. It is safe for concurrent use.
type Index struct {
	rdb redis.UniversalClient
	k   keys
	now func() time.Time
}

// Options configures an Index. A nil *Options is the zero value.
type Options struct {
	// Prefix starts every key; default "sog".
	Prefix string
	// Now is the clock for dirty marks; default time.Now.
	Now func() time.Time
}

// New returns the index over rdb.
func New(rdb redis.UniversalClient, opt *Options) *Index {
	var o Options
	if opt != nil {
		o = *opt
	}
	if o.Prefix == "" {
		o.Prefix = "sog"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Index{rdb: rdb, k: keys{prefix: o.Prefix}, now: o.Now}
}

// Mark records, in p (the commit's pipeline, ahead of the commit), that
// order id is about to reach version; Apply clears it, Repair resolves it
// after a crash.
func (x *Index) Mark(ctx context.Context, p redis.Pipeliner, id string, version int64) {
	p.HSet(ctx, x.k.dirty(), id, strconv.FormatInt(version, 10)+"|"+strconv.FormatInt(x.now().UnixMilli(), 10))
}

// Apply indexes o at its version, unless a newer version is indexed already
// (so commits finishing out of order cannot leave it in a stale set).
func (x *Index) Apply(ctx context.Context, o *model.Order) error {
	if err := x.apply(ctx, x.rdb, o); err != nil {
		return fmt.Errorf("orderindex: index %s: %w", o.ID, err)
	}
	return nil
}

// ApplyIn queues Apply in p (the commit's publishing pipeline); its failure
// shows only in p's results and leaves the mark for Repair.
func (x *Index) ApplyIn(ctx context.Context, p redis.Pipeliner, o *model.Order) {
	_ = x.apply(ctx, p, o)
}

func (x *Index) apply(ctx context.Context, c redis.Scripter, o *model.Order) error {
	at := o.UpdatedAt
	if at.IsZero() {
		at = o.CreatedAt
	}
	var refs []string
	for _, r := range []string{o.Refs.Requestor, o.Refs.Servicer} {
		if r != "" && !strings.ContainsRune(r, '\x1f') {
			refs = append(refs, r)
		}
	}
	keys := []string{x.k.entry(o.ID), x.k.all(), x.k.dirty()}
	args := []any{x.k.base(), o.ID, o.Version, at.UnixMilli(), o.Partner, o.Company, o.ServiceType, string(o.Status), strings.Join(refs, "\x1f")}
	if p, ok := c.(redis.Pipeliner); ok {
		applyScript.Queue(ctx, p, keys, args...) // the store runs p with luascript.Exec
		return nil
	}
	return applyScript.Run(ctx, c, keys, args...).Err()
}

// Loader reads an order (the store's GetOrder).
type Loader func(ctx context.Context, id string) (*model.Order, error)

// Repair indexes every order left marked dirty (a crash between commit and
// index, or a Redis error) at its current version, and drops marks of
// commits that never happened (older than grace and ahead of the order).
// Any replica may run it; it returns how many orders it indexed.
func (x *Index) Repair(ctx context.Context, load Loader, grace time.Duration) (int, error) {
	marks, err := x.rdb.HGetAll(ctx, x.k.dirty()).Result()
	if err != nil {
		return 0, fmt.Errorf("orderindex: repair: %w", err)
	}
	n := 0
	for id, m := range marks {
		o, err := load(ctx, id)
		if errors.Is(err, model.ErrNotFound) {
			x.rdb.HDel(ctx, x.k.dirty(), id)
			continue
		}
		if err != nil {
			return n, err
		}
		if err := x.Apply(ctx, o); err != nil {
			return n, err
		}
		n++
		v, at, _ := strings.Cut(m, "|")
		mv, _ := strconv.ParseInt(v, 10, 64)
		ms, _ := strconv.ParseInt(at, 10, 64)
		if mv > o.Version && x.now().Sub(time.UnixMilli(ms)) > grace {
			// The commit that wrote this mark failed (a version conflict):
			// nothing will ever reach that version through it.
			x.rdb.HDel(ctx, x.k.dirty(), id)
		}
	}
	return n, nil
}

// Filter selects orders; empty fields do not filter.
type Filter struct {
	Partner, Company, ServiceType, Status string
	// Ref matches the requestor or the servicer reference.
	Ref string
	// UpdatedSince keeps orders updated at or after it.
	UpdatedSince time.Time
}

// Page is one page of order ids, most recently updated first.
type Page struct {
	IDs []string
	// Next is the cursor of the next page; "" at the end.
	Next string
}

// ErrCursor: the cursor is not one this index handed out.
var ErrCursor = errors.New("orderindex: malformed cursor")

func encodeCursor(score float64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(int64(score), 10) + "|" + id))
}

func decodeCursor(c string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", ErrCursor
	}
	s, id, ok := strings.Cut(string(b), "|")
	n, err := strconv.ParseInt(s, 10, 64)
	if !ok || err != nil || id == "" {
		return 0, "", ErrCursor
	}
	return n, id, nil
}

// Query returns up to limit (1..500) order ids matching f after cursor, most
// recently updated first (ties by id, descending). It walks the smallest of
// the filters' sets and checks the others per batch, so a page costs a few
// round trips whatever the number of orders.
func (x *Index) Query(ctx context.Context, f Filter, cursor string, limit int) (*Page, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	var sets []string
	for _, fv := range [][2]string{{"partner", f.Partner}, {"company", f.Company}, {"service_type", f.ServiceType}, {"status", f.Status}, {"ref", f.Ref}} {
		if fv[1] != "" {
			sets = append(sets, x.k.set(fv[0], fv[1]))
		}
	}
	if len(sets) == 0 {
		sets = []string{x.k.all()}
	}
	// Drive with the smallest set.
	p := x.rdb.Pipeline()
	cards := make([]*redis.IntCmd, len(sets))
	for i, s := range sets {
		cards[i] = p.ZCard(ctx, s)
	}
	if _, err := p.Exec(ctx); err != nil {
		return nil, fmt.Errorf("orderindex: query: %w", err)
	}
	drive := 0
	for i := range sets {
		if cards[i].Val() < cards[drive].Val() {
			drive = i
		}
	}
	others := append(append([]string{}, sets[:drive]...), sets[drive+1:]...)
	max := "+inf"
	var curScore int64
	var curID string
	if cursor != "" {
		var err error
		if curScore, curID, err = decodeCursor(cursor); err != nil {
			return nil, err
		}
		max = strconv.FormatInt(curScore, 10)
	}
	min := "-inf"
	if !f.UpdatedSince.IsZero() {
		min = strconv.FormatInt(f.UpdatedSince.UnixMilli(), 10)
	}
	batch := int64(limit * 4)
	if batch < 200 {
		batch = 200
	}
	out := &Page{}
	var offset int64
	var last redis.Z
	for {
		zs, err := x.rdb.ZRevRangeByScoreWithScores(ctx, sets[drive], &redis.ZRangeBy{Max: max, Min: min, Offset: offset, Count: batch}).Result()
		if err != nil {
			return nil, fmt.Errorf("orderindex: query: %w", err)
		}
		offset += int64(len(zs))
		var cand []redis.Z
		for _, z := range zs {
			id := z.Member.(string)
			if cursor != "" && int64(z.Score) == curScore && id >= curID {
				continue // on or before the cursor
			}
			cand = append(cand, z)
		}
		keep := make([]bool, len(cand))
		for i := range keep {
			keep[i] = true
		}
		if len(others) > 0 && len(cand) > 0 {
			p := x.rdb.Pipeline()
			checks := make([][]*redis.FloatCmd, len(others))
			for j, o := range others {
				for _, z := range cand {
					checks[j] = append(checks[j], p.ZScore(ctx, o, z.Member.(string)))
				}
			}
			if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
				return nil, fmt.Errorf("orderindex: query: %w", err)
			}
			for j := range others {
				for i, c := range checks[j] {
					if c.Err() != nil {
						keep[i] = false
					}
				}
			}
		}
		for i, z := range cand {
			if !keep[i] {
				continue
			}
			out.IDs = append(out.IDs, z.Member.(string))
			last = z
			if len(out.IDs) == limit {
				out.Next = encodeCursor(last.Score, last.Member.(string))
				return out, nil
			}
		}
		if int64(len(zs)) < batch {
			return out, nil
		}
	}
}
