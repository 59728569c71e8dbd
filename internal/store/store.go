package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/luascript"
	"github.com/equus/sogateway/internal/model"
)

// ErrExists is returned by CreateOrder when an order with that id already exists.
var ErrExists = errors.New("store: order exists")

// ErrDuplicate is returned (wrapped in *DuplicateError) by UpdateOrder when the
// idempotency fence shows the message was applied already.
var ErrDuplicate = errors.New("store: duplicate message")

// DuplicateError carries the fence value recorded by the first application.
type DuplicateError struct{ Value string }

func (e *DuplicateError) Error() string { return ErrDuplicate.Error() }

// Unwrap returns ErrDuplicate.
func (e *DuplicateError) Unwrap() error { return ErrDuplicate }

// Options tunes the store. A nil *Options means the zero value, which works.
type Options struct {
	// Prefix starts every key. Default "sog".
	Prefix string
	// StreamMaxLen caps the event stream (approximate trimming). Default 1,000,000.
	StreamMaxLen int64
	// IdempotencyTTL is how long a message's first answer is kept. Default 72h.
	IdempotencyTTL time.Duration
	// FenceTTL is how long an order keeps the record that a message was
	// applied to it (its idempotency fence): a repeat older than this applies
	// again. Negative keeps fences as long as the order. Default 720h (30 days).
	FenceTTL time.Duration
	// HeadCache is how many orders' last read or written head this process
	// keeps decoded (heads.go): a read that finds the same document in Redis
	// takes a copy instead of decoding it. Negative keeps none. Default 2048.
	HeadCache int
}

// Store is the Redis order store. It is safe for concurrent use.
type Store struct {
	rdb    redis.UniversalClient
	k      keys
	maxLen int64
	ttl    time.Duration
	// fenceTTL is Options.FenceTTL, 0 when fences are kept forever.
	fenceTTL time.Duration
	// ix keeps the search indexes (indexer.go); nil keeps none.
	ix Indexer
	// heads is the decoded-head cache (heads.go); nil keeps none.
	heads *headCache
}

// New returns a store over rdb.
func New(rdb redis.UniversalClient, opt *Options) *Store {
	var o Options
	if opt != nil {
		o = *opt
	}
	if o.Prefix == "" {
		o.Prefix = "sog"
	}
	if o.StreamMaxLen == 0 {
		o.StreamMaxLen = 1_000_000
	}
	if o.IdempotencyTTL == 0 {
		o.IdempotencyTTL = 72 * time.Hour
	}
	if o.HeadCache == 0 {
		o.HeadCache = 2048
	}
	switch {
	case o.FenceTTL == 0:
		o.FenceTTL = 720 * time.Hour
	case o.FenceTTL < 0:
		o.FenceTTL = 0
	}
	return &Store{rdb: rdb, k: keys{prefix: o.Prefix}, maxLen: o.StreamMaxLen, ttl: o.IdempotencyTTL, fenceTTL: o.FenceTTL,
		heads: newHeadCache(o.HeadCache)}
}

// Client returns the underlying Redis client.
func (s *Store) Client() redis.UniversalClient { return s.rdb }

// StreamKey is the name of the Redis Stream the platform consumes.
func (s *Store) StreamKey() string { return s.k.stream() }

// CreateOrder writes a new order (version 1) with its first event, and the
// fence entry fenceKey=fenceVal when fenceKey is not empty. The event is then
// published to the stream.
func (s *Store) CreateOrder(ctx context.Context, o *model.Order, ev *model.Event) error {
	return s.CreateOrderFenced(ctx, o, ev, "", "")
}

// encodeHead encodes o without its history (messages and attachments), which
// the store keeps in their own lists.
func encodeHead(o *model.Order) ([]byte, error) {
	msgs, atts := o.Messages, o.Attachments
	o.Messages, o.Attachments = nil, nil
	doc, err := json.Marshal(o)
	o.Messages, o.Attachments = msgs, atts
	return doc, err
}

// appendHistory appends to args the counts and the JSON of the events evs and
// of o's messages and attachments from the given offsets on.
func appendHistory(args []any, evDocs [][]byte, o *model.Order, fromMsg, fromAtt int) ([]any, error) {
	msgs, atts := o.Messages[min(fromMsg, len(o.Messages)):], o.Attachments[min(fromAtt, len(o.Attachments)):]
	args = append(args, len(evDocs), len(msgs), len(atts))
	for _, d := range evDocs {
		args = append(args, d)
	}
	for i := range msgs {
		b, err := json.Marshal(&msgs[i])
		if err != nil {
			return nil, fmt.Errorf("store: encode message: %w", err)
		}
		args = append(args, b)
	}
	for i := range atts {
		b, err := json.Marshal(&atts[i])
		if err != nil {
			return nil, fmt.Errorf("store: encode attachment: %w", err)
		}
		args = append(args, b)
	}
	return args, nil
}

// CreateOrderFenced is CreateOrder that also records the idempotency fence
// fenceKey=fenceVal on the new order in the same step.
func (s *Store) CreateOrderFenced(ctx context.Context, o *model.Order, ev *model.Event, fk, fv string) error {
	o.Version = 1
	ev.OrderID, ev.OrderVersion = o.ID, 1
	doc, err := encodeHead(o)
	if err != nil {
		return fmt.Errorf("store: encode order: %w", err)
	}
	evDoc, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("store: encode event: %w", err)
	}
	args, err := appendHistory([]any{doc, fk, fv, s.fenceTTL.Milliseconds()}, [][]byte{evDoc}, o, 0, 0)
	if err != nil {
		return err
	}
	// The outbox entry goes first (same pipeline, same order): a crash after
	// the script leaves the order there for PublishPending.
	pipe := s.rdb.Pipeline()
	pipe.SAdd(ctx, s.k.outbox(), o.ID)
	s.markIndex(ctx, pipe, o.ID, 1)
	created := createScript.Queue(ctx, pipe, s.k.orderKeys(o.ID), args...)
	_, _ = luascript.Exec(ctx, pipe)
	n, err := created.Int()
	if err != nil {
		return fmt.Errorf("store: create order %s: %w", o.ID, err)
	}
	if n == 0 {
		return ErrExists
	}
	s.heads.put(o.ID, string(doc), headOf(o))
	o.Stored = model.HistoryCount{Messages: len(o.Messages), Attachments: len(o.Attachments)}
	s.publishFresh(ctx, o.ID, 0, 1, []string{string(evDoc)}, []string{ev.ID}, []string{string(ev.Type)},
		func(p redis.Pipeliner) {
			p.ZAdd(ctx, s.k.orderIndex(), redis.Z{Score: float64(o.CreatedAt.UnixMilli()), Member: o.ID})
			s.indexIn(ctx, p, o)
		})
	return nil
}

// GetOrder reads an order with its whole history (messages and attachments);
// model.ErrNotFound when it does not exist. It costs one round trip.
func (s *Store) GetOrder(ctx context.Context, id string) (*model.Order, error) {
	for attempt := 0; attempt < 10; attempt++ {
		pipe := s.rdb.Pipeline()
		docCmd := pipe.HMGet(ctx, s.k.order(id), "v", "doc")
		msgCmd := pipe.LRange(ctx, s.k.messages(id), 0, -1)
		attCmd := pipe.LRange(ctx, s.k.attachments(id), 0, -1)
		_, _ = pipe.Exec(ctx)
		o, legacy, err := s.decodeHead(ctx, id, docCmd)
		if errors.Is(err, errRetry) || (err == nil && legacy) {
			continue
		}
		if err != nil {
			return nil, err
		}
		msgs, err := msgCmd.Result()
		if err != nil {
			return nil, fmt.Errorf("store: get order %s: %w", id, err)
		}
		atts, err := attCmd.Result()
		if err != nil {
			return nil, fmt.Errorf("store: get order %s: %w", id, err)
		}
		if len(msgs) > 0 {
			o.Messages = make([]model.Message, len(msgs))
			for i, m := range msgs {
				if err := json.Unmarshal([]byte(m), &o.Messages[i]); err != nil {
					return nil, fmt.Errorf("store: decode message of %s: %w", id, err)
				}
			}
		}
		if len(atts) > 0 {
			o.Attachments = make([]model.Attachment, len(atts))
			for i, a := range atts {
				if err := json.Unmarshal([]byte(a), &o.Attachments[i]); err != nil {
					return nil, fmt.Errorf("store: decode attachment of %s: %w", id, err)
				}
			}
		}
		o.Stored = model.HistoryCount{Messages: len(o.Messages), Attachments: len(o.Attachments)}
		return o, nil
	}
	return nil, fmt.Errorf("store: get order %s: kept changing during migration: %w", id, model.ErrVersionConflict)
}

// GetOrderHead reads an order's current state without its history: Messages
// and Attachments are empty, and a commit of the order appends whatever is
// added to them. This is what a commit needs; it costs the same however long
// the order's history is.
func (s *Store) GetOrderHead(ctx context.Context, id string) (*model.Order, error) {
	for attempt := 0; attempt < 10; attempt++ {
		o, legacy, err := s.decodeHead(ctx, id, s.rdb.HMGet(ctx, s.k.order(id), "v", "doc"))
		if errors.Is(err, errRetry) || (err == nil && legacy) {
			continue
		}
		return o, err
	}
	return nil, fmt.Errorf("store: get order %s: kept changing during migration: %w", id, model.ErrVersionConflict)
}

// errRetry says the order changed while it was migrated; read it again.
var errRetry = errors.New("store: read again")

// decodeHead decodes the doc read by cmd (HMGET v doc). An order written
// before history lived beside it is migrated first (see MigrateOrder); then
// legacy is true and the caller reads again.
func (s *Store) decodeHead(ctx context.Context, id string, cmd *redis.SliceCmd) (o *model.Order, legacy bool, err error) {
	vals, err := cmd.Result()
	if err != nil {
		return nil, false, fmt.Errorf("store: get order %s: %w", id, err)
	}
	v, _ := vals[0].(string)
	doc, ok := vals[1].(string)
	if !ok {
		return nil, false, model.NotFound("order", id)
	}
	if o := s.heads.get(id, doc); o != nil {
		return o, false, nil
	}
	o = new(model.Order)
	if err := json.Unmarshal([]byte(doc), o); err != nil {
		return nil, false, fmt.Errorf("store: decode order %s: %w", id, err)
	}
	if len(o.Messages) == 0 && len(o.Attachments) == 0 {
		s.heads.put(id, doc, o.Clone())
		return o, false, nil
	}
	if err := s.migrate(ctx, o, v, doc); err != nil {
		return nil, true, err
	}
	return nil, true, nil
}

// Fence is the idempotency record written with a change: Key is the message's
// idempotency key, Value what a repeat should get back.
type Fence struct {
	Key, Value string
	// UntilChanged makes a repeat a duplicate only while the order is still at
	// the version this key produced. Use it for keys that are digests of the
	// content (a partner without message ids sending the same content again
	// after another change means it again); leave it false for partner
	// message ids, which are duplicates forever.
	UntilChanged bool
	// Answer also stores Value as the message's answer under Key once the
	// update is committed, in the round trip that publishes it: replacing
	// any earlier one when UntilChanged (SetAnswer), else only when none is
	// stored (RememberAnswer). A failure to store it leaves the fence, which
	// still holds.
	Answer bool
}

// UpdateOrder writes o if its Version is still the stored one, appends evs and
// the messages and attachments added since o was read (after o.Stored), and
// bumps o.Version. A stale version fails with model.ErrVersionConflict and
// writes nothing.
func (s *Store) UpdateOrder(ctx context.Context, o *model.Order, evs ...*model.Event) error {
	return s.UpdateOrderFenced(ctx, o, evs, Fence{})
}

// UpdateOrderFenced is UpdateOrder that also records the idempotency fence f
// in the same step; when the fence shows the message applied already it fails
// with a *DuplicateError carrying the first value and writes nothing.
func (s *Store) UpdateOrderFenced(ctx context.Context, o *model.Order, evs []*model.Event, f Fence) error {
	fk, fv := f.Key, f.Value
	mode := "strict"
	if f.UntilChanged {
		mode = "until-changed"
	}
	expected := o.Version
	o.Version = expected + 1
	doc, err := encodeHead(o)
	if err != nil {
		o.Version = expected
		return fmt.Errorf("store: encode order: %w", err)
	}
	evDocs := make([][]byte, len(evs))
	for i, ev := range evs {
		ev.OrderID, ev.OrderVersion = o.ID, o.Version
		if evDocs[i], err = json.Marshal(ev); err != nil {
			o.Version = expected
			return fmt.Errorf("store: encode event: %w", err)
		}
	}
	args, err := appendHistory([]any{expected, doc, fk, fv, mode, s.fenceTTL.Milliseconds()}, evDocs, o, o.Stored.Messages, o.Stored.Attachments)
	if err != nil {
		o.Version = expected
		return err
	}
	pipe := s.rdb.Pipeline()
	if len(evs) > 0 {
		pipe.SAdd(ctx, s.k.outbox(), o.ID)
	}
	s.markIndex(ctx, pipe, o.ID, o.Version)
	run := updateScript.Queue(ctx, pipe, s.k.orderKeys(o.ID), args...)
	_, _ = luascript.Exec(ctx, pipe)
	arr, err := run.Slice()
	if err != nil {
		o.Version = expected
		return fmt.Errorf("store: update order %s: %w", o.ID, err)
	}
	code, _ := arr[0].(string)
	switch code {
	case updateOK:
	case updateDup:
		o.Version = expected
		v, _ := arr[1].(string)
		return &DuplicateError{Value: v}
	case updateNotFound:
		o.Version = expected
		return fmt.Errorf("store: %w", model.NotFound("order", o.ID))
	case updateVersion:
		o.Version = expected
		cur, _ := arr[1].(string)
		n, _ := strconv.ParseInt(cur, 10, 64)
		return fmt.Errorf("store: %w", &model.VersionConflictError{ID: o.ID, Current: n, Read: expected})
	default:
		o.Version = expected
		return fmt.Errorf("store: update order %s: unknown reply %q", o.ID, code)
	}
	s.heads.put(o.ID, string(doc), headOf(o))
	o.Stored = model.HistoryCount{Messages: len(o.Messages), Attachments: len(o.Attachments)}
	// What follows the commit (index, the message's answer) rides in the
	// round trip that publishes its events.
	after := func(p redis.Pipeliner) {
		s.indexIn(ctx, p, o)
		if f.Answer && fk != "" {
			s.answerIn(ctx, p, fk, fv, f.UntilChanged)
		}
	}
	if len(evs) > 0 && len(arr) == 4 {
		pub, _ := arr[2].(int64)
		n, _ := arr[3].(int64)
		docs, ids, types := make([]string, len(evs)), make([]string, len(evs)), make([]string, len(evs))
		for i, ev := range evs {
			docs[i], ids[i], types[i] = string(evDocs[i]), ev.ID, string(ev.Type)
		}
		s.publishFresh(ctx, o.ID, pub, n, docs, ids, types, after)
	} else {
		p := s.rdb.Pipeline()
		after(p)
		_, _ = luascript.Exec(ctx, p)
	}
	return nil
}

// AppendEvent appends one event to an order (bumping its version), retrying
// on concurrent writers. It is for events that change no order field, such as
// an outbound order.submitted.
func (s *Store) AppendEvent(ctx context.Context, ev *model.Event) error {
	for attempt := 0; attempt < 10; attempt++ {
		o, err := s.GetOrderHead(ctx, ev.OrderID)
		if err != nil {
			return err
		}
		err = s.UpdateOrder(ctx, o, ev)
		if !errors.Is(err, model.ErrVersionConflict) {
			return err
		}
	}
	return fmt.Errorf("store: append event to %s: %w", ev.OrderID, model.ErrVersionConflict)
}

// ListOrders returns up to limit order ids, newest first, after offset.
func (s *Store) ListOrders(ctx context.Context, offset, limit int64) ([]string, error) {
	return s.rdb.ZRevRange(ctx, s.k.orderIndex(), offset, offset+limit-1).Result()
}

// FindByRef returns the order id bound to a partner's reference of kind
// "requestor" or "servicer"; model.ErrNotFound when none is.
func (s *Store) FindByRef(ctx context.Context, partner, kind, ref string) (string, error) {
	id, err := s.rdb.Get(ctx, s.k.ref(partner, kind, ref)).Result()
	if errors.Is(err, redis.Nil) {
		return "", model.NotFound(kind+" reference of "+partner, ref)
	}
	if err != nil {
		return "", fmt.Errorf("store: find ref: %w", err)
	}
	return id, nil
}

// ClaimRef binds a partner's reference to id unless it is bound already, and
// returns the id it is bound to (id itself when the claim won).
func (s *Store) ClaimRef(ctx context.Context, partner, kind, ref, id string) (string, error) {
	key := s.k.ref(partner, kind, ref)
	ok, err := s.rdb.SetNX(ctx, key, id, 0).Result()
	if err != nil {
		return "", fmt.Errorf("store: claim ref: %w", err)
	}
	if ok {
		return id, nil
	}
	return s.rdb.Get(ctx, key).Result()
}

// BindRef binds a partner's reference to id, replacing any earlier binding
// (used when a deleted order is re-created under a new id).
func (s *Store) BindRef(ctx context.Context, partner, kind, ref, id string) error {
	return s.rdb.Set(ctx, s.k.ref(partner, kind, ref), id, 0).Err()
}

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error { return s.rdb.Ping(ctx).Err() }
