package partners

import (
	"fmt"
	"net/http"

	"github.com/equus/sogateway/gateway"
	"github.com/equus/sogateway/internal/inbound"

	"github.com/gin-gonic/gin"
)

// statusResponder answers a single message with the outcome's HTTP status:
// 200/201 and a small JSON document, or an RFC 9457 problem naming the
// field (Extend).
type statusResponder struct{ noSetup }

var _ responder = statusResponder{}

func (statusResponder) codes() []int {
	return []int{200, 201, 400, 401, 404, 409, 413, 415, 422, 503}
}

func (statusResponder) fail(k *call, pe *partnerError) {
	p := gateway.Problem{Status: pe.status, Detail: pe.reason}
	if pe.field != "" {
		p.Errors = []gateway.FieldProblem{{Field: pe.field, Rule: pe.reason}}
	}
	gateway.WriteProblem(k.c, p)
}

func (statusResponder) answer(k *call, results []inbound.Result) {
	if len(results) != 1 {
		gateway.WriteProblem(k.c, gateway.Problem{Status: http.StatusBadRequest, Detail: fmt.Sprintf("expected one message, got %d", len(results))})
		return
	}
	r := results[0]
	if r.Err != nil {
		field, rule := fieldOf(r.Err)
		st := statusOf(r.Err, http.StatusUnprocessableEntity)
		p := gateway.Problem{Status: st, Detail: rule}
		if field != "" {
			p.Detail = field + ": " + rule
			p.Errors = []gateway.FieldProblem{{Field: field, Rule: rule}}
		}
		if st == http.StatusServiceUnavailable {
			p.Title = "Temporarily unavailable"
			k.c.Header("Retry-After", "5")
		}
		gateway.WriteProblem(k.c, p)
		return
	}
	code := http.StatusOK
	if r.Outcome.Created {
		// A retry of a create gets the create's answer again.
		code = http.StatusCreated
	}
	body := gin.H{"order_id": r.Outcome.Order.ID, "kind": r.Kind, "duplicate": r.Outcome.Duplicate}
	if r.Outcome.Event != nil {
		body["event_id"] = r.Outcome.Event.ID
		if len(r.Outcome.Event.Warnings) > 0 {
			body["warnings"] = r.Outcome.Event.Warnings
		}
	}
	if len(r.Outcome.Applied.Kept) > 0 {
		body["kept"] = r.Outcome.Applied.Kept
	}
	k.c.JSON(code, body)
}
