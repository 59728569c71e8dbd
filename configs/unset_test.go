package configs

import (
	"testing"
)

// A vendor whose endpoint or email variable is unset is disabled with a note
// naming the variable to set, from the config file and from a catalog
// document alike.
func TestVendorNoteNamesTheUnsetVariable(t *testing.T) {
	env := func(name string) (string, bool) {
		if name == "MAIL_TO" {
			return "", true // set but empty counts as unset
		}
		return "", false
	}
	doc := []byte(`
vendors:
  acme:
    transport: http
    endpoint: ${ACME_URL}
  mailer:
    transport: smtp
    email: {to: "${MAIL_TO}"}
`)
	cfg, err := Load(doc, env)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.VendorNotes["acme"], "disabled: its endpoint is empty: set ACME_URL"; got != want {
		t.Errorf("acme note = %q, want %q", got, want)
	}
	if got, want := cfg.VendorNotes["mailer"], "disabled: its email address is empty: set MAIL_TO"; got != want {
		t.Errorf("mailer note = %q, want %q", got, want)
	}
	_, note, err := ResolveVendor("acme", []byte(`{"transport":"http","endpoint":"${ACME_URL}","permissions":{"service_types":["incident"]}}`), env, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "disabled: its endpoint is empty: set ACME_URL"; note != want {
		t.Errorf("catalog note = %q, want %q", note, want)
	}
}
