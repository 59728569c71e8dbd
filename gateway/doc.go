// Package gateway holds the gin engine: the platform API under /v1, the partner
// REST routes declared by mappings, the SOAP and operations endpoints, and the
// middleware (request ids, JSON logs, metrics, body limits) and server lifecycle.
package gateway
