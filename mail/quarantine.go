package mail

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/equus/sogateway/internal/model"
)

// QuarantinedMail is one mail in the mailbox's Quarantine folder.
type QuarantinedMail struct {
	// UID is the mail's UID in the Quarantine folder (Reprocess takes it).
	UID uint32 `json:"uid"`
	// Reason is why it was quarantined (see Reason): the $gateway_<reason>
	// keyword set when it was moved; "" when the keyword is missing.
	Reason    string    `json:"reason"`
	MessageID string    `json:"message_id,omitempty"`
	From      string    `json:"from,omitempty"`
	Subject   string    `json:"subject,omitempty"`
	Date      time.Time `json:"date,omitzero"`
	Size      int64     `json:"size"`
	// Raw is the start of the mail as received (headers and body), at most
	// quarantineViewBytes, for an operator to read.
	Raw string `json:"raw,omitempty"`
}

// quarantineViewBytes caps how much of each quarantined mail is read for viewing.
const quarantineViewBytes = 16 << 10

// reasonKeyword is the prefix of the keyword that names the quarantine reason.
const reasonKeyword = "$gateway_"

// Quarantined lists up to limit mails (newest first) of the Quarantine folder
// over a connection of its own. A limit <= 0 means 50.
func (i *Intake) Quarantined(ctx context.Context, limit int) ([]QuarantinedMail, error) {
	if i.err != nil {
		return nil, i.err
	}
	if limit <= 0 {
		limit = 50
	}
	c, err := i.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	sel, err := c.Select(i.cfg.Quarantine, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil, fmt.Errorf("mail: examine %q: %w", i.cfg.Quarantine, err)
	}
	if sel.NumMessages == 0 {
		return nil, nil
	}
	data, err := c.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagDeleted}}, nil).Wait()
	if err != nil {
		return nil, fmt.Errorf("mail: search quarantine: %w", err)
	}
	uids := data.AllUIDs()
	slices.Sort(uids)
	if len(uids) > limit {
		uids = uids[len(uids)-limit:]
	}
	if len(uids) == 0 {
		return nil, nil
	}
	section := &imap.FetchItemBodySection{Peek: true, Partial: &imap.SectionPartial{Offset: 0, Size: quarantineViewBytes}}
	cmd := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, Flags: true, Envelope: true, RFC822Size: true,
		BodySection: []*imap.FetchItemBodySection{section}})
	var out []QuarantinedMail
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		var q QuarantinedMail
		for item := msg.Next(); item != nil; item = msg.Next() {
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				q.UID = uint32(it.UID)
			case imapclient.FetchItemDataFlags:
				for _, f := range it.Flags {
					if r, ok := strings.CutPrefix(string(f), reasonKeyword); ok {
						q.Reason = r
					}
				}
			case imapclient.FetchItemDataEnvelope:
				if e := it.Envelope; e != nil {
					q.MessageID, q.Subject, q.Date = e.MessageID, e.Subject, e.Date
					if len(e.From) > 0 {
						q.From = e.From[0].Addr()
					}
				}
			case imapclient.FetchItemDataRFC822Size:
				q.Size = it.Size
			case imapclient.FetchItemDataBodySection:
				if it.Literal != nil {
					b, err := io.ReadAll(io.LimitReader(it.Literal, quarantineViewBytes))
					if err != nil {
						cmd.Close()
						return nil, fmt.Errorf("mail: fetch quarantined mail: %w", err)
					}
					q.Raw = strings.ToValidUTF8(string(b), "\uFFFD")
				}
			}
		}
		if q.UID != 0 {
			out = append(out, q)
		}
	}
	if err := cmd.Close(); err != nil {
		return nil, fmt.Errorf("mail: fetch quarantine: %w", err)
	}
	slices.SortFunc(out, func(a, b QuarantinedMail) int { return int(int64(b.UID) - int64(a.UID)) })
	return out, nil
}

// Reprocess moves a quarantined mail back to the inbox, without its reason
// keyword, and wakes the intake: after a fix (a mapping edit, an order that
// now exists) the mail is applied like a new one, or quarantined again with
// its new reason. A UID that is not in the Quarantine folder is an error
// wrapping model.ErrNotFound.
func (i *Intake) Reprocess(ctx context.Context, uid uint32) error {
	if i.err != nil {
		return i.err
	}
	c, err := i.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if _, err := c.Select(i.cfg.Quarantine, nil).Wait(); err != nil {
		return fmt.Errorf("mail: select %q: %w", i.cfg.Quarantine, err)
	}
	set := imap.UIDSetNum(imap.UID(uid))
	msgs, err := c.Fetch(set, &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		return fmt.Errorf("mail: fetch quarantined uid %d: %w", uid, err)
	}
	if len(msgs) == 0 {
		return fmt.Errorf("mail: uid %d is not in %q: %w", uid, i.cfg.Quarantine, model.ErrNotFound)
	}
	var kws []imap.Flag
	for _, f := range msgs[0].Flags {
		if strings.HasPrefix(string(f), reasonKeyword) {
			kws = append(kws, f)
		}
	}
	if len(kws) > 0 {
		if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsDel, Silent: true, Flags: kws}, nil).Close(); err != nil {
			i.log.Debug("mail: could not clear the quarantine reason", "uid", uid, "err", err)
		}
	}
	if err := i.move(c, set, i.cfg.Inbox); err != nil {
		return err
	}
	i.log.Info("mail: quarantined mail sent back to the inbox for another attempt", "uid", uid)
	i.signal()
	return nil
}
