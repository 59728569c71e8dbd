package mappings_test

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/readers"
	"github.com/equus/sogateway/mappings"
)

// readInput reads one input as the fixture runner does: format "json" as a
// body or envelope, "xml" and "eml" through the production readers.
func readInput(m *mappings.Mapping, format string, data []byte) (mappings.Input, error) {
	rd := readers.Production()
	switch format {
	case "xml":
		return rd.SOAP(m, data)
	case "eml":
		return rd.Mail(m, data)
	}
	return mappings.ParseInput(data)
}

// sameEvaluation translates in on the fast path (no explain) and on the
// explain path and says how the two results differ ("" when they agree on
// everything but the traces).
func sameEvaluation(m *mappings.Mapping, in mappings.Input) string {
	in.Explain = false
	fast, ferr := m.Translate(in)
	in.Explain = true
	slow, serr := m.Translate(in)
	if (ferr == nil) != (serr == nil) || ferr != nil && ferr.Error() != serr.Error() {
		return fmt.Sprintf("Translate error: fast %v, explain %v", ferr, serr)
	}
	if ferr != nil {
		return ""
	}
	if len(fast.Items) != len(slow.Items) || fast.Split != slow.Split {
		return fmt.Sprintf("fast: %d items (split %v), explain: %d items (split %v)", len(fast.Items), fast.Split, len(slow.Items), slow.Split)
	}
	for i := range fast.Items {
		f, s := fast.Items[i], slow.Items[i]
		if f.Trace != nil {
			return fmt.Sprintf("item %d: the fast path recorded a trace", i)
		}
		if f.Index != s.Index || f.Key != s.Key || f.Kind != s.Kind {
			return fmt.Sprintf("item %d: fast (index %d, key %q, kind %q), explain (index %d, key %q, kind %q)", i, f.Index, f.Key, f.Kind, s.Index, s.Key, s.Kind)
		}
		if !reflect.DeepEqual(f.Inbound, s.Inbound) {
			return fmt.Sprintf("item %d: inbound differs:\nfast    %+v\nexplain %+v", i, f.Inbound, s.Inbound)
		}
		if (f.Err == nil) != (s.Err == nil) || f.Err != nil && (f.Err.Error() != s.Err.Error() ||
			errors.Is(f.Err, model.ErrInvalid) != errors.Is(s.Err, model.ErrInvalid) ||
			errors.Is(f.Err, model.ErrRefused) != errors.Is(s.Err, model.ErrRefused)) {
			return fmt.Sprintf("item %d: error: fast %v, explain %v", i, f.Err, s.Err)
		}
	}
	return ""
}

// fixtureFormat is the format of an input fixture ("" for a render case).
func fixtureFormat(f mappings.Fixture) string {
	for _, suf := range []string{"json", "xml", "eml"} {
		if strings.HasSuffix(f.Input, ".input."+suf) {
			return suf
		}
	}
	return ""
}

// TestFastAndExplainAgree: on every input fixture, the evaluation without
// explain (which takes the allocation-free path for string rules) and the
// one with explain give the same items, inbound changes and errors.
func TestFastAndExplainAgree(t *testing.T) {
	set, err := mappings.Load(".")
	if err != nil {
		t.Fatal(err)
	}
	fx, err := mappings.Fixtures(".")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range fx {
		format := fixtureFormat(f)
		if format == "" {
			continue
		}
		n++
		t.Run(f.Partner+"/"+f.Name, func(t *testing.T) {
			data, err := os.ReadFile(f.Input)
			if err != nil {
				t.Fatal(err)
			}
			m := set.Get(f.Partner)
			in, err := readInput(m, format, data)
			if err != nil {
				return // a message its reader refuses never reaches the rules
			}
			if d := sameEvaluation(m, in); d != "" {
				t.Error(d)
			}
		})
	}
	if n == 0 {
		t.Fatal("no input fixtures found")
	}
}

// FuzzFastAndExplainAgree: on any input (seeded with every input fixture,
// in its format and for its partner) the readers fail only with an error
// wrapping model.ErrInvalid, nothing panics, and the fast and the explain
// evaluation agree.
func FuzzFastAndExplainAgree(f *testing.F) {
	set, err := mappings.Load(".")
	if err != nil {
		f.Fatal(err)
	}
	fx, err := mappings.Fixtures(".")
	if err != nil {
		f.Fatal(err)
	}
	for _, x := range fx {
		if format := fixtureFormat(x); format != "" {
			if data, err := os.ReadFile(x.Input); err == nil {
				f.Add(x.Partner, format, data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, partner, format string, data []byte) {
		m := set.Get(partner)
		if m == nil {
			return
		}
		in, err := readInput(m, format, data)
		if err != nil {
			if format != "json" && !errors.Is(err, model.ErrInvalid) {
				t.Fatalf("reading %s: %v does not wrap model.ErrInvalid", format, err)
			}
			return
		}
		if d := sameEvaluation(m, in); d != "" {
			t.Fatal(d)
		}
	})
}
