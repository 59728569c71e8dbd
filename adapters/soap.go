package adapters

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/equus/sogateway/configs"
)

// SOAP posts a SOAP envelope rendered by the partner's mapping and turns a
// SOAP fault into a classified error.
type SOAP struct {
	h       *HTTP
	version string
	action  string
}

var _ Adapter = (*SOAP)(nil)

// NewSOAP builds the SOAP transport from a vendor's config (endpoint, auth,
// soap.version and soap.action).
func NewSOAP(vendor string, cfg *configs.VendorConfig, env *Env) (Adapter, error) {
	h, err := newHTTP(vendor, cfg, env)
	if err != nil {
		return nil, err
	}
	c := *cfg
	c.SetDefaults()
	return &SOAP{h: h, version: c.SOAP.Version, action: c.SOAP.Action}, nil
}

// Transport returns "soap".
func (s *SOAP) Transport() string { return configs.TransportSOAP }

// Deliver posts m's body, wrapped in a SOAP envelope unless the mapping
// rendered one (see Envelope), with the SOAP 1.1 SOAPAction
// header or the SOAP 1.2 action parameter. A fault answer is an error: a
// Client/Sender fault is ErrPermanent, a Server/Receiver fault ErrTransient.
// HTTP statuses are classified as by HTTP.
func (s *SOAP) Deliver(ctx context.Context, m *Message) (*Result, error) {
	action := s.action
	if a := m.Headers["SOAPAction"]; a != "" {
		action = a
	}
	hdr := http.Header{}
	for k, v := range m.Headers {
		if !strings.EqualFold(k, "SOAPAction") {
			hdr.Set(k, v)
		}
	}
	if s.version == "1.2" {
		ct := `application/soap+xml; charset=utf-8`
		if action != "" {
			ct += `; action="` + strings.ReplaceAll(action, `"`, "") + `"`
		}
		hdr.Set("Content-Type", ct)
	} else {
		hdr.Set("Content-Type", "text/xml; charset=utf-8")
		hdr.Set("SOAPAction", `"`+strings.ReplaceAll(action, `"`, "")+`"`)
	}
	env := *m
	env.Body = Envelope(m.Body, s.version)
	m = &env
	parse := func(status int, body []byte) error {
		f, err := ParseFault(body)
		if err != nil || f == nil {
			return nil
		}
		kind := ErrPermanent
		if f.Server() {
			kind = ErrTransient
		}
		return &DeliveryError{Kind: kind, StatusCode: status, Detail: "SOAP fault " + f.Code + ": " + f.Reason}
	}
	return doHTTP(ctx, s.h.client, s.h.timeout, http.MethodPost, s.h.endpoint, hdr, m, s.h.now(), s.h.authorize(m), parse)
}

// Fault is a SOAP 1.1 or 1.2 fault.
type Fault struct {
	// Code is the fault code without its prefix (Client, Server, Sender, Receiver …).
	Code string
	// Reason is the faultstring (1.1) or the first Reason/Text (1.2).
	Reason string
}

// Server reports whether the fault blames the server (Server, Receiver), i.e.
// the same message may succeed later.
func (f *Fault) Server() bool {
	c := f.Code
	if i := strings.LastIndexByte(c, '.'); i >= 0 {
		c = c[:i]
	}
	return c == "Server" || c == "Receiver"
}

// ErrMalformedXML is returned by ParseFault for a body that is not XML.
var ErrMalformedXML = errors.New("malformed XML")

// maxFaultDepth bounds element nesting while looking for a fault.
const maxFaultDepth = 32

// ParseFault looks for a Fault element in a SOAP response body. It returns
// (nil, nil) when the body is well-formed and holds no fault.
func ParseFault(body []byte) (*Fault, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	var path []string
	var f *Fault
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			if f != nil {
				return f, nil
			}
			return nil, errors.Join(ErrMalformedXML, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			path = append(path, t.Name.Local)
			if len(path) > maxFaultDepth {
				return nil, errors.Join(ErrMalformedXML, errors.New("too deeply nested"))
			}
			if t.Name.Local == "Fault" && f == nil {
				f = &Fault{}
			}
			text.Reset()
		case xml.CharData:
			if f != nil && text.Len() < 4096 {
				text.Write(t)
			}
		case xml.EndElement:
			if f != nil {
				v := strings.TrimSpace(text.String())
				switch name := t.Name.Local; {
				case name == "faultcode" && f.Code == "":
					f.Code = localPart(v)
				case name == "faultstring" && f.Reason == "":
					f.Reason = v
				case name == "Value" && len(path) >= 2 && path[len(path)-2] == "Code" && f.Code == "":
					f.Code = localPart(v)
				case name == "Text" && len(path) >= 2 && path[len(path)-2] == "Reason" && f.Reason == "":
					f.Reason = v
				}
			}
			text.Reset()
			if len(path) > 0 {
				path = path[:len(path)-1]
			}
		}
	}
	return f, nil
}

func localPart(qname string) string {
	if i := strings.IndexByte(qname, ':'); i >= 0 {
		return qname[i+1:]
	}
	return qname
}

// The SOAP envelope namespaces.
const (
	NamespaceSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
	NamespaceSOAP12 = "http://www.w3.org/2003/05/soap-envelope"
)

// Envelope returns body as a SOAP envelope: unchanged when its root element is
// already an Envelope, else (its XML declaration dropped) inside the Body of a
// SOAP 1.1 or 1.2 envelope.
func Envelope(body []byte, version string) []byte {
	dec := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local == "Envelope" {
				return body
			}
			break
		}
	}
	inner := bytes.TrimSpace(body)
	if bytes.HasPrefix(inner, []byte("<?xml")) {
		if i := bytes.Index(inner, []byte("?>")); i >= 0 {
			inner = bytes.TrimSpace(inner[i+2:])
		}
	}
	ns := NamespaceSOAP11
	if version == "1.2" {
		ns = NamespaceSOAP12
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n" + `<soap:Envelope xmlns:soap="` + ns + `"><soap:Body>`)
	b.Write(inner)
	b.WriteString(`</soap:Body></soap:Envelope>`)
	return b.Bytes()
}
