package partners

import (
	"encoding/json"
	"net/http"

	"github.com/tidwall/sjson"

	"github.com/equus/sogateway/internal/inbound"
	"github.com/equus/sogateway/internal/model"
)

// batchError is one entry of a batch answer's error list.
type batchError struct {
	WorkOrderNumber *string `json:"workOrderNumber"`
	Reason          string  `json:"reason"`
}

// batchKept reports shared fields whose platform value was kept (Auto-Admin off).
type batchKept struct {
	WorkOrderNumber string   `json:"workOrderNumber"`
	Fields          []string `json:"fields"`
	Reason          string   `json:"reason"`
}

// batchResponder answers {"response":{"created":N,"updated":N,"deleted":N},"error":null|[…]}
// (Pruvan): one count per outcome and one error entry per refused item.
type batchResponder struct{ noSetup }

var _ responder = batchResponder{}

func (batchResponder) codes() []int { return []int{200, 400, 401, 413, 415, 503} }

func (batchResponder) fail(k *call, pe *partnerError) {
	k.batchAnswer(pe.status, 0, 0, 0, []batchError{{Reason: pe.reason}}, nil)
}

func (batchResponder) answer(k *call, results []inbound.Result) {
	var created, updated, deleted int
	var errs []batchError
	var kept []batchKept
	status := http.StatusOK
	for _, r := range results {
		key := r.Key
		if r.Err != nil {
			field, rule := fieldOf(r.Err)
			if !inbound.Permanent(r.Err) {
				status = http.StatusServiceUnavailable
			}
			if field != "" {
				rule = field + ": " + rule
			}
			var wo *string
			if key != "" {
				wo = &key
			}
			errs = append(errs, batchError{WorkOrderNumber: wo, Reason: rule})
			continue
		}
		switch {
		case r.Outcome.Created:
			created++
		case r.Outcome.Order != nil && r.Outcome.Order.Status == model.StatusDeleted:
			deleted++
		default:
			updated++
		}
		if len(r.Outcome.Applied.Kept) > 0 {
			kept = append(kept, batchKept{WorkOrderNumber: key, Fields: r.Outcome.Applied.Kept,
				Reason: "kept the values changed on our side since you last set them: Auto-Admin is off for this integration"})
		}
	}
	k.batchAnswer(status, created, updated, deleted, errs, kept)
}

func (k *call) batchAnswer(status, created, updated, deleted int, errs []batchError, kept []batchKept) {
	var body []byte
	var errV any
	if len(errs) > 0 {
		errV = errs
	}
	m := k.p.m // the version that serves this request
	if m != nil && m.HasRender("response") {
		extra := map[string]any{"created": created, "updated": updated, "deleted": deleted}
		if errV != nil {
			// Render rules read plain JSON values.
			b, _ := json.Marshal(errV)
			var plain any
			_ = json.Unmarshal(b, &plain)
			extra["error"] = plain
		}
		if r, err := m.Render("response", nil, nil, extra); err == nil {
			body = r.Body
		} else {
			k.ps.log.Error("partner response render failed; answering the built-in shape", "partner", k.p.name, "error", err.Error())
		}
	}
	if body == nil {
		body, _ = json.Marshal(map[string]any{
			"response": map[string]int{"created": created, "updated": updated, "deleted": deleted},
			"error":    errV,
		})
	}
	if len(kept) > 0 {
		if b, err := sjson.SetBytes(body, "kept", kept); err == nil {
			body = b
		}
	}
	k.c.Data(status, "application/json; charset=utf-8", body)
}
