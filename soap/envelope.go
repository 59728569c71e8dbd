package soap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// SOAP versions as they appear in Call.Version.
const (
	V11 = "1.1"
	V12 = "1.2"
)

// XML namespaces the parser and the WSDL use.
const (
	nsEnv11 = "http://schemas.xmlsoap.org/soap/envelope/"
	nsEnv12 = "http://www.w3.org/2003/05/soap-envelope"
	nsWSSE  = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	nsWSU   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
	nsXSI   = "http://www.w3.org/2001/XMLSchema-instance"
	nsWSA   = "http://www.w3.org/2005/08/addressing"
	nsWSA04 = "http://schemas.xmlsoap.org/ws/2004/08/addressing"

	tokenProfile    = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
	passwordText    = tokenProfile + "#PasswordText"
	passwordDigest  = tokenProfile + "#PasswordDigest"
	soapMessageSec  = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0"
	base64BinaryEnc = soapMessageSec + "#Base64Binary"
)

// Errors the envelope parser returns; the handler turns each into its fault.
var (
	// ErrTooLarge: the body exceeds Options.MaxBodyBytes.
	ErrTooLarge = errors.New("body too large")
	// ErrTooDeep: elements nest deeper than Options.MaxDepth.
	ErrTooDeep = errors.New("elements nested too deep")
	// ErrDocType: the document holds a DOCTYPE, ENTITY or other declaration.
	ErrDocType = errors.New("document type declarations are refused")
	// ErrMalformed: the body is not well-formed XML or not a SOAP envelope.
	ErrMalformed = errors.New("malformed envelope")
	// ErrVersionMismatch: the envelope is not in the namespace its content type promises.
	ErrVersionMismatch = errors.New("soap version mismatch")
	// ErrMustUnderstand: a header block marked mustUnderstand is not understood.
	ErrMustUnderstand = errors.New("header not understood")
	// ErrInvalidParam: a parameter element breaks a rule (see ParamError).
	ErrInvalidParam = errors.New("invalid parameter")
)

// ParamError names the request element at fault and the rule it broke. It
// wraps ErrInvalidParam.
type ParamError struct {
	Element string
	Rule    string
}

func (e *ParamError) Error() string { return "element " + e.Element + " " + e.Rule }

// Unwrap returns ErrInvalidParam.
func (e *ParamError) Unwrap() error { return ErrInvalidParam }

// envelope is what the parser extracts from a request: the version, the
// security token, the operation element and its parameter elements.
type envelope struct {
	version   string
	security  *usernameToken
	messageID string
	op        xml.Name
	params    []rawParam
	// secrets are the byte spans of password contents, for redact.
	secrets [][2]int64
}

// redact returns a copy of body with every wsse:Password content replaced
// by "[redacted]", so the raw message can be kept for audit.
func (e *envelope) redact(body []byte) []byte {
	if len(e.secrets) == 0 {
		return body
	}
	out := make([]byte, 0, len(body))
	prev := int64(0)
	for _, sp := range e.secrets {
		if sp[0] < prev || sp[1] < sp[0] || sp[1] > int64(len(body)) {
			continue
		}
		out = append(out, body[prev:sp[0]]...)
		out = append(out, "[redacted]"...)
		prev = sp[1]
	}
	return append(out, body[prev:]...)
}

// rawParam is one child element of the operation element.
type rawParam struct {
	name  xml.Name
	value string
	nil   bool
}

// usernameToken is a WS-Security UsernameToken as received.
type usernameToken struct {
	username, password, passwordType, nonce, nonceEncoding, created string
}

// parser walks tokens and keeps the element depth.
type parser struct {
	d        *xml.Decoder
	depth    int
	maxDepth int
	version  string
	lastText [2]int64   // byte span of the content read by the last text call
	secrets  [][2]int64 // byte spans of wsse:Password contents
}

// parseEnvelope reads a SOAP 1.1 or 1.2 envelope from body without ever
// building a tree of it: elements deeper than maxDepth, any DOCTYPE/ENTITY
// declaration and processing instructions other than the XML declaration fail
// with the matching sentinel.
func parseEnvelope(body []byte, maxDepth int) (*envelope, error) {
	p := &parser{d: xml.NewDecoder(bytes.NewReader(body)), maxDepth: maxDepth}
	p.d.Strict = true
	p.d.CharsetReader = identityCharsetReader // the handler has turned the body into UTF-8
	env := &envelope{}
	root, err := p.prolog()
	if err != nil {
		return nil, err
	}
	switch {
	case root.Name.Local == "Envelope" && root.Name.Space == nsEnv11:
		env.version = V11
	case root.Name.Local == "Envelope" && root.Name.Space == nsEnv12:
		env.version = V12
	case root.Name.Local == "Envelope":
		return nil, fmt.Errorf("%w: Envelope namespace %q is neither SOAP 1.1 (%s) nor SOAP 1.2 (%s)",
			ErrVersionMismatch, root.Name.Space, nsEnv11, nsEnv12)
	default:
		return nil, fmt.Errorf("%w: the root element must be a SOAP Envelope, got %s", ErrMalformed, qname(root.Name))
	}
	p.version = env.version
	defer func() { env.secrets = p.secrets }()
	envNS := root.Name.Space
	sawHeader, sawBody := false, false
	for {
		t, err := p.next()
		if err != nil {
			return nil, eofIsMalformed(err)
		}
		switch t := t.(type) {
		case xml.StartElement:
			switch {
			case sawBody:
				return nil, fmt.Errorf("%w: element %s after Body is not allowed", ErrMalformed, qname(t.Name))
			case t.Name.Space == envNS && t.Name.Local == "Header" && !sawHeader:
				sawHeader = true
				if err := p.header(env); err != nil {
					return nil, err
				}
			case t.Name.Space == envNS && t.Name.Local == "Body":
				sawBody = true
				if err := p.body(env); err != nil {
					return nil, err
				}
			default:
				return nil, fmt.Errorf("%w: Envelope may hold only Header and Body, got %s", ErrMalformed, qname(t.Name))
			}
		case xml.EndElement:
			if !sawBody {
				return nil, fmt.Errorf("%w: Envelope has no Body", ErrMalformed)
			}
			return env, p.epilog()
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return nil, fmt.Errorf("%w: text directly inside Envelope is not allowed", ErrMalformed)
			}
		}
	}
}

// next returns the next token, enforcing the depth cap and refusing
// declarations and processing instructions.
func (p *parser) next() (xml.Token, error) {
	t, err := p.d.Token()
	if err != nil {
		if err == io.EOF {
			return nil, err
		}
		return nil, notWellFormed(err)
	}
	switch tt := t.(type) {
	case xml.StartElement:
		p.depth++
		if p.depth > p.maxDepth {
			return nil, fmt.Errorf("%w: element %s is at depth %d, the limit is %d", ErrTooDeep, tt.Name.Local, p.depth, p.maxDepth)
		}
	case xml.EndElement:
		p.depth--
	case xml.Directive:
		word, _, _ := strings.Cut(strings.TrimSpace(string(tt)), " ")
		return nil, fmt.Errorf("%w: got <!%.20s", ErrDocType, word)
	case xml.ProcInst:
		if tt.Target != "xml" {
			return nil, fmt.Errorf("%w: processing instruction <?%.40s?> is not allowed", ErrMalformed, tt.Target)
		}
	}
	return t, nil
}

// notWellFormed words a decoder error for the client: the line and the
// problem, without Go's package prefixes.
func notWellFormed(err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%w: the body is not well-formed XML: line %d: %s", ErrMalformed, se.Line, se.Msg)
	}
	return fmt.Errorf("%w: the body is not well-formed XML (%w)", ErrMalformed, errNotWellFormed{err})
}

// errNotWellFormed keeps a decoder error for the log while its text stays out
// of the fault.
type errNotWellFormed struct{ err error }

func (e errNotWellFormed) Error() string { return "see the log" }
func (e errNotWellFormed) Unwrap() error { return e.err }

// prolog skips the XML declaration, comments and white space and returns the root element.
func (p *parser) prolog() (xml.StartElement, error) {
	for {
		t, err := p.next()
		if err != nil {
			if err == io.EOF {
				return xml.StartElement{}, fmt.Errorf("%w: the body is empty", ErrMalformed)
			}
			return xml.StartElement{}, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			return t, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return xml.StartElement{}, fmt.Errorf("%w: text before the Envelope is not allowed", ErrMalformed)
			}
		}
	}
}

// epilog allows only comments and white space after the Envelope.
func (p *parser) epilog() error {
	for {
		t, err := p.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := t.(type) {
		case xml.StartElement:
			return fmt.Errorf("%w: element %s after the Envelope is not allowed", ErrMalformed, qname(t.Name))
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return fmt.Errorf("%w: text after the Envelope is not allowed", ErrMalformed)
			}
		}
	}
}

// header reads the Header's blocks: wsse:Security, wsa:MessageID, and refuses
// any other block marked mustUnderstand.
func (p *parser) header(env *envelope) error {
	for {
		t, err := p.next()
		if err != nil {
			return eofIsMalformed(err)
		}
		switch t := t.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			switch {
			case t.Name.Space == nsWSSE && t.Name.Local == "Security":
				if env.security != nil {
					return fmt.Errorf("%w: more than one wsse:Security header", ErrMalformed)
				}
				env.security = &usernameToken{}
				if err := p.security(env.security); err != nil {
					return err
				}
			case (t.Name.Space == nsWSA || t.Name.Space == nsWSA04) && t.Name.Local == "MessageID":
				s, err := p.text(t.Name.Local)
				if err != nil {
					return err
				}
				env.messageID = strings.TrimSpace(s)
			default:
				if p.mustUnderstand(t) {
					return fmt.Errorf("%w: header %s is marked mustUnderstand", ErrMustUnderstand, qname(t.Name))
				}
				if err := p.skip(); err != nil {
					return err
				}
			}
		}
	}
}

// mustUnderstand reports whether a header block carries mustUnderstand="1"/"true".
func (p *parser) mustUnderstand(t xml.StartElement) bool {
	for _, a := range t.Attr {
		if a.Name.Local == "mustUnderstand" && (a.Name.Space == nsEnv11 || a.Name.Space == nsEnv12) {
			v := strings.TrimSpace(a.Value)
			return v == "1" || v == "true"
		}
	}
	return false
}

// security reads a wsse:Security header's UsernameToken; other children
// (Timestamp and the like) are skipped.
func (p *parser) security(tok *usernameToken) error {
	seen := false
	for {
		t, err := p.next()
		if err != nil {
			return eofIsMalformed(err)
		}
		switch t := t.(type) {
		case xml.EndElement:
			if !seen {
				return fmt.Errorf("%w: wsse:Security holds no wsse:UsernameToken", ErrMalformed)
			}
			return nil
		case xml.StartElement:
			if t.Name.Space != nsWSSE || t.Name.Local != "UsernameToken" {
				if err := p.skip(); err != nil {
					return err
				}
				continue
			}
			if seen {
				return fmt.Errorf("%w: more than one wsse:UsernameToken", ErrMalformed)
			}
			seen = true
			if err := p.usernameToken(tok); err != nil {
				return err
			}
		}
	}
}

func (p *parser) usernameToken(tok *usernameToken) error {
	for {
		t, err := p.next()
		if err != nil {
			return eofIsMalformed(err)
		}
		switch t := t.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			var dst *string
			switch {
			case t.Name.Space == nsWSSE && t.Name.Local == "Username":
				dst = &tok.username
			case t.Name.Space == nsWSSE && t.Name.Local == "Password":
				dst = &tok.password
				tok.passwordType = attr(t, "Type")
			case t.Name.Space == nsWSSE && t.Name.Local == "Nonce":
				dst = &tok.nonce
				tok.nonceEncoding = attr(t, "EncodingType")
			case (t.Name.Space == nsWSU || t.Name.Space == nsWSSE) && t.Name.Local == "Created":
				dst = &tok.created
			default:
				if err := p.skip(); err != nil {
					return err
				}
				continue
			}
			s, err := p.text(t.Name.Local)
			if err != nil {
				return err
			}
			*dst = s
			if dst == &tok.password && s != "" {
				p.secrets = append(p.secrets, p.lastText)
			}
		}
	}
}

// body reads the one operation element in Body and its parameter elements.
func (p *parser) body(env *envelope) error {
	sawOp := false
	for {
		t, err := p.next()
		if err != nil {
			return eofIsMalformed(err)
		}
		switch t := t.(type) {
		case xml.EndElement:
			if !sawOp {
				return fmt.Errorf("%w: Body holds no operation element", ErrMalformed)
			}
			return nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return fmt.Errorf("%w: text directly inside Body is not allowed", ErrMalformed)
			}
		case xml.StartElement:
			if sawOp {
				return fmt.Errorf("%w: Body must hold exactly one operation element, got a second: %s", ErrMalformed, qname(t.Name))
			}
			sawOp = true
			env.op = t.Name
			if err := p.operation(env); err != nil {
				return err
			}
		}
	}
}

func (p *parser) operation(env *envelope) error {
	for {
		t, err := p.next()
		if err != nil {
			return eofIsMalformed(err)
		}
		switch t := t.(type) {
		case xml.EndElement:
			return nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return &ParamError{Element: env.op.Local, Rule: "must hold parameter elements, not text"}
			}
		case xml.StartElement:
			isNil := false
			for _, a := range t.Attr {
				if a.Name.Space == nsXSI && a.Name.Local == "nil" {
					v := strings.TrimSpace(a.Value)
					isNil = v == "true" || v == "1"
				}
			}
			s, err := p.text(t.Name.Local)
			if err != nil {
				return err
			}
			env.params = append(env.params, rawParam{name: t.Name, value: s, nil: isNil})
		}
	}
}

// text returns the character data of the element just opened, which must not
// hold child elements.
func (p *parser) text(element string) (string, error) {
	var sb strings.Builder
	p.lastText[0] = p.d.InputOffset()
	for {
		p.lastText[1] = p.d.InputOffset()
		t, err := p.next()
		if err != nil {
			return "", eofIsMalformed(err)
		}
		switch t := t.(type) {
		case xml.CharData:
			sb.Write(t)
		case xml.StartElement:
			return "", &ParamError{Element: element, Rule: fmt.Sprintf("must hold text only, got child element %s", t.Name.Local)}
		case xml.EndElement:
			return sb.String(), nil
		}
	}
}

// skip consumes the element just opened and everything inside it.
func (p *parser) skip() error {
	start := p.depth
	for p.depth >= start {
		if _, err := p.next(); err != nil {
			return eofIsMalformed(err)
		}
	}
	return nil
}

func attr(t xml.StartElement, local string) string {
	for _, a := range t.Attr {
		if a.Name.Local == local {
			return strings.TrimSpace(a.Value)
		}
	}
	return ""
}

func eofIsMalformed(err error) error {
	if err == io.EOF {
		return fmt.Errorf("%w: unexpected end of body", ErrMalformed)
	}
	return err
}

// qname renders an element name as {namespace}local, or local alone.
func qname(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return "{" + n.Space + "}" + n.Local
}
