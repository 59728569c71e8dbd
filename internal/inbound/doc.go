// Package inbound is the one path every partner message takes into the
// gateway, whatever protocol carried it: the REST partner routes, the SOAP
// service and the mail intake each decode their message and call
// Service.Receive, which translates it with the partner's live mapping,
// gives each item its idempotency key (see Key), commits each item to the
// model.Sink and returns the per-item outcomes for the protocol to answer
// in its own shape.
package inbound
