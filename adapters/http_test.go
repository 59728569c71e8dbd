package adapters

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/stdwebhooks"
)

func envOf(m map[string]string) *Env {
	return &Env{
		LookupEnv: func(k string) (string, bool) { v, ok := m[k]; return v, ok },
		Now:       func() time.Time { return time.Unix(1614265330, 0) },
	}
}

func msg(body string) *Message {
	return &Message{DeliveryID: "dlv_123", Vendor: "acme", Body: []byte(body), ContentType: "application/json",
		Order: &model.Order{ID: "o1"}, Attempt: 1}
}

func mustKey(secret string) []byte {
	k, err := stdwebhooks.ParseSecret(secret)
	if err != nil {
		panic(err)
	}
	return k
}

// TestHTTPSigningSecretFormat: the push side reads a Standard Webhooks
// secret as partnerauth's verifier does (internal/stdwebhooks): whsec_ is
// optional, the rest is base64; a raw secret disables the vendor with
// ErrMissingCredential naming the variable instead of signing with bytes a
// specification-following receiver would never accept.
func TestHTTPSigningSecretFormat(t *testing.T) {
	cfg := &configs.VendorConfig{Endpoint: "http://127.0.0.1:1/", Signing: configs.SigningConfig{SecretEnv: "WH"}}
	for _, raw := range []string{"s3cret-password!", "whsec_not base64"} {
		_, err := NewRegistry().Build("http", "acme", cfg, envOf(map[string]string{"WH": raw}))
		if !errors.Is(err, ErrMissingCredential) || !errors.Is(err, stdwebhooks.ErrSecret) || !strings.Contains(err.Error(), "WH") {
			t.Errorf("Build(secret %q) = %v, want ErrMissingCredential and stdwebhooks.ErrSecret naming WH", raw, err)
		}
	}
	a, err := NewRegistry().Build("http", "acme", cfg, envOf(map[string]string{"WH": "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}))
	if err != nil {
		t.Fatalf("Build(secret without whsec_) = %v, want it accepted", err)
	}
	if k := a.(*HTTP).signKey; string(k) != string(mustKey("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")) {
		t.Errorf("signKey without the prefix = %x, want the same key as with it", k)
	}
}

func TestHTTPDeliverSendsAuthAndSignature(t *testing.T) {
	var got *http.Request
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		body, _ = io.ReadAll(r.Body)
		w.WriteHeader(202)
		io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()
	cfg := &configs.VendorConfig{Endpoint: srv.URL + "/orders", Auth: configs.OutboundAuth{Kind: "bearer", TokenEnv: "TOK"},
		Signing: configs.SigningConfig{SecretEnv: "WH"}}
	a, err := NewRegistry().Build("http", "acme", cfg, envOf(map[string]string{"TOK": "s3cret", "WH": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}))
	if err != nil {
		t.Fatal(err)
	}
	m := msg(`{"order":"o1"}`)
	m.Headers = map[string]string{"X-Equus-Event": "order.submitted"}
	res, err := a.Deliver(context.Background(), m)
	if err != nil {
		t.Fatalf("Deliver() error = %v", err)
	}
	if res.StatusCode != 202 || res.Response != `{"ok":true}` {
		t.Errorf("Deliver() = %+v, want 202 and the answer", res)
	}
	if got.Method != "POST" || got.URL.Path != "/orders" || string(body) != `{"order":"o1"}` {
		t.Errorf("request = %s %s %s", got.Method, got.URL.Path, body)
	}
	checks := map[string]string{
		"Authorization":     "Bearer s3cret",
		"Content-Type":      "application/json",
		"Webhook-Id":        "dlv_123",
		"Webhook-Timestamp": "1614265330",
		"X-Delivery-Id":     "dlv_123",
		"X-Equus-Event":     "order.submitted",
		"Webhook-Signature": stdwebhooks.Sign(mustKey("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "dlv_123", 1614265330, []byte(`{"order":"o1"}`)),
	}
	for k, want := range checks {
		if v := got.Header.Get(k); v != want {
			t.Errorf("header %s = %q, want %q", k, v, want)
		}
	}
}

func TestHTTPBasicAndHeaderAuth(t *testing.T) {
	var user, pass, key string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ = r.BasicAuth()
		key = r.Header.Get("X-Api-Key")
	}))
	defer srv.Close()
	env := envOf(map[string]string{"U": "alice", "P": "pw", "K": "k1"})
	a, err := NewHTTP("acme", &configs.VendorConfig{Endpoint: srv.URL, Auth: configs.OutboundAuth{Kind: "basic", UserEnv: "U", PasswordEnv: "P"}}, env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Deliver(context.Background(), msg("{}")); err != nil || user != "alice" || pass != "pw" {
		t.Errorf("basic: err=%v user=%q pass=%q", err, user, pass)
	}
	a, err = NewHTTP("acme", &configs.VendorConfig{Endpoint: srv.URL, Auth: configs.OutboundAuth{Kind: "header", Header: "X-Api-Key", TokenEnv: "K"}}, env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Deliver(context.Background(), msg("{}")); err != nil || key != "k1" {
		t.Errorf("header: err=%v key=%q", err, key)
	}
}

func TestMissingCredentialNamesVariable(t *testing.T) {
	_, err := NewRegistry().Build("http", "acme", &configs.VendorConfig{Endpoint: "http://x", Auth: configs.OutboundAuth{Kind: "bearer", TokenEnv: "ACME_TOKEN"}}, envOf(nil))
	if !errors.Is(err, ErrMissingCredential) || !strings.Contains(err.Error(), "ACME_TOKEN") {
		t.Fatalf("Build() = %v, want ErrMissingCredential naming ACME_TOKEN", err)
	}
	_, err = NewRegistry().Build("fax", "acme", &configs.VendorConfig{}, nil)
	if !errors.Is(err, ErrUnknownTransport) || !strings.Contains(err.Error(), "http, smtp, soap") {
		t.Fatalf("Build(fax) = %v, want ErrUnknownTransport listing the known ones", err)
	}
}

func TestHTTPClassifiesAnswers(t *testing.T) {
	now := time.Unix(1614265330, 0)
	tests := []struct {
		status     int
		retryAfter string
		kind       error
		wantAfter  time.Duration
	}{
		{200, "", nil, 0},
		{204, "", nil, 0},
		{410, "", ErrGone, 0},
		{429, "120", ErrTransient, 120 * time.Second},
		{503, now.Add(90 * time.Second).UTC().Format(http.TimeFormat), ErrTransient, 90 * time.Second},
		{503, "", ErrTransient, 0},
		{500, "", ErrTransient, 0},
		{502, "", ErrTransient, 0},
		{408, "", ErrTransient, 0},
		{400, "", ErrPermanent, 0},
		{401, "", ErrPermanent, 0},
		{404, "", ErrPermanent, 0},
		{422, "", ErrPermanent, 0},
	}
	for _, tt := range tests {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tt.retryAfter != "" {
				w.Header().Set("Retry-After", tt.retryAfter)
			}
			w.WriteHeader(tt.status)
			io.WriteString(w, "answer\n  text")
		}))
		a, _ := NewHTTP("acme", &configs.VendorConfig{Endpoint: srv.URL}, envOf(nil))
		_, err := a.Deliver(context.Background(), msg("{}"))
		srv.Close()
		if tt.kind == nil {
			if err != nil {
				t.Errorf("Deliver(%d) = %v, want success", tt.status, err)
			}
			continue
		}
		var de *DeliveryError
		if !errors.Is(err, tt.kind) || !errors.As(err, &de) {
			t.Errorf("Deliver(%d) = %v, want %v", tt.status, err, tt.kind)
			continue
		}
		if de.StatusCode != tt.status || de.RetryAfter != tt.wantAfter || !strings.Contains(de.Error(), "answer text") {
			t.Errorf("Deliver(%d) = %+v (%s), want status %d retry-after %v", tt.status, de, de, tt.status, tt.wantAfter)
		}
	}
}

func TestHTTPNetworkFailuresAreTransientAndHideSecrets(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	url := srv.URL
	srv.Close()
	a, _ := NewHTTP("acme", &configs.VendorConfig{Endpoint: url + "/x?token=topsecret", Auth: configs.OutboundAuth{Kind: "bearer", TokenEnv: "T"}},
		envOf(map[string]string{"T": "topsecret"}))
	_, err := a.Deliver(context.Background(), msg("{}"))
	if !errors.Is(err, ErrTransient) {
		t.Fatalf("Deliver(closed) = %v, want ErrTransient", err)
	}
	if strings.Contains(err.Error(), "topsecret") {
		t.Errorf("error %q leaks the secret", err)
	}

	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer slow.Close()
	defer close(block)
	a, _ = NewHTTP("acme", &configs.VendorConfig{Endpoint: slow.URL, Timeout: 50 * time.Millisecond}, envOf(nil))
	_, err = a.Deliver(context.Background(), msg("{}"))
	if !errors.Is(err, ErrTransient) || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("Deliver(slow) = %v, want a transient timeout", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for in, want := range map[string]time.Duration{"": 0, "0": 0, "30": 30 * time.Second, "-5": 0, "soon": 0,
		now.Add(time.Hour).Format(http.TimeFormat): time.Hour, now.Add(-time.Hour).Format(http.TimeFormat): 0} {
		if got := ParseRetryAfter(in, now); got != want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, s := range []string{"", "0", "120", "-1", "99999999999999999999", "Fri, 02 Jan 2026 04:04:05 GMT", "soon"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d := ParseRetryAfter(s, now); d < 0 {
			t.Errorf("ParseRetryAfter(%q) = %v, want never negative", s, d)
		}
	})
}

func TestHTTPDoesNotFollowRedirects(t *testing.T) {
	var gets int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			gets++
			return
		}
		http.Redirect(w, r, "/moved", http.StatusFound)
	}))
	defer srv.Close()
	a, _ := NewHTTP("acme", &configs.VendorConfig{Endpoint: srv.URL}, envOf(nil))
	_, err := a.Deliver(context.Background(), msg("{}"))
	if !errors.Is(err, ErrPermanent) || !strings.Contains(err.Error(), "redirects to /moved") || gets != 0 {
		t.Fatalf("Deliver(302) = %v (GETs %d), want a permanent failure naming the new location and no GET", err, gets)
	}
}
