package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/equus/sogateway/internal/dispatch"
	"github.com/equus/sogateway/mail"
)

// --- dead letters -----------------------------------------------------------

type deadView struct {
	Vendors []string
	Vendor  string
	Letters []*dispatch.Delivery
	Offset  int
	Next    int
	Error   string
}

const deadPage = 50

func (c *Console) deadLetters(w http.ResponseWriter, r *http.Request, s *session) {
	if c.d.Dispatch == nil {
		c.fail(w, r, s, http.StatusNotFound, "Dispatch to vendors is not set up in this gateway.")
		return
	}
	v := deadView{Vendors: c.d.Dispatch.Vendors(), Vendor: r.URL.Query().Get("vendor")}
	v.Offset, _ = strconv.Atoi(r.URL.Query().Get("offset"))
	v.Offset = max(v.Offset, 0)
	names := v.Vendors
	if v.Vendor != "" {
		if !slices.Contains(v.Vendors, v.Vendor) {
			c.fail(w, r, s, http.StatusNotFound, fmt.Sprintf("There is no vendor %q.", v.Vendor))
			return
		}
		names = []string{v.Vendor}
	}
	for _, name := range names {
		ds, err := c.d.Dispatch.DeadLetters(r.Context(), name, v.Offset, deadPage+1)
		if err != nil {
			v.Error = c.explain(r.Context(), err)
			break
		}
		if len(ds) > deadPage {
			ds, v.Next = ds[:deadPage], v.Offset+deadPage
		}
		v.Letters = append(v.Letters, ds...)
	}
	c.render(w, r, s, http.StatusOK, "dead_letters", v)
}

// replay replays the delivery of the pressed row button ("one"), the
// checked rows ("id"), or every dead letter of a vendor ("all").
func (c *Console) replay(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	to := "/console/dead-letters"
	if v := r.PostForm.Get("vendor"); v != "" {
		to += "?vendor=" + url.QueryEscape(v)
	}
	if all := r.PostForm.Get("all"); all != "" {
		n, err := c.d.Dispatch.ReplayDead(ctx, all)
		if err != nil {
			c.back(w, r, s, to, "Not replayed: "+c.explain(ctx, err))
			return
		}
		c.record(r, s, "replay", "dead-letters", all, nil, map[string]int{"replayed": n})
		c.back(w, r, s, to, fmt.Sprintf("Replayed %d dead letters of %s.", n, all))
		return
	}
	ids := r.PostForm["id"]
	if one := r.PostForm.Get("one"); one != "" {
		ids = []string{one}
	}
	if len(ids) == 0 {
		c.back(w, r, s, to, "Nothing replayed: select at least one dead letter.")
		return
	}
	var done []string
	var failed []string
	for _, id := range ids {
		if _, err := c.d.Dispatch.Replay(ctx, id); err != nil {
			failed = append(failed, id+": "+c.explain(ctx, err))
			continue
		}
		done = append(done, id)
	}
	for _, id := range done {
		c.record(r, s, "replay", "delivery", id, nil, nil)
	}
	msg := fmt.Sprintf("Replayed %d: %s.", len(done), strings.Join(done, ", "))
	if len(failed) > 0 {
		msg += " Not replayed: " + strings.Join(failed, "; ") + "."
	}
	c.back(w, r, s, to, msg)
}

// --- mail -----------------------------------------------------------------

type mailbox struct {
	Status      mail.MailboxStatus
	Reasons     []string
	Quarantined []mail.QuarantinedMail
	Error       string
}

func (c *Console) mail(w http.ResponseWriter, r *http.Request, s *session) {
	var boxes []mailbox
	if c.d.Mailboxes != nil {
		for _, st := range c.d.Mailboxes.Mailboxes() {
			b := mailbox{Status: st, Reasons: sortedKeys(st.QuarantinedBy)}
			if c.d.Quarantine != nil && st.Disabled == "" {
				ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
				q, err := c.d.Quarantine.Quarantined(ctx, st.Name, 50)
				cancel()
				if err != nil {
					b.Error = "the quarantine folder could not be read: " + c.explain(r.Context(), err)
				}
				b.Quarantined = q
			}
			boxes = append(boxes, b)
		}
	}
	c.render(w, r, s, http.StatusOK, "mail", boxes)
}

func (c *Console) reprocess(w http.ResponseWriter, r *http.Request, s *session) {
	partner := r.PathValue("partner")
	uid, err := strconv.ParseUint(r.PathValue("uid"), 10, 32)
	if err != nil || c.d.Quarantine == nil {
		c.back(w, r, s, "/console/mail", "Not reprocessed: no such quarantined mail.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	if err := c.d.Quarantine.Reprocess(ctx, partner, uint32(uid)); err != nil {
		c.back(w, r, s, "/console/mail", "Not reprocessed: "+c.explain(r.Context(), err))
		return
	}
	c.record(r, s, "reprocess", "quarantined-mail", fmt.Sprintf("%s/%d", partner, uid), nil, nil)
	c.back(w, r, s, "/console/mail", fmt.Sprintf("Mail %d of %s is back in the inbox for another attempt.", uid, partner))
}
