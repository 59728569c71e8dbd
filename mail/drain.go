package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/equus/sogateway/internal/inbound"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/mappings"
)

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
