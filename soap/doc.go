// Package soap serves a partner's ASMX-style SOAP service (SSP7's
// WorkflowService.asmx): SOAP 1.1 and 1.2 envelopes, document/literal wrapped
// operations declared by a Contract, a WSDL and help pages generated from that
// contract, HTTP Basic and WS-Security UsernameToken authentication, and SOAP
// faults. Untrusted bodies are bounded in size and depth and parsed token by
// token; DOCTYPE declarations are refused. A Backend does the work of each call.
package soap
