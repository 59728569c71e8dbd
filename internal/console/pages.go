package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/equus/sogateway/internal/dispatch"
	"github.com/equus/sogateway/internal/model"
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
