package inbound

import "context"

// Receiver is the one inbound path as the protocols see it: the REST
// partner routes, the SOAP service and the mail intake each hold one and
// hand it every decoded message. Receive translates msg with the partner's
// live mapping, commits each item and returns the per-item outcomes (see
// Service.Receive for the errors).
type Receiver interface {
	Receive(ctx context.Context, msg Message) ([]Result, error)
}

var _ Receiver = (*Service)(nil)
