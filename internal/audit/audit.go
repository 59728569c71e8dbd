package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"

	"time"

	"github.com/redis/go-redis/v9"
)

// Record is one change: Who did Action to the resource Kind/ID at At, and the
// resource Before and After (absent on create and delete respectively).
type Record struct {
	// ID is the record's stream id; pass it as "before" to page back.
	ID     string          `json:"id"`
	At     time.Time       `json:"at"`
	Who    string          `json:"who"`
	Action string          `json:"action"`
	Kind   string          `json:"kind"`
	Key    string          `json:"key"`
	Before json.RawMessage `json:"before,omitempty"`
	After  json.RawMessage `json:"after,omitempty"`
}

// Options configures a Log. A nil *Options is the zero value.
type Options struct {
	// Prefix starts the key; default "sog".
	Prefix string
	// MaxLen caps the trail (approximate trimming); default 1,000,000 records.
	MaxLen int64
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Log appends and reads audit records. It is safe for concurrent use.
type Log struct {
	rdb    redis.UniversalClient
	k      keys
	maxLen int64
	now    func() time.Time
}

// New returns the audit log over rdb.
func New(rdb redis.UniversalClient, opt *Options) *Log {
	var o Options
	if opt != nil {
		o = *opt
	}
	if o.Prefix == "" {
		o.Prefix = "sog"
	}
	if o.MaxLen == 0 {
		o.MaxLen = 1_000_000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Log{rdb: rdb, k: keys{prefix: o.Prefix}, maxLen: o.MaxLen, now: o.Now}
}

// Append records a change; before and after are encoded as JSON (nil omits them).
func (l *Log) Append(ctx context.Context, who, action, kind, key string, before, after any) error {
	vals := []any{"at", l.now().UTC().Format(time.RFC3339Nano), "who", who, "action", action, "kind", kind, "id", key}
	for _, x := range []struct {
		name string
		v    any
	}{{"before", before}, {"after", after}} {
		if x.v == nil {
			continue
		}
		if b, ok := x.v.(json.RawMessage); ok && b == nil {
			continue
		}
		b, err := json.Marshal(x.v)
		if err != nil {
			return fmt.Errorf("audit: encode %s: %w", x.name, err)
		}
		vals = append(vals, x.name, string(b))
	}
	if err := l.rdb.XAdd(ctx, &redis.XAddArgs{Stream: l.k.stream(), MaxLen: l.maxLen, Approx: true, Values: vals}).Err(); err != nil {
		return fmt.Errorf("audit: append: %w", err)
	}
	return nil
}

// Query selects records; the zero value is the newest 50 of every kind.
type Query struct {
	// Kind keeps records of one resource kind (vendor, definition, group, …).
	Kind string
	// Key keeps records of one resource id (with Kind).
	Key string
	// Before is a cursor: only records older than this id.
	Before string
	// Limit is the page size, 1..500; default 50.
	Limit int
}

var cursorRe = regexp.MustCompile(`^[0-9]{1,20}-[0-9]{1,20}$`)

// ValidCursor reports whether s is a record id usable as Before.
func ValidCursor(s string) bool { return cursorRe.MatchString(s) }

// List returns records newest first, and the cursor of the next page ("" at the end).
func (l *Log) List(ctx context.Context, q Query) ([]Record, string, error) {
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = 50
	}
	end := "+"
	if q.Before != "" {
		if !ValidCursor(q.Before) {
			return nil, "", fmt.Errorf("audit: cursor %q is not a record id", q.Before)
		}
		end = "(" + q.Before
	}
	var out []Record
	for len(out) < q.Limit {
		batch, err := l.rdb.XRevRangeN(ctx, l.k.stream(), end, "-", int64(q.Limit*4)).Result()
		if err != nil {
			return nil, "", fmt.Errorf("audit: list: %w", err)
		}
		for _, m := range batch {
			r := decode(m)
			if (q.Kind == "" || r.Kind == q.Kind) && (q.Key == "" || r.Key == q.Key) {
				out = append(out, r)
				if len(out) == q.Limit {
					return out, r.ID, nil // the next page may be empty
				}
			}
		}
		if len(batch) < q.Limit*4 {
			return out, "", nil
		}
		end = "(" + batch[len(batch)-1].ID
	}
	return out, "", nil
}

func decode(m redis.XMessage) Record {
	s := func(k string) string { v, _ := m.Values[k].(string); return v }
	r := Record{ID: m.ID, Who: s("who"), Action: s("action"), Kind: s("kind"), Key: s("id")}
	r.At, _ = time.Parse(time.RFC3339Nano, s("at"))
	if b := s("before"); b != "" {
		r.Before = json.RawMessage(b)
	}
	if a := s("after"); a != "" {
		r.After = json.RawMessage(a)
	}
	return r
}

// Len returns how many records the trail holds.
func (l *Log) Len(ctx context.Context) (int64, error) {
	n, err := l.rdb.XLen(ctx, l.k.stream()).Result()
	if err != nil {
		return 0, fmt.Errorf("audit: len: %w", err)
	}
	return n, nil
}
