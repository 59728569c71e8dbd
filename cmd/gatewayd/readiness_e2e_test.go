package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

// TestReadyzNamesVendorMissingCredential starts the binary with vendors whose
// endpoints are set but whose credential variables are not: /readyz names
// each vendor and the variable it lacks, without Go package prefixes, and
// stays ready (their deliveries wait).
func TestReadyzNamesVendorMissingCredential(t *testing.T) {
	g := startGateway(t, "ACME_MOVERS_URL=http://127.0.0.1:9/hook", "ACME_MOVERS_TOKEN=dev-token", "ACME_MOVERS_WEBHOOK_SECRET=",
		"ACME_MOVERS_PULL_KEY=", "EMG_URL=http://127.0.0.1:9/emg", "EMG_SIGNING_KEY_FILE=", "SSP7_PROVIDER_URL=")
	want := []string{
		"acme-movers: ACME_MOVERS_WEBHOOK_SECRET is not set",
		"acme-movers: pull is off: ACME_MOVERS_PULL_KEY is not set",
		"emg: EMG_SIGNING_KEY_FILE is not set",
		"ssp7-provider: disabled: its endpoint is empty: set SSP7_PROVIDER_URL",
	}
	var body []byte
	var code int
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(g.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		code = resp.StatusCode
		warn := gjson.GetBytes(body, "checks.vendors.warning").String()
		missing := ""
		for _, w := range want {
			if !strings.Contains(warn, w) {
				missing = w
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz vendors warning %q lacks %q\n%s", warn, missing, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code != http.StatusOK {
		t.Errorf("/readyz = %d, want 200 (a vendor without credentials does not make the gateway unready)", code)
	}
	if r := gjson.GetBytes(body, "checks.vendors.detail.acme-movers.reason").String(); r != "ACME_MOVERS_WEBHOOK_SECRET is not set" {
		t.Errorf("acme-movers reason = %q, want the variable it lacks", r)
	}
	if strings.Contains(string(body), "adapters:") || strings.Contains(string(body), "soap:") || strings.Contains(string(body), "missing credential") {
		t.Errorf("/readyz shows Go error text:\n%s", body)
	}
}
