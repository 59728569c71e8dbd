package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// walkthroughMapping returns the acme mapping of docs/mappings.md's "connect
// a new partner" walk-through, so the test runs the YAML the docs show.
func walkthroughMapping(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/mappings.md")
	if err != nil {
		t.Fatal(err)
	}
	// The mapping is the here-document of the walk-through's step 2.
	_, rest, ok := strings.Cut(string(doc), "cat > mappings/.acme/acme.yaml <<'YAML'\n")
	if !ok {
		t.Fatal("docs/mappings.md has no acme walk-through mapping")
	}
	body, _, _ := strings.Cut(rest, "   YAML\n")
	var out strings.Builder
	for _, l := range strings.SplitAfter(body, "\n") {
		out.WriteString(strings.TrimPrefix(l, "   ")) // the block is indented under its list item
	}
	return out.String()
}

func acmeSign(secret, body string) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(h.Sum(nil))
}

// TestBinaryNewPartnerFolderWithoutRestart: a partner folder added to the
// running gateway's mappings is served (route and prefixed hex HMAC) without
// a restart; a changed auth refuses the old signature at once; a removed
// folder's route is gone.
func TestBinaryNewPartnerFolderWithoutRestart(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "../../mappings", dir)
	// The folder this test adds may already be there (TestExtraPartnerFolder adds it).
	if err := os.RemoveAll(filepath.Join(dir, "acme")); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, "GATEWAY_MAPPINGS_DIR="+dir, "ACME_WEBHOOK_SECRET=first-secret", "ACME_WEBHOOK_SECRET_NEXT=second-secret")
	url := g.URL + "/partners/acme/jobs"
	post := func(body, sig string) int {
		t.Helper()
		code, _, _ := do(t, "POST", url, body, "X-Acme-Signature", sig)
		return code
	}
	created := `{"eventId":"e-1","type":"job.created","job":{"id":"J-1","ref":"WO-1","site":"Austin"}}`
	if code := post(created, acmeSign("first-secret", created)); code != http.StatusNotFound {
		t.Fatalf("POST before the folder exists = %d, want 404", code)
	}
	// Write the folder beside, then move it in: the watcher never sees half of it.
	src := walkthroughMapping(t)
	tmp := filepath.Join(dir, ".acme.new")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "acme.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "acme")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new partner's route to answer", 20*time.Second, func() bool { return post(created, acmeSign("first-secret", created)) == http.StatusCreated })
	if code := post(created, acmeSign("wrong-secret", created)); code != http.StatusUnauthorized {
		t.Errorf("POST with a wrong signature = %d, want 401", code)
	}
	if code := post(created, strings.TrimPrefix(acmeSign("first-secret", created), "sha256=")); code != http.StatusUnauthorized {
		t.Errorf("POST without the sha256= prefix = %d, want 401", code)
	}
	ready := get(t, g.URL+"/readyz")
	if !strings.Contains(ready, `"acme"`) || !strings.Contains(ready, "POST /partners/acme/jobs") {
		t.Errorf("readyz does not show the new partner and its route:\n%s", ready)
	}

	// Change its auth: the old secret's signature is refused from the same reload on.
	note := `{"eventId":"e-2","type":"job.note","job":{"ref":"WO-1","note":"on site"}}`
	edited := strings.Replace(src, "secret_env: ACME_WEBHOOK_SECRET\n", "secret_env: ACME_WEBHOOK_SECRET_NEXT\n", 1)
	if edited == src {
		t.Fatal("the walk-through mapping has no secret_env: ACME_WEBHOOK_SECRET line")
	}
	if err := os.WriteFile(filepath.Join(dir, "acme", "acme.yaml"), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the old signature to be refused", 20*time.Second, func() bool { return post(note, acmeSign("first-secret", note)) == http.StatusUnauthorized })
	if code := post(note, acmeSign("second-secret", note)); code != http.StatusOK {
		t.Errorf("POST signed with the new secret = %d, want 200", code)
	}

	// Remove the folder: the route is gone.
	if err := os.RemoveAll(filepath.Join(dir, "acme")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the removed partner's route to go", 20*time.Second, func() bool { return post(note, acmeSign("second-secret", note)) == http.StatusNotFound })
	if ready := get(t, g.URL+"/readyz"); strings.Contains(ready, "/partners/acme/") {
		t.Errorf("readyz still lists the removed partner's route:\n%s", ready)
	}
}
