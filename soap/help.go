package soap

import (
	"bytes"
	"html/template"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// get serves ?WSDL (any case), ?op=Name help pages and the service help page.
func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	for _, kv := range strings.Split(r.URL.RawQuery, "&") {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case strings.EqualFold(k, "wsdl"):
			writeDoc(w, h.c.WSDLAt(h.location(r)))
			return
		case strings.EqualFold(k, "disco"):
			writeDoc(w, h.c.disco(h.location(r)))
			return
		case strings.EqualFold(k, "op"):
			name, _ := url.QueryUnescape(v)
			op, ok := h.c.operation(name)
			if !ok {
				writeHTML(w, http.StatusNotFound, h.c.page(nil, "Operation "+name+" is not part of this service."))
				return
			}
			writeHTML(w, http.StatusOK, h.c.page(op, ""))
			return
		}
	}
	writeHTML(w, http.StatusOK, h.service)
}

// location is the absolute URL of the service for the WSDL and DISCO
// document: Options.PublicURL when set; else the request's scheme and Host,
// overridden by X-Forwarded-Proto and X-Forwarded-Host when the peer is a
// trusted proxy (the first value of each; a value that is not a plain
// http/https scheme or host[:port] is ignored).
func (h *Handler) location(r *http.Request) string {
	if h.opt.PublicURL != "" {
		return h.opt.PublicURL + h.c.Path
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if h.trustedPeer(r) {
		if p := strings.ToLower(firstValue(r.Header.Get("X-Forwarded-Proto"))); p == "http" || p == "https" {
			scheme = p
		}
		if fh := firstValue(r.Header.Get("X-Forwarded-Host")); validHost(fh) {
			host = fh
		}
	}
	if !validHost(host) {
		host = "localhost"
	}
	return scheme + "://" + host + h.c.Path
}

// trustedPeer reports whether the request comes straight from one of
// Options.TrustedProxies.
func (h *Handler) trustedPeer(r *http.Request) bool {
	if len(h.opt.TrustedProxies) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	for _, p := range h.opt.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// firstValue returns the first of a comma-separated header's values, trimmed.
func firstValue(v string) string {
	v, _, _ = strings.Cut(v, ",")
	return strings.TrimSpace(v)
}

// validHost reports whether s is a host[:port] safe to write into a URL.
func validHost(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.ContainsRune(".-:[]_", c):
		default:
			return false
		}
	}
	return true
}

// disco renders the DISCO document ASMX serves at ?disco: the WSDL's URL
// and the address of both ports.
func (c Contract) disco(location string) []byte {
	var b bytes.Buffer
	loc := func() { escape(&b, location) }
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	b.WriteString(`<discovery xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.xmlsoap.org/disco/">` + "\n")
	b.WriteString(`  <contractRef ref="`)
	loc()
	b.WriteString(`?wsdl" docRef="`)
	loc()
	b.WriteString(`" xmlns="http://schemas.xmlsoap.org/disco/scl/" />` + "\n")
	for i, suffix := range []string{"Soap", "Soap12"} {
		q := "q" + strconv.Itoa(i+1)
		b.WriteString(`  <soap address="`)
		loc()
		b.WriteString(`" xmlns:` + q + `="`)
		escape(&b, c.Namespace)
		b.WriteString(`" binding="` + q + `:` + c.Service + suffix + `" xmlns="http://schemas.xmlsoap.org/disco/soap/" />` + "\n")
	}
	b.WriteString("</discovery>\n")
	return b.Bytes()
}

// writeDoc answers an XML document (WSDL, DISCO) with 200.
func writeDoc(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func writeHTML(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// serviceHelp renders the service page listing the operations.
func (c Contract) serviceHelp() []byte { return c.page(nil, "") }

var pageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.C.Service}} Web Service</title>
<style>body{font-family:Verdana,sans-serif;font-size:.8em;margin:2em}pre{background:#e5e5cc;padding:1em;overflow:auto}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .6em;text-align:left}</style>
</head><body>
<h1>{{.C.Service}}</h1>
{{- if .Missing}}<p>{{.Missing}}</p>{{end}}
{{- if .Op}}
<p>Click <a href="?">here</a> for a complete list of operations.</p>
<h2>{{.Op.Name}}</h2>
{{- if .Op.Doc}}<p>{{.Op.Doc}}</p>{{end}}
<h3>Parameters</h3>
<table><tr><th>Element</th><th>Type</th><th>Required</th><th>Max length</th></tr>
{{- range .Op.Params}}<tr><td>{{.Name}}</td><td>xsd:{{.Type}}</td><td>{{if .Required}}yes{{else if eq .Type "boolean"}}no: always sent (minOccurs 1, as ASMX writes booleans); absent means false{{else}}no{{end}}</td><td>{{if .MaxLength}}{{.MaxLength}}{{end}}</td></tr>{{end}}
</table>
<p>The result is the xsd:string element {{.Op.Result}}. Calls need HTTP Basic credentials or a WS-Security UsernameToken (PasswordText or PasswordDigest).</p>
<h3>SOAP 1.1</h3>
<p>The following is a sample SOAP 1.1 request and response. The placeholders shown need to be replaced with actual values.</p>
<pre>{{.Req11}}</pre>
<pre>{{.Resp11}}</pre>
<h3>SOAP 1.2</h3>
<p>The following is a sample SOAP 1.2 request and response. The placeholders shown need to be replaced with actual values.</p>
<pre>{{.Req12}}</pre>
<pre>{{.Resp12}}</pre>
{{- else}}
<p>The following operations are supported. For a formal definition, please review the <a href="?WSDL">Service Description</a> (discovery document: <a href="?disco">?disco</a>).</p>
<ul>
{{- range .C.Operations}}
<li><a href="?op={{.Name}}">{{.Name}}</a>{{if .Doc}}<br>{{.Doc}}{{end}}</li>
{{- end}}
</ul>
<p>Namespace: {{.C.Namespace}}</p>
{{- end}}
</body></html>
`))

// page renders the service page (op nil) or op's page with sample messages.
func (c Contract) page(op *Operation, missing string) []byte {
	data := struct {
		C                            Contract
		Op                           *Operation
		Missing                      string
		Req11, Resp11, Req12, Resp12 string
	}{C: c, Op: op, Missing: missing}
	if op != nil {
		data.Req11, data.Resp11 = c.sample(V11, op)
		data.Req12, data.Resp12 = c.sample(V12, op)
	}
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, data); err != nil {
		return []byte("help page: " + err.Error())
	}
	return b.Bytes()
}

// sample returns a sample request and response for op in version v, with the
// parameter types as placeholders.
func (c Contract) sample(v string, op *Operation) (req, resp string) {
	var b bytes.Buffer
	ct := "text/xml; charset=utf-8"
	if v == V12 {
		ct = `application/soap+xml; charset=utf-8; action="` + c.Action(op.Name) + `"`
	}
	b.WriteString("POST " + c.Path + " HTTP/1.1\nHost: host\nContent-Type: " + ct + "\nContent-Length: length\n")
	if v == V11 {
		b.WriteString(`SOAPAction: "` + c.Action(op.Name) + `"` + "\n")
	}
	b.WriteString("\n" + `<?xml version="1.0" encoding="utf-8"?>` + "\n" + envelopeOpen(v) + "\n  <soap:Body>\n    <" + op.Name + ` xmlns="`)
	escape(&b, c.Namespace)
	b.WriteString("\">\n")
	for _, p := range op.Params {
		b.WriteString("      <" + p.Name + ">" + p.Type + "</" + p.Name + ">\n")
	}
	b.WriteString("    </" + op.Name + ">\n  </soap:Body>\n</soap:Envelope>")
	req = b.String()
	b.Reset()
	b.WriteString("HTTP/1.1 200 OK\nContent-Type: " + strings.SplitN(ct, "; action", 2)[0] + "\nContent-Length: length\n\n")
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n" + envelopeOpen(v) + "\n  <soap:Body>\n    <" + op.Name + `Response xmlns="`)
	escape(&b, c.Namespace)
	b.WriteString("\">\n      <" + op.Result + ">string</" + op.Result + ">\n    </" + op.Name + "Response>\n  </soap:Body>\n</soap:Envelope>")
	return req, b.String()
}
