package soap

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// BenchmarkUpdateMessage measures ProcessInstanceTaskExternalUpdateMessage
// calls through the handler in process (HTTP Basic, SOAP 1.1, a backend that
// does nothing), and reports requests per second.
func BenchmarkUpdateMessage(b *testing.B) {
	for _, bc := range []struct {
		name, ct, header string
	}{
		{"basic-1.1", "text/xml; charset=utf-8", ""},
		{"wsse-text-1.2", "application/soap+xml; charset=utf-8", textToken(testUser, testPassword)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			v := V11
			if strings.HasPrefix(bc.ct, "application") {
				v = V12
			}
			body := env(v, bc.header, opBody(upd, "taskId", "T-1001", "message",
				"Technician on site, part ordered; expected resolution tomorrow &amp; a follow-up call."))
			h := newTestHandler(b, BackendFunc(func(context.Context, *Call) (string, error) { return "OK", nil }), nil)
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			start := time.Now()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, DefaultPath, strings.NewReader(body))
				r.Header.Set("Content-Type", bc.ct)
				if bc.header == "" {
					r.SetBasicAuth(testUser, testPassword)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatalf("POST = %d %s", w.Code, w.Body)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
		})
	}
}
