package mail

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/equus/sogateway/internal/inbound"
	"github.com/equus/sogateway/internal/model"
)

// Options tune an Intake. A nil *Options means the zero value, and every zero
// field means the default in its comment.
type Options struct {
	// Logger receives one line per mail processed or quarantined and per
	// connection problem. Default slog.Default().
	Logger *slog.Logger
	// BatchSize is how many mails one FETCH reads. Default 25.
	BatchSize int
	// BatchBytes bounds the raw bytes one FETCH reads (a single mail may be
	// larger, up to Limits.MaxTotalBytes). Default 32 MiB.
	BatchBytes int64
	// Settings are the partner's installation settings handed to its
	// mapping; default none (the mapping's defaults).
	Settings map[string]string
}

// MailboxStatus is what an Intake reports for /readyz and /metrics.
type MailboxStatus struct {
	Name  string `json:"name"`
	Inbox string `json:"inbox"`
	// Disabled, when set, says why Run will not run (missing credentials,
	// invalid config or rules); /readyz shows the partner as disabled.
	Disabled  string `json:"disabled,omitempty"`
	Connected bool   `json:"connected"`
	// Mode is "idle" or "poll" while connected.
	Mode string `json:"mode,omitempty"`
	// UIDValidity and LastUID track what has been read; they are not used to
	// decide what to apply (the idempotency key does that).
	UIDValidity        uint32 `json:"uid_validity,omitempty"`
	UIDValidityChanges int64  `json:"uid_validity_changes"`
	LastUID            uint32 `json:"last_uid,omitempty"`
	// Pending is the number of mails found in the inbox at the last check,
	// less those moved out since (applied or quarantined): 0 once the inbox
	// is drained.
	Pending int `json:"pending"`
	// Processed counts mails committed and moved to Processed, Duplicates
	// those among them the Sink had already applied.
	Processed  int64 `json:"processed"`
	Duplicates int64 `json:"duplicates"`
	// Quarantined counts mails moved to Quarantine, by Reason too.
	Quarantined   int64            `json:"quarantined"`
	QuarantinedBy map[string]int64 `json:"quarantined_by,omitempty"`
	// Retries counts transient failures (Sink or store down) that left a mail
	// in the inbox for a later attempt; Reconnects counts lost connections.
	Retries     int64     `json:"retries"`
	Reconnects  int64     `json:"reconnects"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	LastCheckAt time.Time `json:"last_check_at,omitzero"`
}

// Intake reads one mailbox and applies each mail once. Create it with
// NewIntake and call Run.
type Intake struct {
	cfg      MailboxConfig
	comp     *compiled
	err      error // configuration error, returned by Run
	recv     inbound.Receiver
	settings map[string]string
	store    AttachmentStore
	log      *slog.Logger
	batch    int
	bbytes   int64
	wake     chan struct{}

	mu sync.Mutex
	st MailboxStatus

	// afterCommit, when set (tests only), runs between the Sink commit and
	// the move to Processed; an error aborts the session there, as a crash would.
	afterCommit func(uid imap.UID, out *model.Outcome) error
}

// NewIntake returns an Intake for mailbox mb (whose Name is the partner)
// with the mapping's rules r (nil: defaults), the inbound path recv that
// translates and commits each mail (a Mail.Document), and the attachment
// store (nil: attachment metadata is recorded, contents are dropped).
// Configuration errors are reported by Run and Status. What recv answers
// decides where a mail goes: a *inbound.TranslateError (the mapping refused
// the mail) quarantines it as "untranslatable"; an item error the Sink calls
// permanent quarantines it under its reason; any other error leaves it in
// the inbox for a later attempt.
func NewIntake(mb MailboxConfig, r *Rules, recv inbound.Receiver, store AttachmentStore, opt *Options) *Intake {
	if opt == nil {
		opt = &Options{}
	}
	i := &Intake{cfg: mb.withDefaults(), recv: recv, settings: opt.Settings, store: store, log: opt.Logger,
		batch: opt.BatchSize, bbytes: opt.BatchBytes, wake: make(chan struct{}, 1)}
	if i.log == nil {
		i.log = slog.Default()
	}
	if i.batch <= 0 {
		i.batch = 25
	}
	if i.bbytes <= 0 {
		i.bbytes = 32 << 20
	}
	i.log = i.log.With("mailbox", i.cfg.Name, "inbox", i.cfg.Inbox)
	i.st = MailboxStatus{Name: i.cfg.Name, Inbox: i.cfg.Inbox, QuarantinedBy: map[string]int64{}}
	if err := mb.Validate(); err != nil {
		i.err = err
	} else if i.comp, err = r.compile(); err != nil {
		i.err = err
	} else if recv == nil {
		i.err = fmt.Errorf("%w: intake needs a receiver", ErrConfig)
	}
	if i.err != nil {
		i.st.LastError, i.st.Disabled = i.err.Error(), i.err.Error()
	}
	return i
}

// Status returns a snapshot of the mailbox's state and counters.
func (i *Intake) Status() MailboxStatus {
	i.mu.Lock()
	defer i.mu.Unlock()
	s := i.st
	s.QuarantinedBy = make(map[string]int64, len(i.st.QuarantinedBy))
	for k, v := range i.st.QuarantinedBy {
		s.QuarantinedBy[k] = v
	}
	return s
}

func (i *Intake) update(f func(s *MailboxStatus)) {
	i.mu.Lock()
	f(&i.st)
	i.mu.Unlock()
}

func (i *Intake) noteError(err error) {
	i.update(func(s *MailboxStatus) {
		s.LastError = err.Error()
		s.LastErrorAt = time.Now().UTC()
	})
}

// Run reads the mailbox until ctx is done: it connects, creates the Processed
// and Quarantine folders when missing, applies every mail in the inbox, then
// waits for more with IDLE when the server offers it (else polls every
// PollInterval), and reconnects with backoff after any drop. It returns
// ctx's error, or at once an error wrapping ErrConfig or
// ErrMissingCredentials when the configuration is unusable.
func (i *Intake) Run(ctx context.Context) error {
	if i.err != nil {
		return i.err
	}
	backoff := i.cfg.BackoffMin
	for {
		healthy, err := i.session(ctx)
		i.update(func(s *MailboxStatus) { s.Connected, s.Mode = false, "" })
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if healthy {
			backoff = i.cfg.BackoffMin
		}
		wait := jitter(backoff)
		i.noteError(err)
		i.update(func(s *MailboxStatus) { s.Reconnects++ })
		i.log.Warn("mail: mailbox connection lost", "err", err, "retry_in", wait)
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
		backoff = min(2*backoff, i.cfg.BackoffMax)
	}
}

// jitter spreads d over [d/2, d] so many mailboxes do not reconnect at once.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
