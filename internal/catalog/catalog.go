package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Kind is a kind of catalog document.
type Kind string

// The kinds the catalog holds.
const (
	KindVendor Kind = "vendor" // a vendor section (configs.VendorConfig), with its permission set and definitions
	KindGroup  Kind = "group"  // a group section (configs.GroupConfig)
)

// Sentinel errors; compare with errors.Is.
var (
	// ErrNotFound: no document of that kind and name.
	ErrNotFound = errors.New("catalog: not found")
	// ErrVersion: the document is not at the version the caller read (If-Match).
	ErrVersion = errors.New("catalog: version conflict")
	// ErrExists: a create found the document already there.
	ErrExists = errors.New("catalog: already exists")
)

// VersionError says which version the document is at.
type VersionError struct{ Current int64 }

func (e *VersionError) Error() string {
	return "the document is at version " + strconv.FormatInt(e.Current, 10)
}

// Unwrap returns ErrVersion.
func (e *VersionError) Unwrap() error { return ErrVersion }

// Entry is one stored document and its version.
type Entry struct {
	Kind    Kind            `json:"kind"`
	Name    string          `json:"name"`
	Version int64           `json:"version"`
	Doc     json.RawMessage `json:"doc"`
}

// Options configures a Store. A nil *Options is the zero value.
type Options struct {
	// Prefix starts every key; default "sog".
	Prefix string
	// Logger receives watch errors; default slog.Default().
	Logger *slog.Logger
}

// Store is the catalog in Redis. It is safe for concurrent use.
type Store struct {
	rdb redis.UniversalClient
	k   keys
	log *slog.Logger
}

// New returns the catalog over rdb.
func New(rdb redis.UniversalClient, opt *Options) *Store {
	var o Options
	if opt != nil {
		o = *opt
	}
	if o.Prefix == "" {
		o.Prefix = "sog"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Store{rdb: rdb, k: keys{prefix: o.Prefix}, log: o.Logger}
}

// List returns every document of kind, by name.
func (s *Store) List(ctx context.Context, kind Kind) ([]Entry, error) {
	docs, err := s.rdb.HGetAll(ctx, s.k.docs(kind)).Result()
	if err != nil {
		return nil, fmt.Errorf("catalog: list %ss: %w", kind, err)
	}
	vers, err := s.rdb.HGetAll(ctx, s.k.versions(kind)).Result()
	if err != nil {
		return nil, fmt.Errorf("catalog: list %ss: %w", kind, err)
	}
	out := make([]Entry, 0, len(docs))
	for name, d := range docs {
		v, _ := strconv.ParseInt(vers[name], 10, 64)
		out = append(out, Entry{Kind: kind, Name: name, Version: v, Doc: json.RawMessage(d)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Get returns one document; ErrNotFound when there is none.
func (s *Store) Get(ctx context.Context, kind Kind, name string) (*Entry, error) {
	var doc *redis.StringCmd
	var ver *redis.StringCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		doc = p.HGet(ctx, s.k.docs(kind), name)
		ver = p.HGet(ctx, s.k.versions(kind), name)
		return nil
	})
	if errors.Is(err, redis.Nil) || errors.Is(doc.Err(), redis.Nil) {
		return nil, fmt.Errorf("%s %q: %w", kind, name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: get %s %s: %w", kind, name, err)
	}
	v, _ := strconv.ParseInt(ver.Val(), 10, 64)
	return &Entry{Kind: kind, Name: name, Version: v, Doc: json.RawMessage(doc.Val())}, nil
}

// Any is the ifMatch of Put and Delete that accepts every version.
const Any int64 = -1

// Put creates (ifMatch 0: must not exist) or replaces (ifMatch: the version
// read, or Any) a document, and announces the new revision to every replica.
// It returns the stored entry.
func (s *Store) Put(ctx context.Context, kind Kind, name string, doc json.RawMessage, ifMatch int64) (*Entry, error) {
	if len(doc) == 0 {
		return nil, fmt.Errorf("catalog: put %s %s: empty document", kind, name)
	}
	ver, _, err := s.run(ctx, kind, name, ifMatch, string(doc))
	if err != nil {
		if ifMatch == 0 && errors.Is(err, ErrVersion) {
			return nil, fmt.Errorf("%s %q: %w", kind, name, ErrExists)
		}
		return nil, err
	}
	return &Entry{Kind: kind, Name: name, Version: ver, Doc: doc}, nil
}

// Delete removes a document if it is at ifMatch (or Any).
func (s *Store) Delete(ctx context.Context, kind Kind, name string, ifMatch int64) error {
	_, _, err := s.run(ctx, kind, name, ifMatch, "")
	return err
}

func (s *Store) run(ctx context.Context, kind Kind, name string, ifMatch int64, doc string) (int64, int64, error) {
	res, err := putScript.Run(ctx, s.rdb, []string{s.k.docs(kind), s.k.versions(kind), s.k.rev()}, name, ifMatch, doc).Int64Slice()
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "ERR ")
		switch {
		case strings.HasPrefix(msg, "NOTFOUND"):
			return 0, 0, fmt.Errorf("%s %q: %w", kind, name, ErrNotFound)
		case strings.HasPrefix(msg, "VERSION "):
			cur, _ := strconv.ParseInt(strings.TrimPrefix(msg, "VERSION "), 10, 64)
			if cur == 0 && ifMatch > 0 {
				return 0, 0, fmt.Errorf("%s %q: %w", kind, name, ErrNotFound)
			}
			return 0, 0, &VersionError{Current: cur}
		}
		return 0, 0, fmt.Errorf("catalog: change %s %s: %w", kind, name, err)
	}
	s.announce(ctx, res[2])
	return res[0], res[1], nil
}

// announce publishes the revision; a lost message is caught by Watch's poll.
func (s *Store) announce(ctx context.Context, rev int64) {
	if err := s.rdb.Publish(ctx, s.k.channel(), rev).Err(); err != nil {
		s.log.Warn("catalog: change not announced; replicas see it at their next poll", "err", err)
	}
}

// Seed writes vendors and groups (documents by name) when the catalog was
// never seeded, and reports whether it did. Later starts leave the live set
// alone, so a restart never undoes an admin's change.
func (s *Store) Seed(ctx context.Context, vendors, groups map[string]json.RawMessage) (bool, error) {
	args := []any{len(vendors)}
	for _, m := range []map[string]json.RawMessage{vendors, groups} {
		names := make([]string, 0, len(m))
		for n := range m {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			args = append(args, n, string(m[n]))
		}
	}
	n, err := seedScript.Run(ctx, s.rdb, []string{s.k.seeded(), s.k.rev(), s.k.docs(KindVendor), s.k.versions(KindVendor),
		s.k.docs(KindGroup), s.k.versions(KindGroup)}, args...).Int()
	if err != nil {
		return false, fmt.Errorf("catalog: seed: %w", err)
	}
	if n == 1 {
		rev, _ := s.Rev(ctx)
		s.announce(ctx, rev)
	}
	return n == 1, nil
}

// Rev returns the revision: it changes with every change of any document.
func (s *Store) Rev(ctx context.Context) (int64, error) {
	n, err := s.rdb.Get(ctx, s.k.rev()).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("catalog: revision: %w", err)
	}
	return n, nil
}

// Watch calls apply with the revision whenever it changes (and once at the
// start), until ctx ends: at once on the announcement, and at the latest
// every poll (default 1s) when an announcement was lost. apply runs on one
// goroutine, never concurrently.
func (s *Store) Watch(ctx context.Context, poll time.Duration, apply func(ctx context.Context, rev int64)) {
	if poll <= 0 {
		poll = time.Second
	}
	kick := make(chan struct{}, 1)
	sub := s.rdb.Subscribe(ctx, s.k.channel())
	defer sub.Close()
	// Wait for Redis to confirm the subscription before the first read of
	// the revision: a change announced in between would otherwise wait for
	// the next poll. If the confirmation fails, polling still converges.
	if _, err := sub.Receive(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("catalog: subscribing to changes failed; polling only", "err", err)
	}
	go func() {
		for range sub.Channel() {
			select {
			case kick <- struct{}{}:
			default:
			}
		}
	}()
	t := time.NewTicker(poll)
	defer t.Stop()
	last := int64(-1)
	for {
		rev, err := s.Rev(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("catalog: reading the revision failed; will retry", "err", err)
		} else if err == nil && rev != last {
			apply(ctx, rev)
			last = rev
		}
		select {
		case <-ctx.Done():
			return
		case <-kick:
		case <-t.C:
		}
	}
}
