package gateway

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/orderindex"
)

// GET /v1/orders: find orders by partner, company, service type, status, any
// reference and last update, most recently updated first, a cursor per page
// (docs/search.md). A key bound to a partner or vendor finds only that
// partner's orders.

func (g *Gateway) mountSearch(v1 *gin.RouterGroup) {
	v1.GET("/orders", g.searchOrders)
}

// orderPage is the answer of GET /v1/orders.
type orderPage struct {
	Orders []*model.Order `json:"orders"`
	// Next is the cursor of the next page; absent at the end.
	Next string `json:"next,omitempty"`
}

func (g *Gateway) searchOrders(c *gin.Context) {
	if g.d.Index == nil {
		WriteProblem(c, Problem{Status: http.StatusServiceUnavailable, Detail: "orders are not indexed in this gateway"})
		return
	}
	limit, ok := intQuery(c, "limit", 50)
	if !ok {
		return
	}
	if limit < 1 || limit > 500 {
		WriteError(c, &model.ValidationError{Field: "limit", Rule: "must be between 1 and 500"})
		return
	}
	f := orderindex.Filter{Partner: c.Query("partner"), Company: c.Query("company"), ServiceType: c.Query("service_type"),
		Status: c.Query("status"), Ref: c.Query("ref")}
	if f.Status != "" && !model.Status(f.Status).Valid() {
		WriteError(c, &model.ValidationError{Field: "status", Rule: "must be a canonical status such as new or accepted"})
		return
	}
	if s := c.Query("updated_since"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			WriteError(c, &model.ValidationError{Field: "updated_since", Rule: "must be an RFC 3339 time such as 2026-12-01T00:00:00Z"})
			return
		}
		f.UpdatedSince = t
	}
	if p := PrincipalOf(c); p.Bound() {
		own := p.Partner
		if own == "" {
			own = p.Vendor
		}
		if f.Partner != "" && f.Partner != own {
			WriteProblem(c, Problem{Status: http.StatusForbidden, Title: "Forbidden",
				Detail: "a key bound to " + binding(p) + " finds orders of " + own + " only",
				Errors: []FieldProblem{{Field: "partner", Rule: "must be " + own}}})
			return
		}
		f.Partner = own
	}
	page, err := g.d.Index.Query(c.Request.Context(), f, c.Query("cursor"), limit)
	if errors.Is(err, orderindex.ErrCursor) {
		WriteError(c, &model.ValidationError{Field: "cursor", Rule: "must be the next value of a previous page"})
		return
	}
	if err != nil {
		WriteError(c, err)
		return
	}
	out := orderPage{Orders: make([]*model.Order, 0, len(page.IDs)), Next: page.Next}
	for _, id := range page.IDs {
		o, err := g.d.Store.GetOrder(c.Request.Context(), id)
		if errors.Is(err, model.ErrNotFound) {
			continue
		}
		if err != nil {
			WriteError(c, err)
			return
		}
		out.Orders = append(out.Orders, o)
	}
	c.JSON(http.StatusOK, out)
}
