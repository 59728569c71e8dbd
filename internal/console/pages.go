package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/access"
	"github.com/equus/sogateway/internal/dispatch"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/mail"
	"github.com/equus/sogateway/mappings"
)

// explain renders a service error for the operator from its typed fields;
// anything untyped is logged and summarized.
func (c *Console) explain(ctx context.Context, err error) string {
	var ves model.ValidationErrors
	var ve *model.ValidationError
	var re *model.RuleError
	switch {
	case errors.As(err, &ves):
		var parts []string
		for _, e := range ves {
			parts = append(parts, e.Field+" "+e.Rule)
		}
		return strings.Join(parts, "; ")
	case errors.As(err, &ve):
		return ve.Field + " " + ve.Rule
	case errors.As(err, &re):
		if re.Field == "" {
			return re.Rule
		}
		return re.Field + ": " + re.Rule
	case errors.Is(err, dispatch.ErrNoWindow):
		return "there is no open or coming offline window"
	case errors.Is(err, dispatch.ErrUnknownDelivery):
		return "no delivery has that id"
	case errors.Is(err, dispatch.ErrUnknownVendor):
		return "no vendor of that name is set up"
	case errors.Is(err, model.ErrNotFound):
		return "not found"
	case errors.Is(err, model.ErrVersionConflict):
		return "the order changed meanwhile; reload and try again"
	}
	c.log.ErrorContext(ctx, "console: service call failed", "err", err)
	return "the gateway could not complete the request (see its log)"
}

// --- orders ---------------------------------------------------------------

type ordersView struct {
	Query    OrderQuery
	Orders   []*model.Order
	Next     string
	Partners []string
	Statuses []model.Status
	Error    string
	// NextURL keeps the filters on the next page's link.
	NextURL string
}

var statuses = []model.Status{model.StatusNew, model.StatusSent, model.StatusAcknowledged, model.StatusAccepted,
	model.StatusInProgress, model.StatusPendingInput, model.StatusResolved, model.StatusClosed, model.StatusCancelled,
	model.StatusRejected, model.StatusDeleted}

func (c *Console) orders(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	query := OrderQuery{Ref: strings.TrimSpace(q.Get("ref")), Partner: q.Get("partner"), Company: strings.TrimSpace(q.Get("company")),
		ServiceType: strings.TrimSpace(q.Get("service_type")), Status: q.Get("status"), Cursor: q.Get("cursor"), Limit: 25}
	v := ordersView{Query: query, Statuses: statuses}
	if c.d.Mappings != nil {
		v.Partners = c.d.Mappings.Names()
	}
	if c.d.Orders == nil {
		v.Error = "order search is not set up in this gateway"
		c.render(w, r, s, http.StatusOK, "orders", v)
		return
	}
	page, err := c.d.Orders.Search(r.Context(), query)
	if err != nil {
		v.Error = c.explain(r.Context(), err)
		c.render(w, r, s, http.StatusOK, "orders", v)
		return
	}
	if query.Ref != "" && len(page.Orders) == 1 && query.Cursor == "" && q.Get("list") == "" {
		http.Redirect(w, r, "/console/orders/"+url.PathEscape(page.Orders[0].ID), http.StatusSeeOther)
		return
	}
	v.Orders, v.Next = page.Orders, page.Next
	if page.Next != "" {
		nq := url.Values{}
		for _, k := range []string{"ref", "partner", "company", "service_type", "status"} {
			if q.Get(k) != "" {
				nq.Set(k, q.Get(k))
			}
		}
		nq.Set("cursor", page.Next)
		nq.Set("list", "1")
		v.NextURL = "/console/orders?" + nq.Encode()
	}
	c.render(w, r, s, http.StatusOK, "orders", v)
}

type fieldRow struct {
	Name       string
	Value      any
	Owner      model.Owner
	LastWriter string
	UpdatedAt  time.Time
}

type orderView struct {
	Order      *model.Order
	Fields     []fieldRow
	Events     []*model.Event
	Deliveries []*dispatch.Delivery
	Vendors    []string
	Error      string
}

func (c *Console) order(w http.ResponseWriter, r *http.Request, s *session) {
	if c.d.Orders == nil {
		c.fail(w, r, s, http.StatusNotFound, "Orders are not set up in this gateway.")
		return
	}
	id := r.PathValue("id")
	o, err := c.d.Orders.GetOrder(r.Context(), id)
	if errors.Is(err, model.ErrNotFound) {
		c.fail(w, r, s, http.StatusNotFound, fmt.Sprintf("There is no order %q.", id))
		return
	}
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, c.explain(r.Context(), err))
		return
	}
	v := orderView{Order: o}
	for _, name := range sortedKeys(o.Fields) {
		f := o.Fields[name]
		v.Fields = append(v.Fields, fieldRow{Name: name, Value: f.Value, Owner: f.Owner, LastWriter: f.LastWriter, UpdatedAt: f.UpdatedAt})
	}
	var errs []string
	if v.Events, err = c.d.Orders.Events(r.Context(), id); err != nil {
		errs = append(errs, "events: "+c.explain(r.Context(), err))
	}
	if c.d.Dispatch != nil {
		v.Vendors = c.d.Dispatch.Vendors()
		if v.Deliveries, err = c.d.Dispatch.Deliveries(r.Context(), id); err != nil {
			errs = append(errs, "deliveries: "+c.explain(r.Context(), err))
		}
	}
	v.Error = strings.Join(errs, "; ")
	c.render(w, r, s, http.StatusOK, "order", v)
}

func (c *Console) send(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	to := "/console/orders/" + url.PathEscape(id)
	if c.d.Dispatch == nil {
		c.back(w, r, s, to, "Sending is not set up in this gateway.")
		return
	}
	res, err := c.d.Dispatch.Send(r.Context(), id, dispatch.SendOptions{Vendor: r.PostForm.Get("vendor"), Communication: r.PostForm.Get("communication")})
	if err != nil {
		c.back(w, r, s, to, "Not sent: "+c.explain(r.Context(), err))
		return
	}
	msg := fmt.Sprintf("Sent: %d deliveries queued.", len(res.Deliveries))
	if res.Held {
		msg = res.Notice
	}
	c.back(w, r, s, to, msg)
}

// --- vendors --------------------------------------------------------------

type vendorRow struct {
	Name   string
	Status dispatch.VendorStatus
	Queue  dispatch.QueueStats
	Window *dispatch.Window
	Error  string
}

func (c *Console) vendors(w http.ResponseWriter, r *http.Request, s *session) {
	if c.d.Dispatch == nil {
		c.fail(w, r, s, http.StatusNotFound, "Dispatch to vendors is not set up in this gateway.")
		return
	}
	ctx := r.Context()
	status := c.d.Dispatch.Status(ctx)
	var rows []vendorRow
	for _, name := range c.d.Dispatch.Vendors() {
		row := vendorRow{Name: name, Status: status[name]}
		q, err := c.d.Dispatch.QueueStats(ctx, name)
		if err != nil {
			row.Error = c.explain(ctx, err)
		}
		row.Queue = q
		if w, err := c.d.Dispatch.GetWindow(ctx, name); err == nil {
			row.Window = w
		}
		rows = append(rows, row)
	}
	c.render(w, r, s, http.StatusOK, "vendors", rows)
}

// parseWhen reads a time an operator typed: a duration from now ("45m",
// "2h30m", "10s"), an RFC 3339 time, or a date-time without zone (UTC), as a
// datetime-local input sends it.
func parseWhen(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, errors.New("must be a positive duration")
		}
		return now.Add(d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("must be a duration from now such as 45m or 2h30m, or a UTC date-time such as 2026-12-02T15:00")
}

func (c *Console) putWindow(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("vendor")
	now := c.d.Now()
	start, err := parseWhen(r.PostForm.Get("start"), now)
	if err != nil {
		c.back(w, r, s, "/console/vendors", "Window not set: start "+err.Error())
		return
	}
	end, err := parseWhen(r.PostForm.Get("end"), now)
	if err == nil && end.IsZero() {
		err = errors.New("is required")
	}
	if err != nil {
		c.back(w, r, s, "/console/vendors", "Window not set: end "+err.Error())
		return
	}
	win, err := c.d.Dispatch.PutWindow(r.Context(), name, start, end)
	if err != nil {
		c.back(w, r, s, "/console/vendors", "Window not set: "+c.explain(r.Context(), err))
		return
	}
	c.record(r, s, "set", "offline-window", name, nil, win)
	c.back(w, r, s, "/console/vendors", fmt.Sprintf("Offline window of %s set: %s to %s.", name, win.Start.Format(time.RFC3339), win.End.Format(time.RFC3339)))
}

func (c *Console) shortenWindow(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("vendor")
	cur, err := c.d.Dispatch.GetWindow(r.Context(), name)
	if err != nil {
		c.back(w, r, s, "/console/vendors", "Window not shortened: "+c.explain(r.Context(), err))
		return
	}
	end, err := parseWhen(r.PostForm.Get("end"), c.d.Now())
	if err == nil && end.IsZero() {
		err = errors.New("is required")
	}
	if err == nil && !end.Before(cur.End) {
		err = fmt.Errorf("must be before the current end %s", cur.End.Format(time.RFC3339))
	}
	if err != nil {
		c.back(w, r, s, "/console/vendors", "Window not shortened: new end "+err.Error())
		return
	}
	win, err := c.d.Dispatch.PutWindow(r.Context(), name, cur.Start, end)
	if err == nil {
		c.record(r, s, "shorten", "offline-window", name, cur, win)
	}
	if err != nil {
		c.back(w, r, s, "/console/vendors", "Window not shortened: "+c.explain(r.Context(), err))
		return
	}
	c.back(w, r, s, "/console/vendors", fmt.Sprintf("Offline window of %s now ends %s; held deliveries go out then.", name, win.End.Format(time.RFC3339)))
}

func (c *Console) cancelWindow(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("vendor")
	if err := c.d.Dispatch.DeleteWindow(r.Context(), name); err != nil {
		c.back(w, r, s, "/console/vendors", "Window not cancelled: "+c.explain(r.Context(), err))
		return
	}
	c.record(r, s, "cancel", "offline-window", name, nil, nil)
	c.back(w, r, s, "/console/vendors", "Offline window of "+name+" cancelled; held deliveries are going out now.")
}

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

// --- mappings -------------------------------------------------------------

type mappingRow struct {
	Partner string
	Status  mappings.PartnerStatus
}

func (c *Console) mappingsPage(w http.ResponseWriter, r *http.Request, s *session) {
	if c.d.Mappings == nil {
		c.fail(w, r, s, http.StatusNotFound, "Mappings are not set up in this gateway.")
		return
	}
	st := c.d.Mappings.Status()
	var rows []mappingRow
	for _, p := range sortedKeys(st) {
		rows = append(rows, mappingRow{Partner: p, Status: st[p]})
	}
	c.render(w, r, s, http.StatusOK, "mappings", rows)
}

type playgroundView struct {
	Partners []string
	Partner  string
	Payload  string
	Result   string
	Error    string
	Version  string
}

// playground translates a pasted payload with the partner's live mapping, as
// `gatewayd mappings translate --explain` does; nothing is committed.
func (c *Console) playground(w http.ResponseWriter, r *http.Request, s *session) {
	if c.d.Mappings == nil {
		c.fail(w, r, s, http.StatusNotFound, "Mappings are not set up in this gateway.")
		return
	}
	v := playgroundView{Partners: c.d.Mappings.Names(), Partner: r.URL.Query().Get("partner")}
	status := http.StatusOK
	if r.Method == http.MethodPost {
		v.Partner, v.Payload = r.PostForm.Get("partner"), r.PostForm.Get("payload")
		m := c.d.Mappings.Get(v.Partner)
		switch {
		case m == nil:
			v.Error, status = fmt.Sprintf("No mapping is running for partner %q.", v.Partner), http.StatusUnprocessableEntity
		case strings.TrimSpace(v.Payload) == "":
			v.Error, status = "Paste a payload to translate.", http.StatusUnprocessableEntity
		default:
			v.Version = m.Version()
			out, err := mappings.TranslateExplained(m, []byte(v.Payload))
			if err != nil {
				// The author asked for the mapping's verdict: its own message
				// (rule and line included) is the answer, as in the CLI.
				v.Error, status = err.Error(), http.StatusUnprocessableEntity
			} else {
				v.Result = string(out)
			}
		}
	}
	c.render(w, r, s, status, "playground", v)
}

// --- integrations and keys -------------------------------------------------

type integrationsView struct {
	Vendors []integrationRow
	Groups  []groupRow
}

type groupRow struct {
	Name  string
	Group configs.GroupConfig
}

type integrationRow struct {
	Name      string
	Vendor    configs.VendorConfig
	Endpoint  string
	Available *dispatch.VendorStatus
}

func (c *Console) integrations(w http.ResponseWriter, r *http.Request, s *session) {
	var v integrationsView
	if c.d.Integrations != nil {
		gs := c.d.Integrations.Groups()
		for _, name := range sortedKeys(gs) {
			v.Groups = append(v.Groups, groupRow{Name: name, Group: gs[name]})
		}
		vs := c.d.Integrations.Vendors()
		var st map[string]dispatch.VendorStatus
		if c.d.Dispatch != nil {
			st = c.d.Dispatch.Status(r.Context())
		}
		for _, name := range sortedKeys(vs) {
			row := integrationRow{Name: name, Vendor: vs[name], Endpoint: redactURL(vs[name].Endpoint)}
			if x, ok := st[name]; ok {
				row.Available = &x
			}
			v.Vendors = append(v.Vendors, row)
		}
	}
	c.render(w, r, s, http.StatusOK, "integrations", v)
}

// redactURL keeps scheme, host and path of an endpoint: credentials and query
// strings may carry secrets.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		if raw == "" {
			return ""
		}
		return "(set)"
	}
	return u.Scheme + "://" + u.Host + u.Path
}

// record logs a change made through the console and appends it to the
// audit trail /v1 writes, under the session's principal.
func (c *Console) record(r *http.Request, s *session, action, kind, key string, before, after any) {
	who := s.Principal.Who()
	c.log.InfoContext(r.Context(), "console: change", "action", action, "kind", kind, "id", key, "by", who)
	if c.d.Audit == nil {
		return
	}
	if err := c.d.Audit.Append(r.Context(), who+" via console", action, kind, key, before, after); err != nil {
		c.log.ErrorContext(r.Context(), "audit record lost", "kind", kind, "id", key, "action", action, "err", err)
	}
}

type keysView struct {
	Me    *access.Principal
	Keys  []*access.Key
	Error string
	// Created and Token show a new key's token, once.
	Created *access.Key
	Token   string
	Form    access.NewKey
}

func (c *Console) apiKeys(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderKeys(w, r, s, http.StatusOK, keysView{})
}

func (c *Console) renderKeys(w http.ResponseWriter, r *http.Request, s *session, status int, v keysView) {
	v.Me = s.Principal
	if c.d.Keys != nil {
		ks, err := c.d.Keys.List(r.Context())
		if err != nil {
			v.Error = c.explain(r.Context(), err)
		}
		slices.SortFunc(ks, func(a, b *access.Key) int { return b.CreatedAt.Compare(a.CreatedAt) })
		v.Keys = ks
	} else if v.Error == "" {
		v.Error = "API keys are not set up in this gateway."
	}
	c.render(w, r, s, status, "api_keys", v)
}

// createKey creates an API key and shows its token on this answer only (it
// is never stored in the session or shown again).
func (c *Console) createKey(w http.ResponseWriter, r *http.Request, s *session) {
	n := access.NewKey{Name: strings.TrimSpace(r.PostForm.Get("name")), Partner: strings.TrimSpace(r.PostForm.Get("partner")),
		Vendor: strings.TrimSpace(r.PostForm.Get("vendor"))}
	for _, sc := range r.PostForm["scope"] {
		n.Scopes = append(n.Scopes, access.Scope(sc))
	}
	if c.d.Keys == nil {
		c.renderKeys(w, r, s, http.StatusServiceUnavailable, keysView{Form: n})
		return
	}
	k, tok, err := c.d.Keys.Create(r.Context(), n, s.Principal.Who())
	if err != nil {
		var fe *access.FieldError
		msg := c.explain(r.Context(), err)
		if errors.As(err, &fe) {
			msg = fe.Field + " " + fe.Rule
		}
		c.renderKeys(w, r, s, http.StatusUnprocessableEntity, keysView{Form: n, Error: "Key not created: " + msg})
		return
	}
	c.record(r, s, "create", "api-key", k.ID, nil, k)
	c.renderKeys(w, r, s, http.StatusCreated, keysView{Created: k, Token: tok})
}

func (c *Console) revokeKey(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("key")
	if c.d.Keys == nil {
		c.back(w, r, s, "/console/api-keys", "API keys are not set up in this gateway.")
		return
	}
	before, err := c.d.Keys.Get(r.Context(), id)
	if err == nil {
		err = c.d.Keys.Revoke(r.Context(), id)
	}
	if errors.Is(err, access.ErrNotFound) {
		c.back(w, r, s, "/console/api-keys", "Not revoked: there is no key "+id+".")
		return
	}
	if err != nil {
		c.back(w, r, s, "/console/api-keys", "Not revoked: "+c.explain(r.Context(), err))
		return
	}
	c.record(r, s, "revoke", "api-key", id, before, nil)
	c.back(w, r, s, "/console/api-keys", "Key "+before.Name+" ("+id+") revoked; it stops working at once.")
}
