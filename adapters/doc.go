// Package adapters holds the outbound transports of the gateway: HTTP JSON
// (with Standard Webhooks signatures), SOAP and SMTP email. Each implements
// Adapter, sends one rendered message once, and classifies the outcome so the
// dispatch layer can ack, retry, disable the endpoint or bury the delivery. A
// Registry builds a vendor's adapters by transport name from its config.
package adapters
