package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/equus/sogateway/internal/inbound"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/mappings"
)

// Receiver is the one inbound path (internal/inbound.Service): it
// translates a mail document (Mail.Document) with the partner's mapping and
// commits it. A *inbound.TranslateError (the mapping refused the mail)
// quarantines it as "untranslatable"; an item error the Sink calls
// permanent quarantines it under its reason; any other error leaves it in
// the inbox for a later attempt.
type Receiver interface {
	Receive(ctx context.Context, msg inbound.Message) ([]inbound.Result, error)
}

var _ Receiver = (*inbound.Service)(nil)

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
	recv     Receiver
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
// translates and commits each mail, and the attachment store (nil: attachment metadata is recorded, contents are
// dropped). Configuration errors are reported by Run and Status.
func NewIntake(mb MailboxConfig, r *Rules, recv Receiver, store AttachmentStore, opt *Options) *Intake {
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

// transientError marks a failure that leaves the mail in the inbox for a
// later attempt over the same connection (Sink or attachment store down).
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// session runs one connection. healthy reports whether it got as far as a
// complete check of the inbox (so the reconnect backoff starts over).
func (i *Intake) session(ctx context.Context) (healthy bool, err error) {
	c, err := i.dial(ctx)
	if err != nil {
		return false, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	if err := i.ensureFolders(c); err != nil {
		return false, err
	}
	caps := c.Caps()
	useIdle := !i.cfg.DisableIdle && (caps.Has(imap.CapIdle) || caps.Has(imap.CapIMAP4rev2))
	mode := "poll"
	if useIdle {
		mode = "idle"
	}
	i.update(func(s *MailboxStatus) { s.Connected, s.Mode = true, mode })
	i.log.Info("mail: mailbox connected", "mode", mode, "move", caps.Has(imap.CapMove) || caps.Has(imap.CapIMAP4rev2))

	retry := i.cfg.BackoffMin
	for {
		err := i.drain(ctx, c)
		if ctx.Err() != nil {
			return healthy, ctx.Err()
		}
		wait := i.cfg.PollInterval
		var te *transientError
		switch {
		case errors.As(err, &te):
			healthy = true
			wait = min(jitter(retry), wait)
			retry = min(2*retry, i.cfg.BackoffMax)
			i.noteError(err)
			i.update(func(s *MailboxStatus) { s.Retries++ })
			i.log.Warn("mail: transient failure, mail left in the inbox", "err", err, "retry_in", wait)
		case err != nil:
			return healthy, err
		default:
			healthy = true
			retry = i.cfg.BackoffMin
		}
		if err := i.waitForMail(ctx, c, useIdle, wait); err != nil {
			return healthy, err
		}
	}
}

// dial connects, secures and logs in. Every step stops when ctx is done: the
// connection is closed under it, so a shutdown never waits for a slow server.
func (i *Intake) dial(ctx context.Context) (*imapclient.Client, error) {
	opts := &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					i.signal()
				}
			},
		},
	}
	host, _, _ := net.SplitHostPort(i.cfg.Addr)
	tlsCfg := &tls.Config{}
	if i.cfg.TLSConfig != nil {
		tlsCfg = i.cfg.TLSConfig.Clone()
	}
	if tlsCfg.ServerName == "" {
		tlsCfg.ServerName = host
	}
	opts.TLSConfig = tlsCfg
	dctx, cancel := context.WithTimeout(ctx, i.cfg.DialTimeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", i.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("mail: dial %s: %w", i.cfg.Addr, err)
	}
	// Until login is done, ctx (and the dial timeout) close the connection.
	stop := context.AfterFunc(dctx, func() { conn.Close() })
	defer stop()
	var c *imapclient.Client
	switch i.cfg.TLS {
	case TLSNone:
		c = imapclient.New(conn, opts)
	case TLSStartTLS:
		if c, err = imapclient.NewStartTLS(conn, opts); err != nil {
			conn.Close()
			return nil, fmt.Errorf("mail: starttls with %s: %w", i.cfg.Addr, err)
		}
	default:
		if tlsCfg.NextProtos == nil {
			tlsCfg.NextProtos = []string{"imap"}
		}
		tc := tls.Client(conn, tlsCfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("mail: tls with %s: %w", i.cfg.Addr, err)
		}
		c = imapclient.New(tc, opts)
	}
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, fmt.Errorf("mail: greeting from %s: %w", i.cfg.Addr, err)
	}
	pw := i.cfg.Password.Reveal()
	if caps := c.Caps(); caps.Has(imap.CapLoginDisabled) && caps.Has(imap.AuthCap(sasl.Plain)) {
		err = c.Authenticate(sasl.NewPlainClient("", i.cfg.User, pw))
	} else {
		err = c.Login(i.cfg.User, pw).Wait()
	}
	if err != nil {
		c.Close()
		// The server's answer never contains the password; the command is not logged.
		return nil, fmt.Errorf("mail: login as %s at %s: %w", i.cfg.User, i.cfg.Addr, err)
	}
	if !stop() {
		c.Close() // ctx ended just as the login finished
		return nil, fmt.Errorf("mail: connect to %s: %w", i.cfg.Addr, context.Cause(dctx))
	}
	return c, nil
}

func (i *Intake) signal() {
	select {
	case i.wake <- struct{}{}:
	default:
	}
}

// ensureFolders creates the Processed and Quarantine folders when missing.
func (i *Intake) ensureFolders(c *imapclient.Client) error {
	for _, name := range []string{i.cfg.Processed, i.cfg.Quarantine} {
		list, err := c.List("", name, nil).Collect()
		if err != nil {
			return fmt.Errorf("mail: list %q: %w", name, err)
		}
		if len(list) > 0 {
			continue
		}
		if err := c.Create(name, nil).Wait(); err != nil {
			return fmt.Errorf("mail: create %q: %w", name, err)
		}
		i.log.Info("mail: created folder", "folder", name)
	}
	return nil
}

// waitForMail returns when new mail may have arrived: on an EXISTS during
// IDLE, or after d.
func (i *Intake) waitForMail(ctx context.Context, c *imapclient.Client, useIdle bool, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	if !useIdle {
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-i.wake:
		case <-c.Closed():
			return errors.New("mail: connection closed")
		}
		return nil
	}
	idle, err := c.Idle()
	if err != nil {
		return fmt.Errorf("mail: idle: %w", err)
	}
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-i.wake:
	case <-c.Closed():
	}
	if err := idle.Close(); err != nil {
		return fmt.Errorf("mail: idle done: %w", err)
	}
	if err := idle.Wait(); err != nil {
		return fmt.Errorf("mail: idle: %w", err)
	}
	return nil
}

// fetched is one mail read from the server.
type fetched struct {
	uid  imap.UID
	size int64
	raw  []byte
	over bool // larger than Limits.MaxTotalBytes: not downloaded
}

// drain applies every mail now in the inbox, in UID order. It stops at the
// first transient failure (returning a *transientError) so mails about one
// task are never applied out of order.
func (i *Intake) drain(ctx context.Context, c *imapclient.Client) error {
	select { // a wake-up that arrives now is served by this pass
	case <-i.wake:
	default:
	}
	sel, err := c.Select(i.cfg.Inbox, nil).Wait()
	if err != nil {
		return fmt.Errorf("mail: select %q: %w", i.cfg.Inbox, err)
	}
	i.noteUIDValidity(sel.UIDValidity)
	var uids []imap.UID
	if sel.NumMessages > 0 {
		data, err := c.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagDeleted}}, nil).Wait()
		if err != nil {
			return fmt.Errorf("mail: search: %w", err)
		}
		uids = data.AllUIDs()
		slices.Sort(uids)
	}
	i.update(func(s *MailboxStatus) { s.Pending, s.LastCheckAt = len(uids), time.Now().UTC() })
	if len(uids) == 0 {
		return nil
	}
	// Sizes are asked for in chunks, so a huge inbox never makes a command
	// line longer than servers accept.
	var sizes map[imap.UID]int64
	sized := 0
	for len(uids) > 0 {
		if sized == 0 {
			chunk := uids[:min(len(uids), sizeChunk)]
			if sizes, err = i.fetchSizes(c, chunk); err != nil {
				return err
			}
			sized = len(chunk)
		}
		// A batch: up to BatchSize mails and BatchBytes bytes (at least one
		// mail), within the chunk whose sizes are known.
		n, bytes := 0, int64(0)
		for n < sized && n < i.batch && (n == 0 || bytes+sizes[uids[n]] <= i.bbytes) {
			bytes += sizes[uids[n]]
			n++
		}
		batch := uids[:n]
		uids, sized = uids[n:], sized-n
		msgs, err := i.fetchBodies(c, batch, sizes)
		if err != nil {
			return err
		}
		// Applied mails are moved to Processed together, once per batch: one
		// MOVE (and one fsync on the server) instead of one per mail.
		var done []applied
		for _, m := range msgs {
			if err := ctx.Err(); err != nil {
				return err
			}
			a, err := i.handle(ctx, c, m)
			var te *transientError
			if errors.As(err, &te) {
				if ferr := i.finish(c, done); ferr != nil {
					return ferr
				}
				return err
			}
			if err != nil {
				// A crash or a lost connection: what was committed but not
				// moved is applied again as a Duplicate next time.
				return err
			}
			if a != nil {
				done = append(done, *a)
			}
		}
		if err := i.finish(c, done); err != nil {
			return err
		}
	}
	return nil
}

// applied is a mail committed to the Sink, not yet moved to Processed.
type applied struct {
	uid  imap.UID
	mail *Mail
	out  *model.Outcome
}

// finish moves the applied mails to Processed, then counts and logs them.
func (i *Intake) finish(c *imapclient.Client, done []applied) error {
	if len(done) == 0 {
		return nil
	}
	uids := make([]imap.UID, len(done))
	for k, a := range done {
		uids[k] = a.uid
	}
	if err := i.move(c, imap.UIDSetNum(uids...), i.cfg.Processed); err != nil {
		return err
	}
	for _, a := range done {
		dup := a.out != nil && a.out.Duplicate
		i.update(func(s *MailboxStatus) {
			s.Pending = max(s.Pending-1, 0) // it left the inbox
			s.Processed++
			if dup {
				s.Duplicates++
			}
		})
		attrs := []any{"uid", uint32(a.uid), "message_id", a.mail.MessageID, "task", a.mail.Correlation, "duplicate", dup}
		if a.out != nil && a.out.Event != nil {
			attrs = append(attrs, "order_id", a.out.Event.OrderID, "event", string(a.out.Event.Type))
		}
		i.log.Info("mail: applied", attrs...)
	}
	return nil
}

// sizeChunk is how many mails one RFC822.SIZE fetch asks about (a variable
// so tests can cut a burst into several chunks).
var sizeChunk = 500

func (i *Intake) noteUIDValidity(v uint32) {
	i.mu.Lock()
	old := i.st.UIDValidity
	if old != v {
		i.st.UIDValidity, i.st.LastUID = v, 0
		if old != 0 {
			i.st.UIDValidityChanges++
		}
	}
	i.mu.Unlock()
	if old != 0 && old != v {
		// Nothing to skip or replay: the inbox is scanned whole and the
		// idempotency key, not the UID, decides what is applied.
		i.log.Warn("mail: UIDVALIDITY changed; rescanning the inbox", "old", old, "new", v)
	}
}

func (i *Intake) fetchSizes(c *imapclient.Client, uids []imap.UID) (map[imap.UID]int64, error) {
	msgs, err := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
	if err != nil {
		return nil, fmt.Errorf("mail: fetch sizes: %w", err)
	}
	sizes := make(map[imap.UID]int64, len(msgs))
	for _, m := range msgs {
		sizes[m.UID] = m.RFC822Size
	}
	return sizes, nil
}

// fetchBodies reads the mails of batch with BODY.PEEK[] (the \Seen flag is
// left alone), each bounded by Limits.MaxTotalBytes; larger ones are marked
// over and not downloaded.
func (i *Intake) fetchBodies(c *imapclient.Client, batch []imap.UID, sizes map[imap.UID]int64) ([]fetched, error) {
	limit := i.comp.limits.MaxTotalBytes
	var out []fetched
	var get []imap.UID
	for _, uid := range batch {
		if sizes[uid] > limit {
			out = append(out, fetched{uid: uid, size: sizes[uid], over: true})
		} else {
			get = append(get, uid)
		}
	}
	if len(get) > 0 {
		section := &imap.FetchItemBodySection{Peek: true}
		cmd := c.Fetch(imap.UIDSetNum(get...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}})
		for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
			f := fetched{}
			for item := msg.Next(); item != nil; item = msg.Next() {
				switch it := item.(type) {
				case imapclient.FetchItemDataUID:
					f.uid = it.UID
				case imapclient.FetchItemDataBodySection:
					if it.Literal == nil {
						continue
					}
					b, err := io.ReadAll(io.LimitReader(it.Literal, limit+1))
					if err != nil {
						cmd.Close()
						return nil, fmt.Errorf("mail: fetch body: %w", err)
					}
					f.raw, f.size = b, int64(len(b))
					f.over = int64(len(b)) > limit
					if f.over {
						f.raw = nil
					}
				}
			}
			if f.uid != 0 {
				out = append(out, f)
			}
		}
		if err := cmd.Close(); err != nil {
			return nil, fmt.Errorf("mail: fetch bodies: %w", err)
		}
	}
	slices.SortFunc(out, func(a, b fetched) int { return int(int64(a.uid) - int64(b.uid)) })
	return out, nil
}

// handle applies one mail: parse, store attachments, translate and commit,
// returning it for the move to Processed; or it moves the mail to Quarantine
// with its reason (and returns nil, nil).
func (i *Intake) handle(ctx context.Context, c *imapclient.Client, f fetched) (*applied, error) {
	i.update(func(s *MailboxStatus) { s.LastUID = max(s.LastUID, uint32(f.uid)) })
	if f.over {
		return nil, i.quarantine(c, f.uid, nil, fmt.Errorf("%w: message is %d bytes, limit %d", ErrTooLarge, f.size, i.comp.limits.MaxTotalBytes))
	}
	m, err := i.comp.parse(f.raw)
	if err != nil {
		return nil, i.quarantine(c, f.uid, m, err)
	}
	if !i.cfg.senderAllowed(m.From) {
		return nil, i.quarantine(c, f.uid, m, fmt.Errorf("%w: %q", ErrSenderNotAllowed, m.From))
	}
	for k := range m.Attachments {
		a := &m.Attachments[k]
		if i.store == nil {
			continue
		}
		at, err := i.store.Put(ctx, a.SHA256, bytes.NewReader(a.Content))
		if err != nil {
			return nil, &transientError{fmt.Errorf("mail: store attachment %q of uid %d: %w", a.Name, f.uid, err)}
		}
		a.StoredAt = at
	}
	doc, err := m.Document()
	if err != nil {
		return nil, i.quarantine(c, f.uid, m, fmt.Errorf("%w: %v", ErrBadMIME, err))
	}
	results, err := i.recv.Receive(ctx, inbound.Message{Partner: i.cfg.Name,
		Input:     mappings.Input{Protocol: model.ProtocolEmail, Body: doc, Settings: i.settings},
		MessageID: m.MessageID, Raw: f.raw, Warnings: m.Warnings, Single: true})
	if err == nil && results[0].Err != nil {
		err = results[0].Err
	}
	if err != nil {
		switch {
		case errors.Is(err, inbound.ErrUntranslatable):
			return nil, i.quarantine(c, f.uid, m, fmt.Errorf("%w: %w", ErrUntranslatable, err))
		case Reason(err) != "":
			return nil, i.quarantine(c, f.uid, m, err)
		}
		return nil, &transientError{fmt.Errorf("mail: commit uid %d (%s): %w", f.uid, m.MessageID, err)}
	}
	out := results[0].Outcome
	if i.afterCommit != nil {
		if err := i.afterCommit(f.uid, out); err != nil {
			return nil, err
		}
	}
	return &applied{uid: f.uid, mail: m, out: out}, nil
}

// quarantine flags the mail with a $gateway_<reason> keyword (best effort)
// and moves it to the Quarantine folder.
func (i *Intake) quarantine(c *imapclient.Client, uid imap.UID, m *Mail, cause error) error {
	reason := Reason(cause)
	if reason == "" {
		reason = "other"
	}
	set := imap.UIDSetNum(uid)
	kw := imap.Flag("$gateway_" + reason)
	if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{kw}}, nil).Close(); err != nil {
		i.log.Debug("mail: could not flag quarantined mail", "uid", uint32(uid), "err", err)
	}
	if err := i.move(c, set, i.cfg.Quarantine); err != nil {
		return err
	}
	i.update(func(s *MailboxStatus) {
		s.Pending = max(s.Pending-1, 0) // it left the inbox
		s.Quarantined++
		s.QuarantinedBy[reason]++
	})
	attrs := []any{"uid", uint32(uid), "reason", reason, "err", cause}
	if m != nil {
		attrs = append(attrs, "message_id", m.MessageID, "from", m.From, "task", m.Correlation)
	}
	i.log.Warn("mail: quarantined", attrs...)
	return nil
}

// move moves the mails of set with UID MOVE, or, when the server does not offer MOVE,
// with UID COPY, then UID STORE +FLAGS (\Deleted), then UID EXPUNGE (plain
// EXPUNGE without UIDPLUS). Each step waits for the previous one: pipelined,
// Dovecot may run the EXPUNGE before the STORE and leave the mail behind.
// A crash between the steps leaves the mail in both folders; the next pass
// applies it again as a Duplicate and finishes the move.
func (i *Intake) move(c *imapclient.Client, set imap.UIDSet, folder string) error {
	caps := c.Caps()
	if caps.Has(imap.CapMove) || caps.Has(imap.CapIMAP4rev2) {
		if _, err := c.Move(set, folder).Wait(); err != nil {
			return fmt.Errorf("mail: move %v to %q: %w", set, folder, err)
		}
		return nil
	}
	if _, err := c.Copy(set, folder).Wait(); err != nil {
		return fmt.Errorf("mail: copy %v to %q: %w", set, folder, err)
	}
	if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		return fmt.Errorf("mail: flag uid %v deleted: %w", set, err)
	}
	var err error
	if caps.Has(imap.CapUIDPlus) {
		err = c.UIDExpunge(set).Close()
	} else {
		err = c.Expunge().Close()
	}
	if err != nil {
		return fmt.Errorf("mail: expunge uid %v: %w", set, err)
	}
	return nil
}

// sinkReason classifies a Sink error: permanent ones quarantine the mail.
func sinkReason(err error) string {
	switch {
	case errors.Is(err, model.ErrNotFound):
		return "unknown_task"
	case errors.Is(err, model.ErrRefused):
		return "refused"
	case errors.Is(err, model.ErrConflict):
		return "conflict"
	case errors.Is(err, model.ErrInvalid):
		return "invalid"
	}
	return ""
}
