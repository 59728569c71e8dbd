package mail

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/equus/sogateway/internal/inbound"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/mappings"
)

// recordingReceiver keeps the Input of every message the Intake hands over.
type recordingReceiver struct {
	mu   sync.Mutex
	seen map[string]mappings.Input // by the raw mail
}

func (r *recordingReceiver) Receive(_ context.Context, msg inbound.Message) ([]inbound.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen[lf(msg.Raw)] = msg.Input
	return []inbound.Result{{Outcome: &model.Outcome{}}}, nil
}

func (r *recordingReceiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

// lf is raw with CRLF line ends as LF: the IMAP server stores a mail with
// CRLF whatever the file has.
func lf(raw []byte) string { return strings.ReplaceAll(string(raw), "\r\n", "\n") }

// TestReadInputIsWhatTheIntakeHandsOver: every ssp7 mail fixture that
// ReadInput accepts reaches the inbound path from a real Intake (on the
// memory IMAP server and on Dovecot, with the rules of the ssp7 mapping) as the very same
// Input, so a fixture's result is production's; the ones ReadInput refuses
// are quarantined by the Intake for the same reason.
func TestReadInputIsWhatTheIntakeHandsOver(t *testing.T) {
	set, err := mappings.Load("../mappings")
	if err != nil {
		t.Fatal(err)
	}
	m := set.Get("ssp7")
	files, _ := filepath.Glob("../mappings/ssp7/fixtures/*.input.eml")
	if len(files) == 0 {
		t.Fatal("no ssp7 mail fixtures")
	}
	for _, sv := range []int{0, 2} { // the memory server and, in the integration run, Dovecot
		t.Run(servers[sv].name, func(t *testing.T) {
			srv := servers[sv].new(t)
			adm := newAdmin(t, srv)
			adm.create(testInbox)
			want := map[string]mappings.Input{}
			names := map[string]string{}   // raw -> file
			refused := map[string]string{} // file -> reason
			for _, f := range files {
				raw, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				in, err := ReadInput(m, raw)
				var re *mappings.ReadError
				switch {
				case errors.As(err, &re):
					refused[filepath.Base(f)] = re.Reason
				case err != nil:
					t.Fatalf("ReadInput(%s) = %v", f, err)
				default:
					want[lf(raw)] = in
					names[lf(raw)] = filepath.Base(f)
				}
				adm.append(testInbox, raw)
			}
			rec := &recordingReceiver{seen: map[string]mappings.Input{}}
			in := NewIntake(testConfig(srv), RulesOf(m.Spec().Mail), rec, nil, &Options{Logger: quietLogger()})
			startIntake(t, in)
			eventually(t, "every mail read", func() bool {
				return rec.count() == len(want) && adm.count("Quarantine") == len(refused)
			})
			for raw, w := range want {
				got := rec.seen[raw]
				if got.Protocol != w.Protocol || string(got.Body) != string(w.Body) {
					t.Errorf("%s: the Intake hands over\n%s\nReadInput gives\n%s", names[raw], got.Body, w.Body)
				}
			}
			st := in.Status()
			for f, reason := range refused {
				if st.QuarantinedBy[reason] == 0 {
					t.Errorf("%s: ReadInput refuses it as %s, the Intake quarantined %v", f, reason, st.QuarantinedBy)
				}
			}
		})
	}
}
