package mappings

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/equus/sogateway/internal/model"
)

func shipped(t *testing.T) *Set {
	t.Helper()
	s, err := Load(".")
	if err != nil {
		t.Fatalf("Load(.) = %v", err)
	}
	return s
}

func TestTranslateRejectsBadInput(t *testing.T) {
	m := shipped(t).Get("pruvan")
	if _, err := m.Translate(Input{Body: []byte(`{"workOrders":[`)}); !errors.Is(err, model.ErrInvalid) {
		t.Errorf("Translate(truncated JSON) = %v, want ErrInvalid", err)
	}
	_, err := m.Translate(Input{Body: []byte(`{"workOrders":[]}`), Settings: map[string]string{"integration": "both"}})
	if !errors.Is(err, model.ErrInvalid) || !strings.Contains(err.Error(), "setting integration") {
		t.Errorf("Translate(bad setting) = %v, want ErrInvalid naming the setting", err)
	}
}

// TestOwnershipDeclaredInYAML applies a translated Pruvan create to an order
// and checks that the owners declared in the mapping are enforced by the model.
func TestOwnershipDeclaredInYAML(t *testing.T) {
	m := shipped(t).Get("pruvan")
	body, err := os.ReadFile("pruvan/fixtures/create-seed-example.input.json")
	if err != nil {
		t.Fatal(err)
	}
	in, err := parseInput(body)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Translate(in)
	if err != nil || b.Items[0].Err != nil {
		t.Fatalf("Translate = %v / %v", err, b.Items[0].Err)
	}
	inb := b.Items[0].Inbound
	o := &model.Order{Partner: "pruvan", Status: model.StatusNew}
	if _, err := o.Apply(&inb.Patch, inb.Options); err != nil {
		t.Fatalf("Apply(partner create) = %v", err)
	}
	if f := o.Fields["client_due_date"]; f.Owner != model.OwnerPartner || f.LastWriter != "pruvan" {
		t.Errorf("client_due_date = %+v, want owner partner, writer pruvan", f)
	}
	_, err = o.Apply(&model.Patch{Fields: map[string]any{"client_due_date": "2021-01-01T00:00:00Z"}}, model.ApplyOptions{Owners: inb.Options.Owners})
	if !errors.Is(err, model.ErrRefused) {
		t.Errorf("platform edit of a remote-owned field = %v, want ErrRefused", err)
	}
	if _, err := o.Apply(&model.Patch{Fields: map[string]any{"description": "by a user"}}, model.ApplyOptions{Owners: inb.Options.Owners}); err != nil {
		t.Errorf("platform edit of a shared field = %v, want nil", err)
	}
}

func TestMappingAccessors(t *testing.T) {
	s := shipped(t)
	// Every partner folder is a loaded mapping, whatever folders are added or removed.
	dirs, err := partnerDirs(".")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(s.Names(), ","), strings.Join(dirs, ","); got != want {
		t.Errorf("Names() = %s, want the partner folders %s", got, want)
	}
	if s.Get("nobody") != nil {
		t.Error("Get(nobody) != nil")
	}
	m := s.Get("extend")
	sp := m.Spec()
	if sp.Auth.Header != "X-Extend-Access-Token" || sp.Auth.SecretEnv != "EXTEND_ACCESS_TOKEN" {
		t.Errorf("extend auth = %+v", sp.Auth)
	}
	if len(sp.Routes) != 1 || sp.Routes[0].Path != "/service-orders/:id/update-repair" || sp.Routes[0].Method != "POST" {
		t.Errorf("extend routes = %+v", sp.Routes)
	}
	if !strings.HasPrefix(m.Version(), "sha256:") || len(m.Version()) != len("sha256:")+12 {
		t.Errorf("Version() = %q", m.Version())
	}
	ssp := s.Get("ssp7").Spec()
	if ssp.SOAP == nil || len(ssp.SOAP.Operations) != 3 || ssp.Mail == nil || ssp.Mail.ActionTag != "Action" {
		t.Errorf("ssp7 soap/mail spec = %+v / %+v", ssp.SOAP, ssp.Mail)
	}
	if _, err := s.Get("equus").Render("nope", nil, nil, nil); !errors.Is(err, ErrUnknownRender) {
		t.Errorf("Render(nope) = %v, want ErrUnknownRender", err)
	}
}

func TestLoadSkipsNonPartnerFolders(t *testing.T) {
	dir := writeMapping(t, "p", reloadSrc2)
	for _, d := range []string{"testdata/fuzz/FuzzTranslate", "_scratch", ".git"} {
		if err := os.MkdirAll(dir+"/"+d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Load(dir)
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	if got := strings.Join(s.Names(), ","); got != "p" {
		t.Errorf("Names() = %q, want p", got)
	}
	if err := os.MkdirAll(dir+"/q", 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = Load(dir)
	if err == nil || !strings.Contains(err.Error(), "q.yaml:1:1: partner folder q has no q.yaml") {
		t.Errorf("Load with an empty partner folder = %v", err)
	}
}

// TestTranslateConcurrent runs every JSON fixture from several goroutines at
// once (go test -race shows shared state).
func TestTranslateConcurrent(t *testing.T) {
	s := shipped(t)
	fx, _ := Fixtures(".")
	var ins []struct {
		m  *Mapping
		in Input
	}
	for _, f := range fx {
		if !strings.HasSuffix(f.Input, ".input.json") {
			continue
		}
		data, _ := os.ReadFile(f.Input)
		in, err := parseInput(data)
		if err != nil {
			t.Fatal(err)
		}
		ins = append(ins, struct {
			m  *Mapping
			in Input
		}{s.Get(f.Partner), in})
	}
	done := make(chan struct{})
	for g := 0; g < 4; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for _, x := range ins {
				b, err := x.m.Translate(x.in)
				if err == nil {
					for _, it := range b.Items {
						if it.Inbound != nil && it.Inbound.Data != nil {
							it.Inbound.Data["touched"] = true // callers may keep and change results
						}
					}
				}
			}
		}()
	}
	for g := 0; g < 4; g++ {
		<-done
	}
}

func TestTranslateRuntimeTypeOfAccepted(t *testing.T) {
	dir := writeMapping(t, "p", "partner: p\nprotocols: [rest]\ninbound:\n  - kind: k\n    event: order.updated\n    rules:\n      - {to: target.order_id, from: id}\n      - {to: accepted, from: ok}\n")
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Get("p").Translate(Input{Body: []byte(`{"id":"o1","ok":"yes"}`)})
	if err != nil {
		t.Fatal(err)
	}
	var re *RuleError
	if !errors.As(b.Items[0].Err, &re) || re.Path != "ok" || re.Field != "accepted" || re.Rule != "p.yaml:8" || !errors.Is(re, model.ErrInvalid) {
		t.Errorf("Translate(accepted: \"yes\") err = %#v, want a RuleError at p.yaml:8 on ok", b.Items[0].Err)
	}
	b, _ = s.Get("p").Translate(Input{Body: []byte(`{"id":"o1","ok":true}`)})
	if b.Items[0].Err != nil || b.Items[0].Inbound.Patch.Accepted == nil || !*b.Items[0].Inbound.Patch.Accepted {
		t.Errorf("Translate(accepted: true) = %+v", b.Items[0])
	}
}

// TestNoKindMatchesSaysWhatWasExpected: the partner is told which values the
// kinds expect where its message differs, not a rule position of ours.
func TestNoKindMatchesSaysWhatWasExpected(t *testing.T) {
	m := shipped(t).Get("emg")
	for _, tc := range []struct{ body, want string }{
		{`{"Task":{"Id":"1","Verb":"Dance","Resource":"BreakFix"}}`, `Task.Verb: "Dance" is not one of: Ack, Update, Create`},
		{`{"Task":{"Id":"1","Verb":"Update"}}`, `Task.Resource: is missing (expected one of: BreakFix, Shipping, WorkVisit, SmartHands, CrossConnect, TroubleTicket.ManagedService)`},
	} {
		b, err := m.Translate(Input{Body: []byte(tc.body)})
		if err != nil {
			t.Fatal(err)
		}
		got := b.Items[0].Err
		if got == nil || got.Error() != tc.want || !errors.Is(got, model.ErrInvalid) {
			t.Errorf("Translate(%s) error = %v, want %q", tc.body, got, tc.want)
		}
		if got != nil && strings.Contains(got.Error(), ".yaml") {
			t.Errorf("the error names a rule position: %v", got)
		}
	}
}
