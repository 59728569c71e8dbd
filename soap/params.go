package soap

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// validateParams checks the received parameter elements against op and
// returns them normalized by name.
func validateParams(op *Operation, raw []rawParam, ns string) (map[string]string, error) {
	out := make(map[string]string, len(op.Params))
	seen := make(map[string]bool, len(raw))
	for _, rp := range raw {
		var decl *Param
		for i := range op.Params {
			if op.Params[i].Name == rp.name.Local {
				decl = &op.Params[i]
			}
		}
		if decl == nil {
			return nil, &ParamError{Element: rp.name.Local, Rule: fmt.Sprintf("is not a parameter of %s (parameters: %s)", op.Name, paramNames(op))}
		}
		if rp.name.Space != ns && rp.name.Space != "" {
			return nil, &ParamError{Element: rp.name.Local, Rule: fmt.Sprintf("must be in namespace %s, got %s", ns, rp.name.Space)}
		}
		if seen[decl.Name] {
			return nil, &ParamError{Element: decl.Name, Rule: "must appear at most once"}
		}
		seen[decl.Name] = true
		if rp.nil {
			continue
		}
		v, err := checkValue(decl, rp.value)
		if err != nil {
			return nil, err
		}
		out[decl.Name] = v
	}
	for _, p := range op.Params {
		if v, ok := out[p.Name]; p.Required && (!ok || v == "") {
			return nil, &ParamError{Element: p.Name, Rule: "is required and must not be empty"}
		}
	}
	return out, nil
}

func paramNames(op *Operation) string {
	n := make([]string, len(op.Params))
	for i, p := range op.Params {
		n[i] = p.Name
	}
	return strings.Join(n, ", ")
}

// checkValue validates one value against its declaration and normalizes it.
func checkValue(p *Param, v string) (string, error) {
	switch p.Type {
	case TypeInt:
		s := strings.TrimSpace(v)
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return "", &ParamError{Element: p.Name, Rule: fmt.Sprintf("must be an xsd:int, got %q", clip(s))}
		}
		return strconv.FormatInt(n, 10), nil
	case TypeBoolean:
		switch strings.TrimSpace(v) {
		case "true", "1":
			return "true", nil
		case "false", "0":
			return "false", nil
		}
		return "", &ParamError{Element: p.Name, Rule: fmt.Sprintf("must be an xsd:boolean (true, false, 1 or 0), got %q", clip(v))}
	case TypeDateTime:
		s := strings.TrimSpace(v)
		if _, err := parseDateTime(s); err != nil {
			return "", &ParamError{Element: p.Name, Rule: fmt.Sprintf("must be an xsd:dateTime such as 2024-05-01T12:00:00Z, got %q", clip(s))}
		}
		return s, nil
	}
	if n := utf8.RuneCountInString(v); p.MaxLength > 0 && n > p.MaxLength {
		return "", &ParamError{Element: p.Name, Rule: fmt.Sprintf("must be at most %d characters, got %d", p.MaxLength, n)}
	}
	return v, nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// clipPath shortens a request path to 200 bytes for a fault or a log line.
func clipPath(p string) string {
	if len(p) > 200 {
		return strings.ToValidUTF8(p[:200], "") + "…"
	}
	return p
}
