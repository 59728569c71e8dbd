package soap

import (
	"bytes"
	"encoding/xml"
	"net/http"
)

// FaultCode is a fault's SOAP 1.1 code; SOAP 1.2 renders Client as Sender and
// Server as Receiver.
type FaultCode string

// The fault codes.
const (
	CodeClient          FaultCode = "Client"
	CodeServer          FaultCode = "Server"
	CodeVersionMismatch FaultCode = "VersionMismatch"
	CodeMustUnderstand  FaultCode = "MustUnderstand"
)

// DetailNamespace is the namespace of the gateway's fault detail element and
// of the SOAP 1.2 subcodes.
const DetailNamespace = "urn:equus:sogateway:soap"

// Reasons: the gateway's machine-readable fault kinds, sent as the 1.2 Subcode
// and in the detail element of both versions.
const (
	ReasonMalformed            = "MalformedEnvelope"
	ReasonDocType              = "DocumentTypeRefused"
	ReasonTooDeep              = "TooDeep"
	ReasonTooLarge             = "TooLarge"
	ReasonMediaType            = "UnsupportedMediaType"
	ReasonTimeout              = "RequestTimeout"
	ReasonVersionMismatch      = "VersionMismatch"
	ReasonMustUnderstand       = "MustUnderstand"
	ReasonUnknownOperation     = "UnknownOperation"
	ReasonActionMismatch       = "ActionMismatch"
	ReasonInvalidParameter     = "InvalidParameter"
	ReasonAuthenticationFailed = "AuthenticationFailed"
	ReasonUnknownTask          = "UnknownTask"
	ReasonRefused              = "Refused"
	ReasonConflict             = "Conflict"
	ReasonInternal             = "InternalError"
	ReasonUnavailable          = "Unavailable"
	ReasonNotFound             = "NotFound"
)

// Fault is a SOAP fault the handler answers with. It is an error that wraps
// the cause, so errors.Is finds the sentinel behind it.
type Fault struct {
	// Code is Client, Server, VersionMismatch or MustUnderstand.
	Code FaultCode
	// Reason is one of the Reason* constants.
	Reason string
	// Text is the faultstring / Reason text: it names the element and the rule.
	Text string
	// Element is the request element at fault, if any.
	Element string
	// Status is the HTTP status; 0 means 500, in both versions (see status).
	Status int
	// Err is the cause.
	Err error
}

func (f *Fault) Error() string {
	return "soap fault " + string(f.Code) + "/" + f.Reason + ": " + f.Text
}

// Unwrap returns the cause.
func (f *Fault) Unwrap() error { return f.Err }

// status returns the HTTP status for version v: Status when set (401, 408,
// 413, 415: conditions of the HTTP exchange itself), else 500 in both
// versions. SOAP 1.2's HTTP binding suggests 400 for a Sender fault, but WCF
// (and other .NET stacks) read a fault body only from a 500 and turn any other
// status into a bare ProtocolException, losing the fault; ASMX itself answers
// every fault with 500. The Sender code and the gw: subcode still say whose
// fault it is.
func (f *Fault) status(string) int {
	if f.Status != 0 {
		return f.Status
	}
	return http.StatusInternalServerError
}

// render writes the fault envelope for version v.
func (f *Fault) render(v string) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header[:len(xml.Header)-1])
	if v == V12 {
		b.WriteString(`<soap:Envelope xmlns:soap="` + nsEnv12 + `"><soap:Body><soap:Fault><soap:Code><soap:Value>soap:`)
		b.WriteString(string(f.code12()))
		b.WriteString(`</soap:Value><soap:Subcode><soap:Value xmlns:gw="` + DetailNamespace + `">gw:`)
		b.WriteString(f.Reason)
		b.WriteString(`</soap:Value></soap:Subcode></soap:Code><soap:Reason><soap:Text xml:lang="en">`)
		escape(&b, f.Text)
		b.WriteString(`</soap:Text></soap:Reason><soap:Detail>`)
		f.detail(&b)
		b.WriteString(`</soap:Detail></soap:Fault></soap:Body></soap:Envelope>`)
		return b.Bytes()
	}
	b.WriteString(`<soap:Envelope xmlns:soap="` + nsEnv11 + `"><soap:Body><soap:Fault><faultcode>soap:`)
	b.WriteString(string(f.Code))
	b.WriteString(`</faultcode><faultstring>`)
	escape(&b, f.Text)
	b.WriteString(`</faultstring><detail>`)
	f.detail(&b)
	b.WriteString(`</detail></soap:Fault></soap:Body></soap:Envelope>`)
	return b.Bytes()
}

func (f *Fault) code12() FaultCode {
	switch f.Code {
	case CodeClient:
		return "Sender"
	case CodeServer:
		return "Receiver"
	}
	return f.Code
}

func (f *Fault) detail(b *bytes.Buffer) {
	b.WriteString(`<GatewayFault xmlns="` + DetailNamespace + `"><Reason>`)
	b.WriteString(f.Reason)
	b.WriteString(`</Reason>`)
	if f.Element != "" {
		b.WriteString(`<Element>`)
		escape(b, f.Element)
		b.WriteString(`</Element>`)
	}
	b.WriteString(`</GatewayFault>`)
}

// escape writes s as XML character data.
func escape(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s))
}
