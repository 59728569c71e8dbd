package gateway_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/gateway"
	"github.com/equus/sogateway/internal/access"
	"github.com/equus/sogateway/internal/intake"
	"github.com/equus/sogateway/internal/store"
	"github.com/equus/sogateway/internal/testutil"
)

// BenchmarkMiddleware measures what every request pays before and after its
// handler (request id, panic guard, metrics, the access log line as JSON,
// body limit, authentication) on GET /healthz, whose handler does almost
// nothing.
func BenchmarkMiddleware(b *testing.B) {
	cfg, err := configs.Load([]byte("{}\n"), func(string) (string, bool) { return "", false })
	testutil.Must(b, err)
	_, rdb := testutil.MiniRedis(b)
	st := store.New(rdb, nil)
	log := slog.New(gateway.ContextHandler{Handler: slog.NewJSONHandler(io.Discard, nil)})
	gw := gateway.New(gateway.Deps{Config: cfg, Store: st, Intake: intake.New(st, nil), Embedded: true, Logger: log,
		Access: access.NewKeys(rdb, &access.Options{AdminToken: testutil.AdminToken})})
	h := gw.Handler()
	req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("GET /healthz = %d", w.Code)
		}
	}
}
