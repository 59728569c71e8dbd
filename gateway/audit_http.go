package gateway

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/equus/sogateway/internal/audit"
	"github.com/equus/sogateway/internal/model"
)

// audit records a change made by the request's principal. A failure to
// record is logged, never hidden: the change itself has happened.
func (g *Gateway) audit(c *gin.Context, action, kind, key string, before, after any) {
	if g.d.Audit == nil {
		return
	}
	if err := g.d.Audit.Append(c.Request.Context(), PrincipalOf(c).Who(), action, kind, key, before, after); err != nil {
		g.log.ErrorContext(c.Request.Context(), "audit record lost", "kind", kind, "id", key, "action", action, "err", err)
	}
}

// Recorder returns the function that writes a change to the audit trail as
// the request's principal, for routes mounted outside the gateway (dispatch).
func (g *Gateway) Recorder() Recorder { return g.audit }

// Audit returns the gateway's audit log (nil when none is configured).
func (g *Gateway) Audit() *audit.Log { return g.d.Audit }

func (g *Gateway) mountAudit(v1 *gin.RouterGroup) {
	v1.GET("/audit", g.listAudit)
}

// auditPage is the answer of GET /v1/audit.
type auditPage struct {
	Records []audit.Record `json:"records"`
	// Next is the cursor of the next (older) page; absent at the end.
	Next string `json:"next,omitempty"`
}

func (g *Gateway) listAudit(c *gin.Context) {
	limit, ok := intQuery(c, "limit", 50)
	if !ok {
		return
	}
	if limit < 1 || limit > 500 {
		WriteError(c, &model.ValidationError{Field: "limit", Rule: "must be between 1 and 500"})
		return
	}
	cur := c.Query("cursor")
	if cur != "" && !audit.ValidCursor(cur) {
		WriteError(c, &model.ValidationError{Field: "cursor", Rule: "must be the next value of a previous page"})
		return
	}
	if g.d.Audit == nil {
		c.JSON(http.StatusOK, auditPage{Records: []audit.Record{}})
		return
	}
	recs, next, err := g.d.Audit.List(c.Request.Context(), audit.Query{Kind: c.Query("kind"), Key: c.Query("id"), Before: cur, Limit: limit})
	if err != nil {
		WriteError(c, err)
		return
	}
	if recs == nil {
		recs = []audit.Record{}
	}
	c.JSON(http.StatusOK, auditPage{Records: recs, Next: next})
}
