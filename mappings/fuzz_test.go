package mappings

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/equus/sogateway/internal/model"
)

// FuzzTranslate feeds random JSON (and non-JSON) to every shipped mapping:
// Translate must not panic, and every item must either carry an Inbound that
// names its partner, kind and idempotency key, or an error that wraps
// model.ErrInvalid or model.ErrRefused.
func FuzzTranslate(f *testing.F) {
	set, err := Load(".")
	if err != nil {
		f.Fatal(err)
	}
	fx, _ := Fixtures(".")
	for _, x := range fx {
		if filepath.Ext(x.Input) != ".json" {
			continue
		}
		if data, err := os.ReadFile(x.Input); err == nil {
			if in, err := parseInput(data); err == nil {
				f.Add(string(in.Body), "", "")
			}
		}
	}
	f.Add(`{"workOrders":[{"workOrderNumber":1,"address1":"x","services":[{}]}]}`, "id", "internal")
	f.Add(`{"event":"batched","availabilityWindows":[1e400,"x",null]}`, "so", "")
	f.Add(`[]`, "", "")
	f.Add(`{"Task":"{\"Verb\":\"Create\"}"}`, "", "")
	f.Fuzz(func(t *testing.T, body, id, integration string) {
		for _, name := range set.Names() {
			m := set.Get(name)
			in := Input{Body: []byte(body), Params: map[string]string{"id": id}, Explain: len(body)%2 == 0}
			if integration == "internal" || integration == "external" {
				in.Settings = map[string]string{"integration": integration}
			}
			b, err := m.Translate(in)
			if err != nil {
				if !errors.Is(err, model.ErrInvalid) {
					t.Fatalf("%s: Translate error %v does not wrap ErrInvalid", name, err)
				}
				continue
			}
			for _, it := range b.Items {
				if (it.Inbound == nil) == (it.Err == nil) {
					t.Fatalf("%s: item %d has inbound=%v err=%v, want exactly one", name, it.Index, it.Inbound != nil, it.Err)
				}
				if it.Err != nil {
					var re *RuleError
					if !errors.As(it.Err, &re) || !(errors.Is(it.Err, model.ErrInvalid) || errors.Is(it.Err, model.ErrRefused)) {
						t.Fatalf("%s: item error %v is not a RuleError wrapping ErrInvalid/ErrRefused", name, it.Err)
					}
					continue
				}
				inb := it.Inbound
				if inb.Partner != name || inb.Kind == "" || !inb.Event.Valid() {
					t.Fatalf("%s: incomplete inbound %+v", name, inb)
				}
				if inb.Patch.Status != nil && !inb.Patch.Status.Valid() {
					t.Fatalf("%s: invalid canonical status %q", name, *inb.Patch.Status)
				}
				for _, fl := range inb.Patch.AddFlags {
					if fl != model.FlagRush && fl != model.FlagRework {
						t.Fatalf("%s: invalid flag %q", name, fl)
					}
				}
			}
		}
	})
}
