package soap

import (
	"context"

	"github.com/equus/sogateway/internal/inbound"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/mappings"
)

// Inbound is the Backend of a partner's SOAP service: each call goes to
// the one inbound path as the JSON document of Call.Document, identified by
// its wsa:MessageID when it carries one (else by a digest of its content;
// see inbound.Key). The result is the gateway's order id, which the client
// may keep as its handle on the task.
type Inbound struct {
	// Partner names the mapping that reads the calls.
	Partner string
	// Receiver translates and commits.
	Receiver inbound.Receiver
	// Settings are the partner's installation settings; nil means the mapping's defaults.
	Settings map[string]string
}

var _ Backend = (*Inbound)(nil)

// Invoke implements Backend.
func (b *Inbound) Invoke(ctx context.Context, call *Call) (string, error) {
	results, err := b.Receiver.Receive(ctx, inbound.Message{Partner: b.Partner,
		Input:     mappings.Input{Protocol: model.ProtocolSOAP, Operation: call.Operation, Body: call.Document(), Settings: b.Settings},
		MessageID: call.MessageID, Raw: call.Raw, Single: true})
	if err != nil {
		return "", err
	}
	if r := results[0]; r.Err != nil {
		return "", r.Err
	}
	return results[0].Outcome.Order.ID, nil
}
