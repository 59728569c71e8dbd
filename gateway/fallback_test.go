package gateway_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/gateway"
	"github.com/equus/sogateway/internal/intake"
	"github.com/equus/sogateway/internal/store"
	"github.com/equus/sogateway/internal/testutil"
)

// TestFallbackTakesUnroutedRequests checks AddFallback: a request no route
// matches goes to the first fallback that claims it, with the status that
// handler chooses (200 included: gin presets 404 on NoRoute); the others
// still get the problem+json 404.
func TestFallbackTakesUnroutedRequests(t *testing.T) {
	cfg, err := configs.Load([]byte("server:\n  max_body_bytes: 2048\n"), func(string) (string, bool) { return "", false })
	testutil.Must(t, err)
	_, rdb := testutil.MiniRedis(t)
	st := store.New(rdb, nil)
	gw := gateway.New(gateway.Deps{Config: cfg, Store: st, Intake: intake.New(st, nil), Embedded: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	claims := func(r *http.Request) bool { return strings.EqualFold(r.URL.Path, "/Svc.asmx") }
	gw.AddFallback(claims, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "svc "+r.Method) }))
	gw.AddFallback(claims, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	srv := httptest.NewServer(gw.Handler())
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		method, path string
		status       int
		body, ctype  string
	}{
		{"GET", "/svc.ASMX", 200, "svc GET", ""},
		{"POST", "/SVC.asmx", 200, "svc POST", ""},
		{"GET", "/other", 404, "", "application/problem+json"},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		testutil.Must(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || (tc.body != "" && string(b) != tc.body) || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ctype) {
			t.Errorf("%s %s = %d %q (%s), want %d %q %s", tc.method, tc.path, resp.StatusCode, b, resp.Header.Get("Content-Type"), tc.status, tc.body, tc.ctype)
		}
	}
}
