package soap

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/equus/sogateway/mappings"
)

// TestReadIsWhatTheHandlerServes: every ssp7 SOAP fixture, posted to a
// Handler serving the ssp7 mapping's contract, reaches the backend as the
// Call Contract.Read makes of the same bytes (same operation, parameters,
// MessageID, version and document), and one Read refuses is answered with
// the same fault reason; so ReadInput, the fixtures' reader, is production's.
func TestReadIsWhatTheHandlerServes(t *testing.T) {
	set, err := mappings.Load("../mappings")
	if err != nil {
		t.Fatal(err)
	}
	c := ContractOf(set.Get("ssp7").Spec().SOAP)
	rec := &recorder{}
	h, err := NewHandler(c, rec, &Options{Users: []User{{Name: "provider1", Password: NewSecret("not-logged")}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../mappings/ssp7/fixtures/*.input.xml")
	if len(files) == 0 {
		t.Fatal("no ssp7 SOAP fixtures")
	}
	refusals := 0
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want, fault := c.Read(body)
			ct := "text/xml; charset=utf-8"
			if bytes.Contains(body, []byte(nsEnv12)) {
				ct = "application/soap+xml; charset=utf-8"
			}
			req := httptest.NewRequest(http.MethodPost, c.Path, bytes.NewReader(body))
			req.Header.Set("Content-Type", ct)
			wsse := bytes.Contains(body, []byte("UsernameToken"))
			if !wsse {
				req.SetBasicAuth("provider1", "not-logged")
			}
			before := len(rec.Calls())
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			calls := rec.Calls()
			if fault != nil {
				refusals++
				if len(calls) != before || !strings.Contains(w.Body.String(), "<Reason>"+fault.Reason+"</Reason>") {
					t.Errorf("Read faults %s; the handler answered %d %s", fault.Reason, w.Code, w.Body.String())
				}
				return
			}
			if len(calls) != before+1 {
				t.Fatalf("Read accepts it; the handler answered %d %s", w.Code, w.Body.String())
			}
			got := calls[len(calls)-1]
			if !wsse {
				want.Username = "provider1" // HTTP Basic, which Read does not see
			}
			if got.Operation != want.Operation || got.MessageID != want.MessageID || got.Version != want.Version ||
				string(got.Document()) != string(want.Document()) {
				t.Errorf("the handler invokes %s %s %s %s\nRead gives %s %s %s %s", got.Operation, got.MessageID, got.Version, got.Document(),
					want.Operation, want.MessageID, want.Version, want.Document())
			}
		})
	}
	if refusals == 0 {
		t.Error("no fixture exercises a refusal")
	}
}
