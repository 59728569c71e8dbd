package main

import (
	"os"
	"strings"
	"testing"

	"github.com/equus/sogateway/mappings"
	"github.com/equus/sogateway/soap"
)

// Markers around the generated operations table in docs/soap.md.
const (
	docTableStart = "<!-- generated from the ssp7 mapping by TestSOAPContractOneTruth (UPDATE_DOCS=1 rewrites it) -->\n"
	docTableEnd   = "<!-- end of generated table -->"
)

// TestSOAPContractOneTruth holds the SOAP contract in one place: the shipped
// ssp7 mapping, which the binary serves (WSDL, help pages, validation).
// docs/soap.md's operations table is rendered from it, so the limits stated
// anywhere are the WSDL's (the soap package's tests run against it too).
func TestSOAPContractOneTruth(t *testing.T) {
	m, err := mappings.LoadFile("../../mappings/ssp7/ssp7.yaml")
	if err != nil {
		t.Fatal(err)
	}
	served := soap.ContractOf(m.Spec().SOAP)
	const doc = "../../docs/soap.md"
	b, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok1 := strings.Cut(string(b), docTableStart)
	got, after, ok2 := strings.Cut(rest, docTableEnd)
	if !ok1 || !ok2 {
		t.Fatalf("%s lacks the generated table's markers", doc)
	}
	want := served.DocTable()
	if os.Getenv("UPDATE_DOCS") == "1" {
		if err := os.WriteFile(doc, []byte(before+docTableStart+want+docTableEnd+after), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got != want {
		t.Errorf("%s's operations table differs from the served contract (UPDATE_DOCS=1 rewrites it):\n got %s\nwant %s", doc, got, want)
	}
}
