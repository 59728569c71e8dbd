// Package partners serves the REST partner routes that the mappings
// declare: each request is bounded and checked, authenticated over the exact
// bytes received, handed to the one inbound path (internal/inbound) and
// answered in the partner's own style. Each answer style is one file behind
// the responder interface: batch (Pruvan), status (Extend) and signed-ack
// (EMG).
package partners
