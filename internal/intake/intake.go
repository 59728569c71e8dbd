package intake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/store"
)

var _ model.Sink = (*Service)(nil)

// Options tunes a Service. A nil *Options means the zero value, which works.
type Options struct {
	// RawCap is the most bytes of a partner message kept on its event for audit. Default 64 KiB.
	RawCap int
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// NewID makes order and event ids. Default UUIDv7 strings.
	NewID func() string
	// Logger receives warnings. Default slog.Default().
	Logger *slog.Logger
	// OnCommitted, when set, is called after every committed change (platform
	// create, PATCH, message, resolution rejection, and every inbound partner
	// commit that is not a duplicate) with the order before (nil on create),
	// after, and the event recorded: the one path to dispatch's Route.
	OnCommitted func(ctx context.Context, before, after *model.Order, ev *model.Event)
	// SentTo, when set, names the partners an order was sent to (each vendor
	// with a delivery record for it, and the mapping that serves the vendor):
	// those may address the order as well as its own partner. Nil means only
	// the order's partner may.
	SentTo func(ctx context.Context, orderID string) ([]string, error)
}

// Service commits partner messages and platform changes onto orders.
type Service struct {
	st  *store.Store
	opt Options
	// turns lets one commit at a time through for each order a partner
	// addresses (serial.go).
	turns turns
}

// New returns a Service over st.
func New(st *store.Store, opt *Options) *Service {
	var o Options
	if opt != nil {
		o = *opt
	}
	if o.RawCap == 0 {
		o.RawCap = 64 << 10
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewID == nil {
		o.NewID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Service{st: st, opt: o}
}

// SetOnCommitted sets Options.OnCommitted; call it before serving.
func (s *Service) SetOnCommitted(f func(ctx context.Context, before, after *model.Order, ev *model.Event)) {
	s.opt.OnCommitted = f
}

// SetSentTo sets Options.SentTo; call it before serving.
func (s *Service) SetSentTo(f func(ctx context.Context, orderID string) ([]string, error)) {
	s.opt.SentTo = f
}

// owns reports whether partner may address o: o is its order, or o was sent
// to it (Options.SentTo).
func (s *Service) owns(ctx context.Context, partner string, o *model.Order) (bool, error) {
	if o.Partner == partner {
		return true, nil
	}
	if s.opt.SentTo == nil {
		return false, nil
	}
	names, err := s.opt.SentTo(ctx, o.ID)
	if err != nil {
		return false, fmt.Errorf("intake: partners order %s was sent to: %w", o.ID, err)
	}
	for _, n := range names {
		if n == partner {
			return true, nil
		}
	}
	return false, nil
}

// committed calls OnCommitted when set.
func (s *Service) committed(ctx context.Context, before, after *model.Order, ev *model.Event) {
	if s.opt.OnCommitted != nil {
		s.opt.OnCommitted(ctx, before, after, ev)
	}
}

// Store returns the underlying store.
func (s *Service) Store() *store.Store { return s.st }

// fenceRecord is what the idempotency records hold: enough to rebuild the outcome.
type fenceRecord struct {
	OrderID string        `json:"order_id"`
	EventID string        `json:"event_id"`
	Created bool          `json:"created"`
	Applied model.Applied `json:"applied"`
	// Version is the order version the message produced.
	Version int64 `json:"version"`
	// Digest is the message's model.Inbound.Digest ("" in records written
	// before it was kept).
	Digest string `json:"digest,omitempty"`
}

const maxAttempts = 8

// Commit applies in onto its order atomically (order, event and idempotency
// fence in one script) and returns the outcome; a repeated idempotency key
// returns the first outcome with Duplicate set and changes nothing.
func (s *Service) Commit(ctx context.Context, in *model.Inbound) (*model.Outcome, error) {
	if in.Partner == "" {
		return nil, fmt.Errorf("intake: inbound without partner: %w", model.ErrInvalid)
	}
	if !in.Event.Valid() {
		return nil, &model.ValidationError{Field: "event", Rule: fmt.Sprintf("must be a canonical event type, got %q", in.Event)}
	}
	key := in.IdempotencyKey
	if key == "" {
		sum := sha256.Sum256(in.Raw)
		key = "sha256:" + hex.EncodeToString(sum[:])
	}
	key = in.Partner + ":" + key
	// A partner message id is a duplicate forever; a key that is only a digest
	// of the content is a duplicate while nothing changed the order since, so
	// the same content sent again after another change applies again.
	untilChanged := in.MessageID == ""
	// The answer and the order's reference are read in one round trip.
	hint := firstRef(in.Target)
	release, err := s.turns.take(ctx, in.Partner+"\x00"+turnKey(in.Target))
	if err != nil {
		return nil, fmt.Errorf("intake: %w", err)
	}
	defer release()
	var b []byte
	if hint != nil {
		b, hint.id, err = s.st.AnswerAndRef(ctx, key, in.Partner, hint.kind, hint.ref)
	} else {
		b, err = s.st.Answer(ctx, key)
	}
	if err != nil {
		return nil, fmt.Errorf("intake: %w", err)
	} else if b != nil {
		out, err := s.duplicate(ctx, b)
		if err == nil && !untilChanged {
			err = reused(in, out)
		}
		if err != nil {
			return nil, err
		}
		if !untilChanged || out.Order.Version == out.producedVersion {
			return out.Outcome, nil
		}
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		out, err := s.try(ctx, in, store.Fence{Key: key, UntilChanged: untilChanged, Answer: true}, hint)
		hint = nil // another attempt means something changed: read the ref again
		if errors.Is(err, model.ErrVersionConflict) || errors.Is(err, store.ErrExists) {
			// Another replica committed first (this one's commits wait their turn).
			if err := backoff(ctx, attempt); err != nil {
				return nil, fmt.Errorf("intake: %w", err)
			}
			continue
		}
		var dup *store.DuplicateError
		if errors.As(err, &dup) {
			d, err := s.duplicate(ctx, []byte(dup.Value))
			if err == nil && !untilChanged {
				err = reused(in, d)
			}
			if err != nil {
				return nil, err
			}
			return d.Outcome, nil
		}
		if err != nil {
			return nil, err
		}
		if out.Unchanged {
			return out, nil // nothing was written, so there is no answer to keep
		}
		if !out.Created {
			return out, nil // an update stored its answer with its commit (Fence.Answer)
		}
		rec, _ := json.Marshal(fenceRecord{OrderID: out.Order.ID, EventID: out.Event.ID, Created: out.Created, Applied: out.Applied, Version: out.Order.Version, Digest: in.Digest})
		if untilChanged {
			err = s.st.SetAnswer(ctx, key, rec)
		} else {
			_, _, err = s.st.RememberAnswer(ctx, key, rec)
		}
		if err != nil {
			s.opt.Logger.Warn("idempotency answer not stored; the order fence still holds", "err", err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("intake: order kept changing under %d attempts: %w", maxAttempts, model.ErrVersionConflict)
}

// dupOutcome is a rebuilt first outcome, the version it produced and the
// digest of the message that produced it.
type dupOutcome struct {
	*model.Outcome
	producedVersion int64
	digest          string
}

// reused refuses in when its partner message id was first used for a
// message with other content (model.Inbound.Digest): a retry repeats what it
// says, so this is another message under a used id, and answering it with
// the first message's outcome would drop it silently.
func reused(in *model.Inbound, first dupOutcome) error {
	if in.Digest == "" || first.digest == "" || in.Digest == first.digest {
		return nil
	}
	return model.Conflict("message_id", "%q was used already for another message; send a new message id", in.MessageID)
}

func (s *Service) duplicate(ctx context.Context, rec []byte) (dupOutcome, error) {
	var fr fenceRecord
	if err := json.Unmarshal(rec, &fr); err != nil {
		return dupOutcome{}, fmt.Errorf("intake: decode idempotency record: %w", err)
	}
	o, err := s.st.GetOrder(ctx, fr.OrderID)
	if err != nil {
		return dupOutcome{}, err
	}
	evs, err := s.st.Events(ctx, fr.OrderID)
	if err != nil {
		return dupOutcome{}, err
	}
	out := &model.Outcome{Order: o, Created: fr.Created, Duplicate: true, Applied: fr.Applied}
	for _, ev := range evs {
		if ev.ID == fr.EventID {
			out.Event = ev
		}
	}
	return dupOutcome{Outcome: out, producedVersion: fr.Version, digest: fr.Digest}, nil
}

// resolve finds the order id a message targets; found=false when none exists.
// When it had to read the order to know, it returns it too (loaded), so the
// caller does not read it again. An order addressed by its id that is
// another partner's (and was not sent to this one) is not found; foreign
// names it then, so the refusal can be logged and counted.
func (s *Service) resolve(ctx context.Context, in *model.Inbound, hint *refHint) (id, refKind, ref string, found bool, loaded, foreign *model.Order, err error) {
	t := in.Target
	if t.OrderID != "" {
		own, other, err := s.byID(ctx, in.Partner, t.OrderID)
		if err != nil || own != nil {
			return t.OrderID, "", "", own != nil, own, nil, err
		}
		foreign = other
		// An SSP7 task reference may be either the order id or the requestor ref.
		if t.Requestor == "" && t.Servicer == "" {
			t.Requestor = t.OrderID
		}
	}
	for _, c := range []struct{ kind, ref string }{{"servicer", t.Servicer}, {"requestor", t.Requestor}} {
		if c.ref == "" {
			continue
		}
		var id string
		var err error
		if hint != nil && hint.kind == c.kind && hint.ref == c.ref {
			if id = hint.id; id == "" {
				err = model.ErrNotFound
			}
		} else {
			id, err = s.st.FindByRef(ctx, in.Partner, c.kind, c.ref)
		}
		if err == nil {
			return id, c.kind, c.ref, true, nil, nil, nil
		}
		if !errors.Is(err, model.ErrNotFound) {
			return "", "", "", false, nil, nil, err
		}
		if refKind == "" {
			refKind, ref = c.kind, c.ref
		}
	}
	// A task reference may also be the gateway's own order id (SSP7 mail and SOAP).
	if t.OrderID == "" && t.Requestor != "" {
		own, other, err := s.byID(ctx, in.Partner, t.Requestor)
		if err != nil || own != nil {
			return t.Requestor, "", "", own != nil, own, nil, err
		}
		foreign = other
	}
	if t.Requestor != "" {
		refKind, ref = "requestor", t.Requestor
	}
	return "", refKind, ref, false, nil, foreign, nil
}

// refHint is the binding of the reference resolve looks up first, read
// together with the message's answer: id is "" when the ref is not bound.
type refHint struct{ kind, ref, id string }

// firstRef returns the reference resolve looks up first (the servicer's,
// else the requestor's, when the target names no order id), or nil.
// turnKey names the order a message addresses, for turns: its id, or the
// first reference it is found by.
func turnKey(t model.Target) string {
	if h := firstRef(t); h != nil {
		return h.kind + "\x00" + h.ref
	}
	return "id\x00" + t.OrderID
}

func firstRef(t model.Target) *refHint {
	switch {
	case t.OrderID != "":
		return nil
	case t.Servicer != "":
		return &refHint{kind: "servicer", ref: t.Servicer}
	case t.Requestor != "":
		return &refHint{kind: "requestor", ref: t.Requestor}
	}
	return nil
}

// byID reads order id for partner: own is the order when partner may
// address it (owns), other when it exists but may not; both nil when there
// is no such order.
func (s *Service) byID(ctx context.Context, partner, id string) (own, other *model.Order, err error) {
	o, err := s.st.GetOrderHead(ctx, id)
	if errors.Is(err, model.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	ok, err := s.owns(ctx, partner, o)
	if err != nil || !ok {
		return nil, o, err
	}
	return o, nil, nil
}

func (s *Service) try(ctx context.Context, in *model.Inbound, fence store.Fence, hint *refHint) (*model.Outcome, error) {
	id, refKind, ref, found, cur, foreign, err := s.resolve(ctx, in, hint)
	if err != nil {
		return nil, err
	}
	if found && cur == nil {
		cur, err = s.st.GetOrderHead(ctx, id)
		if errors.Is(err, model.ErrNotFound) {
			// The reference was claimed by a create that did not finish: create under that id.
			cur = nil
		} else if err != nil {
			return nil, err
		}
	}
	if cur != nil && !(cur.Status == model.StatusDeleted && in.Target.Recreate) {
		if in.Require.Repeats(cur, &in.Patch) {
			s.opt.Logger.InfoContext(ctx, "repeated terminal notice acknowledged without change", "partner", in.Partner,
				"order", cur.ID, "status", string(cur.Status), "message_id", in.MessageID)
			return &model.Outcome{Order: cur, Unchanged: true}, nil
		}
		if err := in.Require.Check(cur, in.Kind); err != nil {
			return nil, err
		}
		return s.update(ctx, in, cur, fence)
	}
	if !in.Target.Create || in.Require.Exists {
		what := in.Target.OrderID
		if what == "" {
			what = firstNonEmpty(in.Target.Servicer, in.Target.Requestor)
		}
		var nf error = fmt.Errorf("order %q of partner %s: %w", what, in.Partner, model.ErrNotFound)
		if in.Require.Missing != "" {
			// The mapping says what the partner should have sent instead (Pruvan: what a create needs).
			nf = &model.RuleError{Rule: fmt.Sprintf("no order %q: %s", what, in.Require.Missing), Kind: model.ErrNotFound}
		}
		if foreign != nil {
			// Answered exactly as a missing order: the partner learns nothing.
			return nil, &model.NotOwnedError{Err: nf, OrderID: foreign.ID, Owner: foreign.Partner}
		}
		return nil, nf
	}
	if cur != nil || !found {
		id = s.opt.NewID()
	}
	if ref != "" {
		if cur != nil { // re-create a deleted order under a new internal key
			if err := s.st.BindRef(ctx, in.Partner, refKind, ref, id); err != nil {
				return nil, err
			}
		} else if won, err := s.st.ClaimRef(ctx, in.Partner, refKind, ref, id); err != nil {
			return nil, err
		} else if won != id {
			return nil, store.ErrExists // somebody else is creating it: go round again
		}
	}
	return s.create(ctx, in, id, fence)
}

func (s *Service) event(in *model.Inbound, now time.Time) *model.Event {
	ev := &model.Event{
		ID: s.opt.NewID(), Type: in.Event, Direction: model.DirectionIn, Partner: in.Partner,
		Protocol: in.Protocol, MessageID: in.MessageID, At: now, Data: in.Data,
		Warnings: append([]string(nil), in.Warnings...), MappingVersion: in.MappingVersion,
	}
	if ev.Protocol == "" {
		ev.Protocol = model.ProtocolREST
	}
	raw := in.Raw
	if len(raw) > s.opt.RawCap {
		raw = raw[:s.opt.RawCap]
		ev.Warnings = append(ev.Warnings, fmt.Sprintf("raw message kept for audit truncated to %d bytes", s.opt.RawCap))
	}
	ev.Raw = string(raw)
	return ev
}

func (s *Service) applyOpts(in *model.Inbound, now time.Time) model.ApplyOptions {
	opt := in.Options
	if opt.Writer == "" {
		opt.Writer = in.Partner
	}
	opt.Now = now
	return opt
}

func (s *Service) create(ctx context.Context, in *model.Inbound, id string, fence store.Fence) (*model.Outcome, error) {
	now := s.opt.Now().UTC()
	o := &model.Order{ID: id, Partner: in.Partner, Status: model.StatusNew, CreatedAt: now, UpdatedAt: now}
	applied, err := o.Apply(&in.Patch, s.applyOpts(in, now))
	if err != nil {
		return nil, err
	}
	if in.Target.Requestor != "" && o.Refs.Requestor == "" {
		o.Refs.Requestor = in.Target.Requestor
	}
	if in.Target.Servicer != "" && o.Refs.Servicer == "" {
		o.Refs.Servicer = in.Target.Servicer
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	ev := s.event(in, now)
	if ev.Type == model.EventOrderUpdated {
		ev.Type = model.EventOrderCreated
	}
	rec, _ := json.Marshal(fenceRecord{OrderID: id, EventID: ev.ID, Created: true, Applied: applied, Version: 1, Digest: in.Digest})
	if err := s.st.CreateOrderFenced(ctx, o, ev, fence.Key, string(rec)); err != nil {
		return nil, err
	}
	s.bindRefs(ctx, nil, o)
	s.committed(ctx, nil, o, ev)
	return &model.Outcome{Order: o, Event: ev, Created: true, Applied: applied}, nil
}

func (s *Service) update(ctx context.Context, in *model.Inbound, cur *model.Order, fence store.Fence) (*model.Outcome, error) {
	now := s.opt.Now().UTC()
	// cur was read for this attempt alone: it is the "before", and one copy
	// is the "after".
	before := cur
	next := cur.Clone()
	applied, err := next.Apply(&in.Patch, s.applyOpts(in, now))
	if err != nil {
		return nil, err
	}
	if err := next.Validate(); err != nil {
		return nil, err
	}
	ev := s.event(in, now)
	if ev.Type == model.EventOrderCreated {
		// A create for an order that exists already is an update of it.
		ev.Type = model.EventOrderUpdated
	}
	if len(applied.Kept) > 0 {
		ev.Warnings = append(ev.Warnings, "kept platform values of shared fields (Auto-Admin off): "+strings.Join(applied.Kept, ", "))
	}
	rec, _ := json.Marshal(fenceRecord{OrderID: next.ID, EventID: ev.ID, Applied: applied, Version: cur.Version + 1, Digest: in.Digest})
	fence.Value = string(rec)
	if err := s.st.UpdateOrderFenced(ctx, next, []*model.Event{ev}, fence); err != nil {
		return nil, err
	}
	s.bindRefs(ctx, before, next)
	s.committed(ctx, before, next, ev)
	return &model.Outcome{Order: next, Event: ev, Applied: applied}, nil
}

// bindRefs indexes an order's references so later messages find it. A ref
// already bound to another order keeps its binding (first writer wins). A
// ref the order had before this change (before, nil on create) was claimed
// when it was set, so only new refs cost a round trip.
func (s *Service) bindRefs(ctx context.Context, before, o *model.Order) {
	var was model.Refs
	if before != nil {
		was = before.Refs
	}
	if o.Refs.Requestor != "" && o.Refs.Requestor != was.Requestor {
		if _, err := s.st.ClaimRef(ctx, o.Partner, "requestor", o.Refs.Requestor, o.ID); err != nil {
			s.opt.Logger.Warn("requestor reference not indexed", "order", o.ID, "err", err)
		}
	}
	if o.Refs.Servicer != "" && o.Refs.Servicer != was.Servicer {
		if _, err := s.st.ClaimRef(ctx, o.Partner, "servicer", o.Refs.Servicer, o.ID); err != nil {
			s.opt.Logger.Warn("servicer reference not indexed", "order", o.ID, "err", err)
		}
	}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
