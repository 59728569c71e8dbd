package partners

import (
	"net/http"
	"strconv"

	"github.com/equus/sogateway/internal/inbound"
)

// The answer styles of partner routes. A partner's style is chosen by
// Options.Responders, else by its mapping's "responder" setting, else
// inferred from the mapping (a signature field and a signing key: signed-ack;
// a split batch: batch; otherwise status).
const (
	// ResponderBatch answers {"response":{"created":N,"updated":N,"deleted":N},"error":null|[…]}
	// (Pruvan), using the mapping's "response" render when it declares one.
	ResponderBatch = "batch"
	// ResponderStatus answers with the HTTP status of the outcome: 200/201 and a
	// small JSON document, or an RFC 9457 problem naming the field (Extend).
	ResponderStatus = "status"
	// ResponderSignedAck answers with a signed Ack envelope {"Task":{…,"Verb":"Ack"},"Signature":…} (EMG).
	ResponderSignedAck = "signed-ack"
)

// responder answers a partner in its own style; each style is one file
// (batch.go, status.go, signedack.go).
type responder interface {
	// setup reads what the style needs besides authentication (signed-ack:
	// the signing key and the partner's Source) into st. It returns why the
	// partner must be disabled, or "".
	setup(ps *Set, p *partner, st *state) string
	// check inspects an authenticated message before it is translated
	// (signed-ack: the strict envelope); nil lets it through.
	check(k *call) *partnerError
	// fail answers a request-level failure: nothing was committed.
	fail(k *call, pe *partnerError)
	// answer answers the per-item outcomes of a translated message.
	answer(k *call, results []inbound.Result)
	// codes lists the HTTP statuses the style answers with (OpenAPI).
	codes() []int
}

// responders maps each style's name to its responder.
var responders = map[string]responder{
	ResponderBatch:     batchResponder{},
	ResponderStatus:    statusResponder{},
	ResponderSignedAck: signedAckResponder{},
}

// noSetup and noCheck are the defaults of styles that need neither.
type noSetup struct{}

func (noSetup) setup(*Set, *partner, *state) string { return "" }
func (noSetup) check(*call) *partnerError           { return nil }

// openAPIResponses describes codes for /openapi.json.
func openAPIResponses(codes []int) map[string]any {
	out := make(map[string]any, len(codes))
	for _, c := range codes {
		out[strconv.Itoa(c)] = map[string]any{"description": http.StatusText(c)}
	}
	return out
}
