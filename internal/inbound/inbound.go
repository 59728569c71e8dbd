package inbound

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/mappings"
)

// Translator turns one decoded partner message into items.
// *mappings.Mapping implements it.
type Translator interface {
	// Translate returns one item per message of in (one, or one per element
	// of a split batch), or an error when the message as a whole cannot be
	// read (it wraps model.ErrInvalid then).
	Translate(in mappings.Input) (*mappings.Batch, error)
}

var _ Translator = (*mappings.Mapping)(nil)

// Mappings finds a partner's live Translator.
type Mappings interface {
	// Translator returns the partner's live mapping, or nil when none is loaded.
	Translator(partner string) Translator
}

// Registry adapts a *mappings.Registry to Mappings.
type Registry struct{ Reg *mappings.Registry }

var _ Mappings = Registry{}

// Translator implements Mappings.
func (r Registry) Translator(partner string) Translator {
	if m := r.Reg.Get(partner); m != nil {
		return m
	}
	return nil
}

// Message is one partner message as a protocol decoded it.
type Message struct {
	// Partner names the mapping that reads the message.
	Partner string
	// Translator, when set, reads the message instead of the partner's live
	// mapping: a REST route pins the mapping version its route and auth came
	// from, so a request is served wholly by one version.
	Translator Translator
	// Input is what the mapping reads (its Body is the decoded JSON document).
	Input mappings.Input
	// MessageID is the partner's id for the message as its envelope carries
	// it (Standard Webhooks webhook-id, wsa:MessageID, mail Message-ID). When
	// empty, the id the mapping reads from the body (its message_id path,
	// e.g. EMG's Task.Id) is used.
	MessageID string
	// Scope is appended to a content digest key (see Key); "" for none.
	Scope string
	// Raw is the message as received, kept for audit; nil means Input.Body.
	// The items of a split message keep their own element.
	Raw []byte
	// Warnings are the protocol's own notes on the message (mail); each
	// item's event carries them.
	Warnings []string
	// Single says the protocol carries exactly one message per call (SOAP,
	// mail): a mapping that yields another number of items is refused.
	Single bool
}

// Result is the fate of one item of a message. Exactly one of Outcome and
// Err is set.
type Result struct {
	// Index is the item's position in a split message (0 otherwise).
	Index int
	// Key is the item's own key as the mapping reads it (e.g. Pruvan's
	// workOrderNumber), "" when the mapping declares none.
	Key string
	// Kind is the mapping's message kind that matched ("" when none did).
	Kind string
	// IdempotencyKey is the key the item was committed under (see Key).
	IdempotencyKey string
	Outcome        *model.Outcome
	// Err is a translation error (wrapping ErrUntranslatable and the
	// mapping's *mappings.RuleError) or the Sink's error.
	Err error
}

// ErrUntranslatable marks a message, or an item, that the partner's mapping
// refused: no message kind matched or a rule failed. It is the partner's
// fault (see Permanent).
var ErrUntranslatable = errors.New("untranslatable")

// ErrNoMapping means the partner's mapping is not loaded; the message may be
// sent again later.
var ErrNoMapping = errors.New("mapping not loaded")

// TranslateError is a failure of the partner's mapping on a message. It
// matches ErrUntranslatable and unwraps to the mapping's error (a
// *mappings.RuleError or an error wrapping model.ErrInvalid).
type TranslateError struct {
	Err error
}

func (e *TranslateError) Error() string { return e.Err.Error() }

// Unwrap returns the mapping's error.
func (e *TranslateError) Unwrap() error { return e.Err }

// Is reports whether target is ErrUntranslatable or model.ErrInvalid.
func (e *TranslateError) Is(target error) bool {
	return target == ErrUntranslatable || target == model.ErrInvalid
}

// Permanent reports whether err is the message's fault (the mapping refused
// it, or the Sink found it invalid, refused, conflicting or about an unknown
// order): sending it again gives the same answer. Any other error is the
// gateway's (a store down) and the message may be retried.
func Permanent(err error) bool {
	return errors.Is(err, ErrUntranslatable) || errors.Is(err, model.ErrNotFound) || errors.Is(err, model.ErrConflict) ||
		errors.Is(err, model.ErrRefused) || errors.Is(err, model.ErrInvalid)
}

// Options tune a Service. A nil *Options is the zero value, which works.
type Options struct {
	// Logger receives one line per item the Sink failed to commit for a
	// reason that is not the message's fault. Default slog.Default().
	Logger *slog.Logger
}

// Service is the one inbound path: translate, key, commit.
type Service struct {
	maps    Mappings
	sink    model.Sink
	log     *slog.Logger
	foreign *prometheus.CounterVec
}

// New returns a Service reading mappings from maps and committing to sink.
func New(maps Mappings, sink model.Sink, opt *Options) *Service {
	s := &Service{maps: maps, sink: sink, log: slog.Default(),
		foreign: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_partner_foreign_order_attempts_total",
			Help: "Partner messages addressed to an order that is neither the partner's nor sent to it (answered as not found).",
		}, []string{"partner", "protocol"})}
	if opt != nil && opt.Logger != nil {
		s.log = opt.Logger
	}
	return s
}

// Receive translates msg with the partner's live mapping and commits each
// item, in order, to the Sink. It returns one Result per item; an error
// means nothing was translated nor committed: ErrNoMapping, or a
// *TranslateError when the message as a whole cannot be read (or, for a
// Single protocol, does not hold exactly one message). An item whose commit
// fails does not stop the others; its Result carries the error.
func (s *Service) Receive(ctx context.Context, msg Message) ([]Result, error) {
	tr := msg.Translator
	if tr == nil {
		tr = s.maps.Translator(msg.Partner)
	}
	if tr == nil {
		return nil, fmt.Errorf("inbound: partner %s: %w", msg.Partner, ErrNoMapping)
	}
	batch, err := translate(tr, msg.Input)
	if err != nil {
		return nil, &TranslateError{Err: err}
	}
	if msg.Single && len(batch.Items) != 1 {
		return nil, &TranslateError{Err: &mappings.RuleError{Msg: fmt.Sprintf("%d messages in one call, want one", len(batch.Items)), Kind: model.ErrInvalid}}
	}
	split := batch.Split
	results := make([]Result, len(batch.Items))
	for i := range batch.Items {
		it := &batch.Items[i]
		r := &results[i]
		r.Index, r.Key, r.Kind = it.Index, it.Key, it.Kind
		if it.Err != nil {
			r.Err = &TranslateError{Err: it.Err}
			continue
		}
		in := it.Inbound
		if msg.MessageID != "" {
			in.MessageID = msg.MessageID
		}
		in.Protocol = msg.Input.Protocol
		in.IdempotencyKey = Key(in.MessageID, msg.Input.Body, msg.Scope, it.Index, split)
		in.Digest = Digest(in)
		if !split && msg.Raw != nil {
			in.Raw = msg.Raw
		}
		in.Warnings = append(in.Warnings, msg.Warnings...)
		r.IdempotencyKey = in.IdempotencyKey
		r.Outcome, r.Err = s.sink.Commit(ctx, in)
		if no := (*model.NotOwnedError)(nil); errors.As(r.Err, &no) {
			s.foreign.WithLabelValues(msg.Partner, string(msg.Input.Protocol)).Inc()
			s.log.WarnContext(ctx, "partner addressed another partner's order; answered not found", "partner", msg.Partner,
				"protocol", string(msg.Input.Protocol), "order", no.OrderID, "owner", no.Owner, "index", it.Index, "key", r.Key)
		}
		if r.Err != nil && !Permanent(r.Err) {
			s.log.ErrorContext(ctx, "partner message not committed", "partner", msg.Partner, "protocol", string(msg.Input.Protocol),
				"index", it.Index, "key", r.Key, "err", r.Err)
		}
	}
	return results, nil
}

// Collector returns the Service's metrics for a Prometheus registry:
// gateway_partner_foreign_order_attempts_total{partner,protocol}.
func (s *Service) Collector() prometheus.Collector { return s.foreign }

// translate runs the mapping; a panic in it refuses the message instead of
// crashing the process (a mail would otherwise crash it on every restart).
func translate(tr Translator, in mappings.Input) (b *mappings.Batch, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("panic: %v: %w", r, &mappings.RuleError{Msg: "the mapping failed on this message", Kind: model.ErrInvalid})
		}
	}()
	return tr.Translate(in)
}
