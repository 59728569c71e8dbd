package gateway

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/equus/sogateway/internal/dispatch"
	"github.com/equus/sogateway/internal/intake"
	"github.com/equus/sogateway/internal/model"
)

// RegisterIntegration mounts the platform routes of the outbound half of an
// integration on v1 (the /v1 group): the resolution rejection (SSP7
// "Resolution Rejection" / Out) and the Save and Send preview.
func RegisterIntegration(v1 *gin.RouterGroup, in *intake.Service, d *dispatch.Service) {
	h := integrationHandlers{in: in, d: d}
	v1.POST("/orders/:id/resolution-rejection", h.rejectResolution)
	v1.GET("/orders/:id/send-preview", h.sendPreview)
}

type integrationHandlers struct {
	in *intake.Service
	d  *dispatch.Service
}

// rejectionRequest is the body of POST /v1/orders/{id}/resolution-rejection.
type rejectionRequest struct {
	// Reason says why the solution is declined; required.
	Reason string `json:"reason"`
}

func (h integrationHandlers) rejectResolution(c *gin.Context) {
	var req rejectionRequest
	if !readJSON(c, &req) {
		return
	}
	req.Reason = strings.TrimSpace(req.Reason)
	if req.Reason == "" {
		WriteError(c, &model.ValidationError{Field: "reason", Rule: "is required (why the solution is declined)"})
		return
	}
	if len(req.Reason) > 4000 {
		WriteError(c, &model.ValidationError{Field: "reason", Rule: "must be at most 4000 bytes"})
		return
	}
	o, ev, err := h.in.RejectResolution(c.Request.Context(), c.Param("id"), req.Reason)
	if err != nil {
		WriteError(c, err)
		return
	}
	ds, _ := h.d.Deliveries(c.Request.Context(), o.ID)
	var sent []*dispatch.Delivery
	for _, d := range ds {
		if d.EventID == ev.ID {
			sent = append(sent, d)
		}
	}
	c.Header("ETag", etag(o.Version))
	c.JSON(http.StatusOK, gin.H{"order": o, "event": ev, "deliveries": sent})
}

func (h integrationHandlers) sendPreview(c *gin.Context) {
	p, err := h.d.Preview(c.Request.Context(), c.Param("id"), c.Query("vendor"))
	if err != nil {
		WriteError(c, err)
		return
	}
	c.JSON(http.StatusOK, p)
}

// IntegrationOpenAPIPaths describes the routes RegisterIntegration mounts.
func IntegrationOpenAPIPaths() map[string]any {
	return map[string]any{
		"/v1/orders/{id}/resolution-rejection": map[string]any{"parameters": idParam,
			"post": op(`Decline the solution of a resolved order {"reason"}: the order goes back to in_progress, order.resolution_rejected is recorded and sent to the vendors with a definition for it (SSP7 Resolution Rejection / Out)`,
				"200", "404", "409", "422")},
		"/v1/orders/{id}/send-preview": map[string]any{"parameters": idParam,
			"get": op("What Save and Send would do, per vendor (?vendor= for one): would_send, reason, the send notice, missing required fields, and the maintenance notice with its time while the vendor is offline",
				"200", "404")},
	}
}
