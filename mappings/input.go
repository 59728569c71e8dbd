package mappings

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/equus/sogateway/internal/model"
)

func decodeRenderCase(data []byte) (renderCase, error) {
	var rc renderCase
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rc); err != nil {
		return rc, fmt.Errorf("mappings: render input: %w", err)
	}
	return rc, nil
}

// SOAPInput turns a SOAP 1.1 or 1.2 envelope into the Input the soap package
// would hand over: {"operation", "params", "username"}. It is a small reader
// for fixtures and the CLI; the soap package is the one that serves partners.
func SOAPInput(m *Mapping, data []byte) (Input, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	var (
		stack    []string
		op       string
		params   = map[string]any{}
		username string
		text     strings.Builder
	)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Input{}, fmt.Errorf("mappings: soap input: %w: %w", err, model.ErrInvalid)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name.Local)
			text.Reset()
			if len(stack) >= 3 && stack[len(stack)-2] == "Body" && op == "" {
				op = t.Name.Local
			}
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			n := len(stack)
			switch {
			case n >= 4 && stack[n-3] == "Body" && stack[n-2] == op:
				params[t.Name.Local] = strings.TrimSpace(text.String())
			case t.Name.Local == "Username":
				username = strings.TrimSpace(text.String())
			}
			stack = stack[:n-1]
			text.Reset()
		}
	}
	if op == "" {
		return Input{}, fmt.Errorf("mappings: soap input: no operation in Body: %w", model.ErrInvalid)
	}
	if m != nil && m.spec.SOAP != nil {
		for _, o := range m.spec.SOAP.Operations {
			if o.Name != op {
				continue
			}
			for _, p := range o.Params {
				v, ok := params[p.Name].(string)
				if !ok {
					continue
				}
				switch p.Type {
				case "int":
					var n json.Number = json.Number(v)
					if _, err := n.Int64(); err == nil {
						params[p.Name] = n
					}
				case "boolean":
					params[p.Name] = v == "true" || v == "1"
				}
			}
		}
	}
	body, err := json.Marshal(map[string]any{"operation": op, "params": params, "username": username})
	if err != nil {
		return Input{}, err
	}
	return Input{Protocol: model.ProtocolSOAP, Operation: op, Body: body}, nil
}
