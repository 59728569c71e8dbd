package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/equus/sogateway/internal/dispatch"
	"github.com/equus/sogateway/internal/model"
)

// RegisterDispatch mounts the dispatch API: on v1 (the /v1 group) Save and
// Send, delivery records, offline windows, replay and dead letters; on
// partners (the /partners group) the vendor-authenticated pull routes.
//
// record, when given, writes each change of an offline window to the audit
// trail (Gateway.Recorder); without it nothing is recorded.
func RegisterDispatch(v1 *gin.RouterGroup, partners *gin.RouterGroup, d *dispatch.Service, record ...Recorder) {
	h := dispatchHandlers{d: d}
	if len(record) > 0 {
		h.record = record[0]
	}
	v1.POST("/orders/:id/send", h.send)
	v1.GET("/orders/:id/deliveries", h.deliveries)
	v1.PUT("/vendors/:vendor/offline-window", h.putWindow)
	v1.GET("/vendors/:vendor/offline-window", h.getWindow)
	v1.DELETE("/vendors/:vendor/offline-window", h.deleteWindow)
	v1.POST("/deliveries/:id/replay", h.replay)
	v1.GET("/deliveries", h.listDeliveries)
	v1.GET("/vendors/:vendor/dead-letters", h.deadLetters)
	v1.POST("/vendors/:vendor/dead-letters/replay", h.replayDead)
	partners.GET("/:vendor/orders", h.vendorAuth, h.pull)
	partners.POST("/:vendor/orders/ack", h.vendorAuth, h.ackPull)
}

type dispatchHandlers struct {
	d      *dispatch.Service
	record Recorder
}

// Recorder writes one change made by the request's principal to the audit
// trail: action (create, update, delete), the kind and key of what changed,
// and its state before and after (nil when there was none).
type Recorder func(c *gin.Context, action, kind, key string, before, after any)

// audit records a change when a Recorder is set.
func (h dispatchHandlers) audit(c *gin.Context, action, kind, key string, before, after any) {
	if h.record != nil {
		h.record(c, action, kind, key, before, after)
	}
}

// windowETag is the strong validator of a vendor's window ("none" when there is
// none): a PUT or DELETE carrying If-Match with another value answers 412, so
// two operators shortening one window never overwrite each other unseen.
func windowETag(w *dispatch.Window) string {
	if w == nil {
		return `"none"`
	}
	return fmt.Sprintf(`"w-%d-%d"`, w.Start.UnixMilli(), w.End.UnixMilli())
}

// windowPrecondition loads the current window and checks If-Match against it;
// it answers (and returns false) on a mismatch.
func (h dispatchHandlers) windowPrecondition(c *gin.Context) (*dispatch.Window, bool) {
	cur, err := h.d.GetWindow(c.Request.Context(), c.Param("vendor"))
	if err != nil && !errors.Is(err, model.ErrNotFound) {
		WriteError(c, err)
		return nil, false
	}
	if err != nil {
		cur = nil
	}
	if im := c.GetHeader("If-Match"); im != "" && im != "*" && im != windowETag(cur) {
		WriteProblem(c, Problem{Status: http.StatusPreconditionFailed, Title: "Precondition Failed",
			Detail: "the window changed since you read it (ETag " + windowETag(cur) + "); read it again and retry"})
		return nil, false
	}
	return cur, true
}

// sendRequest is the optional body of POST /v1/orders/{id}/send.
type sendRequest struct {
	// Vendor receives the order; default the order's partner.
	Vendor string `json:"vendor"`
	// Communication is data (default) or email (an email in addition to the data).
	Communication string `json:"communication"`
}

// sendResponse is the answer to Save and Send.
type sendResponse struct {
	*dispatch.SendResult
	// Remaining is the time left in the vendor's maintenance ("2h 10m") when held.
	Remaining string `json:"remaining,omitempty"`
}

func (h dispatchHandlers) send(c *gin.Context) {
	var req sendRequest
	if c.Request.ContentLength != 0 && c.ContentType() != "" {
		if !readJSON(c, &req) {
			return
		}
	}
	res, err := h.d.Send(c.Request.Context(), c.Param("id"), dispatch.SendOptions{Vendor: req.Vendor, Communication: req.Communication})
	if err != nil {
		WriteError(c, err)
		return
	}
	out := sendResponse{SendResult: res}
	if res.Held {
		out.Remaining = dispatch.FormatRemaining(res.Remaining)
	}
	c.JSON(http.StatusAccepted, out)
}

func (h dispatchHandlers) deliveries(c *gin.Context) {
	ds, err := h.d.Deliveries(c.Request.Context(), c.Param("id"))
	if err != nil {
		WriteError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"order_id": c.Param("id"), "deliveries": ds})
}

// windowRequest is the body of PUT /v1/vendors/{vendor}/offline-window.
type windowRequest struct {
	// Start is when the vendor goes offline (RFC 3339); default now.
	Start *time.Time `json:"start"`
	// End is when it is back (RFC 3339); required.
	End *time.Time `json:"end"`
}

func (h dispatchHandlers) putWindow(c *gin.Context) {
	var req windowRequest
	if !readJSON(c, &req) {
		return
	}
	if req.End == nil {
		WriteError(c, &model.ValidationError{Field: "end", Rule: "is required (RFC 3339 time)"})
		return
	}
	var start time.Time
	if req.Start != nil {
		start = *req.Start
	}
	before, ok := h.windowPrecondition(c)
	if !ok {
		return
	}
	w, err := h.d.PutWindow(c.Request.Context(), c.Param("vendor"), start, *req.End)
	if err != nil {
		WriteError(c, err)
		return
	}
	if before == nil {
		h.audit(c, "create", "offline-window", c.Param("vendor"), nil, w)
	} else {
		h.audit(c, "update", "offline-window", c.Param("vendor"), before, w)
	}
	c.Header("ETag", windowETag(w))
	c.JSON(http.StatusOK, w)
}

func (h dispatchHandlers) getWindow(c *gin.Context) {
	w, err := h.d.GetWindow(c.Request.Context(), c.Param("vendor"))
	if err != nil {
		WriteError(c, err)
		return
	}
	c.Header("ETag", windowETag(w))
	c.JSON(http.StatusOK, w)
}

func (h dispatchHandlers) deleteWindow(c *gin.Context) {
	before, ok := h.windowPrecondition(c)
	if !ok {
		return
	}
	if err := h.d.DeleteWindow(c.Request.Context(), c.Param("vendor")); err != nil {
		WriteError(c, err)
		return
	}
	if before != nil {
		h.audit(c, "delete", "offline-window", c.Param("vendor"), before, nil)
	} else {
		h.audit(c, "delete", "offline-window", c.Param("vendor"), nil, nil)
	}
	c.Status(http.StatusNoContent)
}

func (h dispatchHandlers) replay(c *gin.Context) {
	d, err := h.d.Replay(c.Request.Context(), c.Param("id"))
	if err != nil {
		WriteError(c, err)
		return
	}
	c.JSON(http.StatusAccepted, d)
}

func (h dispatchHandlers) deadLetters(c *gin.Context) {
	offset, ok := intQuery(c, "offset", 0)
	if !ok {
		return
	}
	limit, ok := intQuery(c, "limit", 100)
	if !ok {
		return
	}
	ds, err := h.d.DeadLetters(c.Request.Context(), c.Param("vendor"), offset, limit)
	if err != nil {
		WriteError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"vendor": c.Param("vendor"), "dead_letters": ds, "offset": offset, "limit": limit})
}

// listDeliveries answers GET /v1/deliveries?vendor=&status=&cursor=&limit=:
// one vendor's deliveries, newest first. A key bound to a partner or vendor
// lists only the deliveries to its own name (and may leave vendor out).
func (h dispatchHandlers) listDeliveries(c *gin.Context) {
	vendor := c.Query("vendor")
	if p := PrincipalOf(c); p.Bound() {
		own := p.Vendor
		if own == "" {
			own = p.Partner
		}
		if vendor == "" {
			vendor = own
		}
		if vendor != own {
			WriteProblem(c, Problem{Status: http.StatusForbidden, Title: "Forbidden",
				Detail: "a key bound to " + binding(p) + " cannot reach vendor " + vendor})
			return
		}
	}
	if vendor == "" {
		WriteError(c, &model.ValidationError{Field: "vendor", Rule: "is required (the vendor whose deliveries to list)"})
		return
	}
	limit, ok := intQuery(c, "limit", 100)
	if !ok {
		return
	}
	page, err := h.d.ListDeliveries(c.Request.Context(), vendor, c.Query("status"), c.Query("cursor"), limit)
	if err != nil {
		WriteError(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}

func (h dispatchHandlers) replayDead(c *gin.Context) {
	n, err := h.d.ReplayDead(c.Request.Context(), c.Param("vendor"))
	if err != nil {
		WriteError(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"vendor": c.Param("vendor"), "replayed": n})
}

// vendorAuth checks the vendor's pull API key (its configured header, or
// Authorization: Bearer) in constant time. Unknown vendors, vendors without
// pull and wrong keys all get the same 401.
func (h dispatchHandlers) vendorAuth(c *gin.Context) {
	want, header, ok := h.d.PullKey(c.Param("vendor"))
	got := ""
	if ok {
		got = c.GetHeader(header)
	}
	if got == "" {
		if b, found := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer "); found {
			got = b
		}
	}
	// Compare digests so neither the length nor the content leaks through timing.
	gw, ww := sha256.Sum256([]byte(got)), sha256.Sum256(want)
	if !ok || got == "" || subtle.ConstantTimeCompare(gw[:], ww[:]) != 1 {
		c.Header("WWW-Authenticate", `Bearer realm="vendor pull"`)
		WriteProblem(c, Problem{Status: http.StatusUnauthorized, Detail: "a valid vendor API key is required"})
		return
	}
	c.Next()
}

func (h dispatchHandlers) pull(c *gin.Context) {
	limit, ok := intQuery(c, "limit", 0)
	if !ok {
		return
	}
	page, err := h.d.Pull(c.Request.Context(), c.Param("vendor"), c.Query("cursor"), limit)
	if err != nil {
		WriteError(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}

// ackRequest is the body of POST /partners/{vendor}/orders/ack.
type ackRequest struct {
	Cursor string `json:"cursor"`
}

func (h dispatchHandlers) ackPull(c *gin.Context) {
	var req ackRequest
	if c.Request.ContentLength != 0 && c.ContentType() != "" {
		if !readJSON(c, &req) {
			return
		}
	}
	if req.Cursor == "" {
		req.Cursor = c.Query("cursor")
	}
	if req.Cursor == "" {
		WriteError(c, &model.ValidationError{Field: "cursor", Rule: "is required (the cursor of the pull being acknowledged)"})
		return
	}
	cur, err := h.d.AckPull(c.Request.Context(), c.Param("vendor"), req.Cursor)
	if err != nil {
		WriteError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"vendor": c.Param("vendor"), "cursor": cur})
}

// intQuery reads a non-negative integer query parameter, answering 400 itself
// when it is malformed.
func intQuery(c *gin.Context, name string, def int) (int, bool) {
	s := c.Query(name)
	if s == "" {
		return def, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		WriteError(c, &model.ValidationError{Field: name, Rule: fmt.Sprintf("must be a non-negative integer, got %q", s)})
		return 0, false
	}
	return n, true
}

// DispatchOpenAPIPaths describes the routes RegisterDispatch mounts, for
// Gateway.AddOpenAPIPaths.
func DispatchOpenAPIPaths() map[string]any {
	vendorParam := []any{map[string]any{"name": "vendor", "in": "path", "required": true, "schema": map[string]any{"type": "string"}}}
	vendorKey := []any{map[string]any{"vendorApiKey": []any{}}}
	pull := op("New and changed orders the vendor's permission set allows, rendered by its mapping, after cursor (default: the last acknowledged one)", "200", "401", "422")
	pull["parameters"] = append(append([]any{}, vendorParam...),
		map[string]any{"name": "cursor", "in": "query", "schema": map[string]any{"type": "string"}},
		map[string]any{"name": "limit", "in": "query", "schema": map[string]any{"type": "integer", "minimum": 0}})
	pull["security"] = vendorKey
	ack := op("Acknowledge a pull cursor; the next pull without cursor starts there", "200", "401", "422")
	ack["security"] = vendorKey
	return map[string]any{
		"/v1/orders/{id}/send": map[string]any{"parameters": idParam,
			"post": op(`Save and Send: checks the vendor's permission set, its active order.submitted definition and required fields, records order.submitted and queues the deliveries; body {"vendor","communication":"data|email"} is optional. While the vendor is offline the answer carries held, notice and remaining.`,
				"202", "404", "409", "422")},
		"/v1/orders/{id}/deliveries": map[string]any{"parameters": idParam,
			"get": op("The order's deliveries: id, event, transport, status Sending|Success|Failure, attempts, last_error, next_attempt_at, held_until", "200", "404")},
		"/v1/vendors/{vendor}/offline-window": map[string]any{"parameters": vendorParam,
			"put":    op(`Declare or move the vendor's offline window {"start","end"} (RFC 3339; start defaults to now); shortening releases at the new end`, "200", "404", "422"),
			"get":    op("The open or coming offline window with the time remaining", "200", "404"),
			"delete": op("Cancel the window: held deliveries are released now", "204", "404")},
		"/v1/deliveries": map[string]any{
			"get": op("One vendor's deliveries, newest first, with their status Sending|Success|Failure and attempts. Query: vendor (required unless the key is bound), status (Sending, Success or Failure), limit (1..1000, default 100), cursor (the previous page's next_cursor). A page may hold fewer than limit deliveries when the status filter skipped many: follow next_cursor until it is absent.", "200", "403", "404", "422")},
		"/v1/deliveries/{id}/replay": map[string]any{"parameters": idParam,
			"post": op("Replay one failed delivery (same id, fresh attempts); re-enables a vendor disabled by 410", "202", "404", "409")},
		"/v1/vendors/{vendor}/dead-letters": map[string]any{"parameters": vendorParam,
			"get": op("The vendor's failed deliveries, most recent first (offset, limit)", "200", "404", "422")},
		"/v1/vendors/{vendor}/dead-letters/replay": map[string]any{"parameters": vendorParam,
			"post": op("Replay every dead letter of the vendor, oldest first", "202", "404")},
		"/partners/{vendor}/orders":     map[string]any{"get": pull},
		"/partners/{vendor}/orders/ack": map[string]any{"parameters": vendorParam, "post": ack},
	}
}
