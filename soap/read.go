package soap

import (
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/mappings"
)

// defaultMaxDepth is the element nesting Options.MaxDepth defaults to.
const defaultMaxDepth = 64

// ContractOf returns the Contract a mapping's soap section declares.
func ContractOf(spec *mappings.SOAPSpec) Contract {
	c := Contract{Service: spec.Service, Namespace: spec.Namespace, Path: spec.Path}
	for _, op := range spec.Operations {
		o := Operation{Name: op.Name, Doc: op.Doc, Result: op.Result}
		for _, p := range op.Params {
			o.Params = append(o.Params, Param{Name: p.Name, Type: p.Type, Required: p.Required, MaxLength: p.MaxLength})
		}
		c.Operations = append(c.Operations, o)
	}
	if c.Path == "" {
		c.Path = DefaultPath
	}
	return c
}

// Read reads one request body as the Handler does once the HTTP exchange is
// done: the charset of the XML declaration, the envelope (within the default
// depth), the operation named by the Body's element (as when no SOAPAction is
// sent) and its parameters, checked against c. It does not authenticate:
// Username is the UsernameToken's user, if the envelope carries one. A body
// the Handler would refuse returns the Fault it would answer.
func (c Contract) Read(body []byte) (*Call, *Fault) {
	c = c.withDefaults()
	call := &Call{}
	env, f := readEnvelope(call, body, "", defaultMaxDepth)
	if f != nil {
		return call, f
	}
	call.Version, call.MessageID = env.version, env.messageID
	if env.security != nil {
		call.Username = env.security.username
	}
	return call, c.bind(call, "", env)
}

// ReadInput is the mappings.Reader of SOAP envelopes: raw is read against
// the contract m's soap section declares (Contract.Read) and handed over as
// the Inbound service hands a call to the inbound path. A refused envelope
// is a *mappings.ReadError carrying the fault's reason and text.
func ReadInput(m *mappings.Mapping, raw []byte) (mappings.Input, error) {
	spec := m.Spec().SOAP
	if spec == nil {
		return mappings.Input{}, &mappings.ReadError{Reason: "NoSOAPService", Msg: "the mapping declares no soap section", Err: model.ErrInvalid}
	}
	call, f := ContractOf(spec).Read(raw)
	if f != nil {
		return mappings.Input{}, &mappings.ReadError{Reason: f.Reason, Msg: f.Text, Err: f}
	}
	return mappings.Input{Protocol: model.ProtocolSOAP, Operation: call.Operation, Body: call.Document()}, nil
}

var _ mappings.Reader = ReadInput
