package soap

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// DefaultNamespace is the target namespace of a Contract that names none, as
// in an ASMX service that never set one.
const DefaultNamespace = "http://tempuri.org/"

// DefaultPath is where SSP7 serves its workflow service.
const DefaultPath = "/Workflow/WebService/WorkflowService.asmx"

// ErrContract is wrapped by every error Contract.Validate returns.
var ErrContract = errors.New("soap contract")

// Parameter types a Param may declare (xsd:string, xsd:int, xsd:boolean, xsd:dateTime).
const (
	TypeString   = "string"
	TypeInt      = "int"
	TypeBoolean  = "boolean"
	TypeDateTime = "dateTime"
)

// Contract declares a SOAP service: its name, target namespace, path and
// operations. The WSDL, the help pages and request validation all follow it.
type Contract struct {
	// Service is the service name, e.g. "WorkflowService" (required).
	Service string
	// Namespace is the target namespace; default DefaultNamespace.
	Namespace string
	// Path is the URL path the service answers on; default DefaultPath.
	// It is matched case-insensitively, as IIS does.
	Path string
	// Operations are the service's operations (at least one).
	Operations []Operation
}

// Operation is one document/literal wrapped operation: a request element named
// Name holding Params, answered by NameResponse holding one string Result element.
type Operation struct {
	// Name is the operation and request element name.
	Name string
	// Doc is a one-sentence description shown in the WSDL and help pages.
	Doc string
	// Params are the request's child elements, in order.
	Params []Param
	// Result is the name of the xsd:string result element; default Name+"Result".
	Result string
}

// Param is one parameter element of an operation's request.
type Param struct {
	// Name is the element name.
	Name string
	// Type is string (default), int, boolean or dateTime.
	Type string
	// Required makes a missing or empty element a fault.
	Required bool
	// MaxLength caps the value in characters; 0 means no cap beyond the body cap.
	MaxLength int
}

// DocTable renders the operations as the Markdown table of docs/soap.md:
// each parameter with its xsd type, whether it is required and its maximum
// length, as the WSDL and the help pages state them.
func (c Contract) DocTable() string {
	c = c.withDefaults()
	var b strings.Builder
	b.WriteString("| operation | parameters (xsd type, required, max characters) |\n|---|---|\n")
	for _, op := range c.Operations {
		b.WriteString("| `" + op.Name + "` — " + op.Doc + " | ")
		for i, p := range op.Params {
			if i > 0 {
				b.WriteString(", ")
			}
			req := "no"
			switch {
			case p.Required:
				req = "yes"
			case p.Type == TypeBoolean:
				req = "no, absent = false, minOccurs 1"
			}
			b.WriteString("`" + p.Name + "` (" + p.Type + ", " + req)
			if p.MaxLength > 0 {
				b.WriteString(", " + strconv.Itoa(p.MaxLength))
			}
			b.WriteString(")")
		}
		b.WriteString(" |\n")
	}
	return b.String()
}

// withDefaults returns c with defaults filled in.
func (c Contract) withDefaults() Contract {
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
	if c.Path == "" {
		c.Path = DefaultPath
	}
	ops := make([]Operation, len(c.Operations))
	for i, op := range c.Operations {
		if op.Result == "" {
			op.Result = op.Name + "Result"
		}
		ps := make([]Param, len(op.Params))
		for j, p := range op.Params {
			if p.Type == "" {
				p.Type = TypeString
			}
			ps[j] = p
		}
		op.Params = ps
		ops[i] = op
	}
	c.Operations = ops
	return c
}

// Validate checks the contract after defaults; errors wrap ErrContract and
// name the dotted key and the value received.
func (c Contract) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(key, rule string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrContract, key, fmt.Sprintf(rule, a...)))
	}
	if !isNCName(c.Service) {
		bad("service", "must be an XML name, got %q", c.Service)
	}
	if strings.ContainsAny(c.Namespace, " \t\r\n<>\"") {
		bad("namespace", "must be a URI, got %q", c.Namespace)
	}
	if !strings.HasPrefix(c.Path, "/") {
		bad("path", "must start with /, got %q", c.Path)
	}
	if len(c.Operations) == 0 {
		bad("operations", "must declare at least one operation")
	}
	seen := map[string]bool{}
	for i, op := range c.Operations {
		key := fmt.Sprintf("operations[%d]", i)
		if !isNCName(op.Name) {
			bad(key+".name", "must be an XML name, got %q", op.Name)
		} else if seen[op.Name] {
			bad(key+".name", "is declared twice, got %q", op.Name)
		}
		seen[op.Name] = true
		if !isNCName(op.Result) {
			bad(key+".result", "must be an XML name, got %q", op.Result)
		}
		pseen := map[string]bool{}
		for j, p := range op.Params {
			pkey := fmt.Sprintf("%s.params[%d]", key, j)
			if !isNCName(p.Name) {
				bad(pkey+".name", "must be an XML name, got %q", p.Name)
			} else if pseen[p.Name] {
				bad(pkey+".name", "is declared twice, got %q", p.Name)
			}
			pseen[p.Name] = true
			switch p.Type {
			case TypeString, TypeInt, TypeBoolean, TypeDateTime:
			default:
				bad(pkey+".type", "must be string, int, boolean or dateTime, got %q", p.Type)
			}
			if p.MaxLength < 0 {
				bad(pkey+".max_length", "must not be negative, got %d", p.MaxLength)
			}
		}
	}
	return errors.Join(errs...)
}

// operation returns the operation named name.
func (c *Contract) operation(name string) (*Operation, bool) {
	for i := range c.Operations {
		if c.Operations[i].Name == name {
			return &c.Operations[i], true
		}
	}
	return nil, false
}

// Action returns the SOAPAction of operation name, as ASMX forms it: the
// namespace, a slash unless it ends with one, and the name.
func (c Contract) Action(name string) string {
	ns := c.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	if strings.HasSuffix(ns, "/") {
		return ns + name
	}
	return ns + "/" + name
}

// isNCName reports whether s is a non-colonized XML name (ASCII subset).
func isNCName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_':
		case i > 0 && (r >= '0' && r <= '9' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return true
}
