package mappings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/equus/sogateway/internal/model"
)

// envelope is the fixture and CLI form of an Input: the body plus what the
// protocol layer would add.
type envelope struct {
	Protocol  model.Protocol    `json:"protocol,omitempty"`
	Route     string            `json:"route,omitempty"`
	Operation string            `json:"operation,omitempty"`
	Headers   map[string]string `json:"headers,omitempty"`
	Params    map[string]string `json:"params,omitempty"`
	Settings  map[string]string `json:"settings,omitempty"`
	Body      json.RawMessage   `json:"body"`
}

var envelopeKeys = map[string]bool{"protocol": true, "route": true, "operation": true, "headers": true, "params": true, "settings": true, "body": true}

// parseInput reads a JSON body or an envelope {"body":…, "protocol":…, …}.
func parseInput(data []byte) (Input, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err == nil {
		_, hasBody := probe["body"]
		isEnv := hasBody
		for k := range probe {
			isEnv = isEnv && envelopeKeys[k]
		}
		if isEnv {
			var env envelope
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&env); err != nil {
				return Input{}, fmt.Errorf("mappings: input envelope: %w", err)
			}
			return Input{Protocol: env.Protocol, Route: env.Route, Operation: env.Operation, Headers: env.Headers,
				Params: env.Params, Settings: env.Settings, Body: env.Body}, nil
		}
	}
	return Input{Body: data}, nil
}

// batchView is the canonical result as fixtures and the CLI show it.
type batchView struct {
	Items []itemView `json:"items"`
}

type itemView struct {
	Index   int          `json:"index"`
	Key     string       `json:"key,omitempty"`
	Kind    string       `json:"kind,omitempty"`
	Inbound *inboundView `json:"inbound,omitempty"`
	Error   *errorView   `json:"error,omitempty"`
	Explain []Trace      `json:"explain,omitempty"`
}

type inboundView struct {
	*model.Inbound
	Options optionsView `json:"options"`
}

type optionsView struct {
	Writer    string `json:"writer"`
	AutoAdmin bool   `json:"auto_admin"`
}

type errorView struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

func viewBatch(b *Batch, keepVersion bool) batchView {
	v := batchView{Items: make([]itemView, len(b.Items))}
	for i, it := range b.Items {
		iv := itemView{Index: it.Index, Key: it.Key, Kind: it.Kind, Explain: it.Trace}
		if it.Inbound != nil {
			in := *it.Inbound
			if !keepVersion {
				in.MappingVersion = ""
			}
			iv.Inbound = &inboundView{Inbound: &in, Options: optionsView{Writer: in.Options.Writer, AutoAdmin: in.Options.AutoAdmin}}
		}
		if it.Err != nil {
			iv.Error = viewError(it.Err)
		}
		v.Items[i] = iv
	}
	return v
}

func viewError(err error) *errorView {
	kind := "error"
	var re *ReadError
	switch {
	case errors.As(err, &re):
		kind = "unreadable"
	case errors.Is(err, model.ErrRefused):
		kind = "refused"
	case errors.Is(err, model.ErrInvalid):
		kind = "invalid"
	}
	return &errorView{Kind: kind, Message: err.Error()}
}

// renderCase is a render fixture: which render, and the canonical input.
type renderCase struct {
	Render string         `json:"render"`
	Order  *model.Order   `json:"order"`
	Event  *model.Event   `json:"event,omitempty"`
	Extra  map[string]any `json:"extra,omitempty"`
}

func decodeRenderCase(data []byte) (renderCase, error) {
	var rc renderCase
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rc); err != nil {
		return rc, fmt.Errorf("mappings: render input: %w", err)
	}
	return rc, nil
}

type renderedView struct {
	ContentType string            `json:"content_type"`
	Subject     string            `json:"subject,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	Body        any               `json:"body"`
}

func viewRendered(r *Rendered) renderedView {
	v := renderedView{ContentType: r.ContentType, Subject: r.Subject, Headers: r.Headers, Body: string(r.Body)}
	if strings.Contains(r.ContentType, "json") {
		v.Body = json.RawMessage(r.Body)
	}
	return v
}

// Fixture is one golden case beside a mapping.
type Fixture struct {
	Partner string
	Name    string
	// Input is the input file (.input.json, .input.xml, .input.eml or .render.json).
	Input string
	// Want is the expected result file (.want.json).
	Want string
}

// Fixtures lists the golden cases under dir, sorted by partner and name.
func Fixtures(dir string) ([]Fixture, error) {
	names, err := partnerDirs(dir)
	if err != nil {
		return nil, err
	}
	var out []Fixture
	for _, p := range names {
		files, _ := filepath.Glob(filepath.Join(dir, p, "fixtures", "*"))
		sort.Strings(files)
		for _, f := range files {
			base := filepath.Base(f)
			for _, suf := range []string{".input.json", ".input.xml", ".input.eml", ".render.json"} {
				if name, ok := strings.CutSuffix(base, suf); ok {
					out = append(out, Fixture{Partner: p, Name: name, Input: f,
						Want: filepath.Join(filepath.Dir(f), name+".want.json")})
				}
			}
		}
	}
	return out, nil
}

// RunFixture runs one golden case with m and returns the actual result as
// indented JSON, ready to compare with the want file. SOAP (.input.xml) and
// mail (.input.eml) inputs are read by rd, as production reads them; a
// message the reader refuses (*ReadError) is the result, an error of kind
// "unreadable".
func RunFixture(m *Mapping, rd Readers, f Fixture) ([]byte, error) {
	data, err := os.ReadFile(f.Input)
	if err != nil {
		return nil, fmt.Errorf("mappings: fixture: %w", err)
	}
	var result any
	switch {
	case strings.HasSuffix(f.Input, ".render.json"):
		rc, err := decodeRenderCase(data)
		if err != nil {
			return nil, fmt.Errorf("mappings: fixture %s: %w", f.Input, err)
		}
		r, err := m.Render(rc.Render, rc.Order, rc.Event, rc.Extra)
		if err != nil {
			result = map[string]any{"error": viewError(err)}
		} else {
			result = viewRendered(r)
		}
	default:
		var in Input
		switch {
		case strings.HasSuffix(f.Input, ".input.xml"):
			in, err = rd.soap(m, data)
		case strings.HasSuffix(f.Input, ".input.eml"):
			in, err = rd.mail(m, data)
		default:
			in, err = parseInput(data)
		}
		var re *ReadError
		if errors.As(err, &re) {
			return indentJSON(map[string]any{"error": viewError(err)})
		}
		if err != nil {
			return nil, err
		}
		b, err := m.Translate(in)
		if err != nil {
			result = map[string]any{"error": viewError(err)}
		} else {
			result = viewBatch(b, false)
		}
	}
	return indentJSON(result)
}

// FixtureResult is the outcome of one golden case, as `mappings test` and
// `go test ./mappings/` report it.
type FixtureResult struct {
	Fixture
	// Got is the actual result (indented JSON); nil when the fixture could not run.
	Got []byte
	// Kinds are the message kinds the result's items matched, or "render:<name>" for a render case.
	Kinds []string
	// Err is set when the fixture could not run, its want file is missing
	// (ErrNoWantFile) or its result differs (Diff holds the diff).
	Err error
	// Diff is the readable difference (- want, + got) when the result differs.
	Diff string
	// Updated is set when CheckFixture (with update) wrote the want file.
	Updated bool
}

// ErrNoWantFile is returned (wrapped) for a fixture whose .want.json does not exist yet.
var ErrNoWantFile = errors.New("no want file")

// CheckFixture runs one golden case with m (and rd, see RunFixture) and
// compares it with its want file; with update it writes the want file when
// it is missing or differs.
func CheckFixture(m *Mapping, rd Readers, f Fixture, update bool) FixtureResult {
	r := FixtureResult{Fixture: f}
	if m == nil {
		r.Err = fmt.Errorf("partner %s has no loaded mapping", f.Partner)
		return r
	}
	got, err := RunFixture(m, rd, f)
	if err != nil {
		r.Err = err
		return r
	}
	r.Got, r.Kinds = got, resultKinds(f, got)
	want, err := os.ReadFile(f.Want)
	if update && (err != nil || !sameJSON(want, got)) {
		if err := os.WriteFile(f.Want, got, 0o644); err != nil {
			r.Err = fmt.Errorf("write %s: %w", f.Want, err)
		}
		r.Updated = true
		return r
	}
	if errors.Is(err, fs.ErrNotExist) {
		r.Err = fmt.Errorf("%w %s: run `gatewayd mappings test -update %s` to write it from the current result, then read it before committing it",
			ErrNoWantFile, f.Want, filepath.Dir(filepath.Dir(filepath.Dir(f.Want))))
		return r
	}
	if err != nil {
		r.Err = err
		return r
	}
	if !sameJSON(want, got) {
		r.Diff = lineDiff(want, got)
		r.Err = errors.New("result differs from " + f.Want)
	}
	return r
}

// resultKinds lists the kinds a fixture's result covers.
func resultKinds(f Fixture, got []byte) []string {
	if strings.HasSuffix(f.Input, ".render.json") {
		var rc renderCase
		if data, err := os.ReadFile(f.Input); err == nil && json.Unmarshal(data, &rc) == nil {
			return []string{"render:" + rc.Render}
		}
		return nil
	}
	var bv batchView
	if json.Unmarshal(got, &bv) != nil {
		return nil
	}
	var out []string
	for _, it := range bv.Items {
		if it.Kind != "" {
			out = append(out, it.Kind)
		}
	}
	return out
}

// Coverage returns a problem for every inbound kind and every render of the
// set that no fixture result exercises: a mapping needs at least one golden
// case per kind and per render. It is the rule `mappings test` enforces.
func Coverage(s *Set, results []FixtureResult) []string {
	seen := map[string]map[string]bool{}
	for _, r := range results {
		if seen[r.Partner] == nil {
			seen[r.Partner] = map[string]bool{}
		}
		for _, k := range r.Kinds {
			seen[r.Partner][k] = true
		}
	}
	var out []string
	for _, p := range s.Names() {
		m := s.Get(p)
		for _, k := range m.Kinds() {
			if !seen[p][k] {
				out = append(out, fmt.Sprintf("%s: kind %s has no fixture (add %s)", p, k, filepath.Join(p, "fixtures", k+".input.json")))
			}
		}
		for _, k := range m.Renders() {
			if !seen[p]["render:"+k] {
				out = append(out, fmt.Sprintf("%s: render %s has no fixture (add %s)", p, k, filepath.Join(p, "fixtures", k+".render.json")))
			}
		}
	}
	return out
}

func indentJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// sameJSON reports whether a and b hold the same JSON value.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	ca, _ := json.Marshal(x)
	cb, _ := json.Marshal(y)
	return bytes.Equal(ca, cb)
}

// lineDiff returns a readable diff of want and got ("-" want, "+" got).
func lineDiff(want, got []byte) string {
	norm := func(b []byte) []string {
		var x any
		if json.Unmarshal(b, &x) == nil {
			if n, err := indentJSON(x); err == nil {
				b = n
			}
		}
		return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	}
	a, b := norm(want), norm(got)
	// LCS table.
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			out.WriteString("  " + a[i] + "\n")
			i++
			j++
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			out.WriteString("+ " + b[j] + "\n")
			j++
		default:
			out.WriteString("- " + a[i] + "\n")
			i++
		}
	}
	return out.String()
}
