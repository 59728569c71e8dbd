package adapters

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/stdwebhooks"
)

func BenchmarkSignWebhook(b *testing.B) {
	key := mustKey("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	body := make([]byte, 1024)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		stdwebhooks.Sign(key, "dlv_0123456789abcdef01234567", 1614265330, body)
	}
}

// BenchmarkHTTPDeliver measures one signed, authenticated 1 KiB JSON delivery
// to a local server over keep-alive connections.
func BenchmarkHTTPDeliver(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	defer srv.Close()
	a, err := NewHTTP("acme", &configs.VendorConfig{Endpoint: srv.URL, Auth: configs.OutboundAuth{Kind: "bearer", TokenEnv: "T"},
		Signing: configs.SigningConfig{SecretEnv: "S"}}, envOf(map[string]string{"T": "tok", "S": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}))
	if err != nil {
		b.Fatal(err)
	}
	m := msg(string(make([]byte, 1024)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Deliver(context.Background(), m); err != nil {
			b.Fatal(err)
		}
	}
}
