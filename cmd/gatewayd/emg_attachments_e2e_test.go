package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/equus/sogateway/internal/testutil"
)

// TestBinaryEMGAttachmentLimit: EMG takes attachments of at most 5 MB each
// (seed 003; vendor emg's max_attachment_bytes). Save and Send of an order
// with a larger attachment is refused with 422 naming it and nothing
// reaches EMG; at the limit, the Task goes out with the attachment's link.
func TestBinaryEMGAttachmentLimit(t *testing.T) {
	ours, err := rsa.GenerateKey(rand.Reader, 2048)
	testutil.Must(t, err)
	priv, _ := x509.MarshalPKCS8PrivateKey(ours)
	emg := &emgReceiver{pub: &ours.PublicKey}
	es := httptest.NewServer(emg)
	t.Cleanup(es.Close)
	g := startGateway(t, "EMG_URL="+es.URL, "EMG_SIGNING_KEY_FILE="+writeKey(t, filepath.Join(t.TempDir(), "ours.pem"), "PRIVATE KEY", priv))
	order := func(ref string, size int64) string {
		t.Helper()
		code, _, o := do(t, "POST", g.URL+"/v1/orders", fmt.Sprintf(`{"partner":"emg","company":"globex","service_type":"breakfix",
			"refs":{"requestor":%q},"fields":{"description":"Replace failed PSU in cage 4"},
			"attachments":[{"name":"photo.jpg","size":1000,"url":"https://files.example/photo.jpg"},
			               {"name":"rack-report.pdf","size":%d,"url":"https://files.example/rack-report.pdf"}]}`, ref, size))
		if code != 201 {
			t.Fatalf("create = %d %v", code, o)
		}
		return o["id"].(string)
	}
	const limit = 5 << 20
	big := order("REQ-BIG", limit+1)
	code, _, p := do(t, "POST", g.URL+"/v1/orders/"+big+"/send", "")
	if code != 422 || !strings.Contains(fmt.Sprint(p["errors"]), "attachments[1].size") ||
		!strings.Contains(fmt.Sprint(p["errors"]), fmt.Sprintf("rack-report.pdf is %d bytes; vendor emg takes at most %d", limit+1, limit)) {
		t.Fatalf("send with a %d-byte attachment = %d %v, want 422 naming attachments[1].size", limit+1, code, p)
	}
	if _, _, ds := do(t, "GET", g.URL+"/v1/orders/"+big+"/deliveries", ""); len(ds["deliveries"].([]any)) != 0 {
		t.Fatalf("a refused send queued deliveries: %v", ds)
	}
	fits := order("REQ-FITS", limit)
	if code, _, r := do(t, "POST", g.URL+"/v1/orders/"+fits+"/send", ""); code != 202 {
		t.Fatalf("send with a %d-byte attachment = %d %v, want 202", limit, code, r)
	}
	waitFor(t, "EMG to receive the Task", 30*time.Second, func() bool { return emg.count() == 1 })
	emg.mu.Lock()
	task := gjson.Parse(emg.tasks[0])
	emg.mu.Unlock()
	if task.Get("Body.RequestorId").String() != "REQ-FITS" || task.Get("Body.Attachments.1.Url").String() != "https://files.example/rack-report.pdf" {
		t.Fatalf("Task = %s, want REQ-FITS with the attachment links", task.Raw)
	}
}
