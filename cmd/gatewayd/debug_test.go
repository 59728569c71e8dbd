package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/equus/sogateway/internal/testutil"
)

func TestDebugAddrServesTheProfilerOnLoopbackOnly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, addr := range []string{"0.0.0.0:6060", ":6060", "10.1.2.3:6060", "gw.example.com:6060", "6060"} {
		err := serveDebug(ctx, addr, log)
		if err == nil || !strings.Contains(err.Error(), "GATEWAY_DEBUG_ADDR") {
			t.Errorf("serveDebug(%q) = %v, want a refusal naming GATEWAY_DEBUG_ADDR", addr, err)
		}
	}
	addr := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	if err := serveDebug(ctx, addr, log); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine profile:") {
		t.Fatalf("GET /debug/pprof/goroutine = %d %.200s", resp.StatusCode, body)
	}
}
