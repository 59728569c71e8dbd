package soap

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/equus/sogateway/internal/model"
)

const (
	testUser     = "ssp7-client"
	testPassword = "s3cret-Pa55"
)

// testNow is the fixed clock of unit tests.
var testNow = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

// recorder is a Backend that records each call. Task "no-such-task" is
// unknown, "closed-task" refuses changes, "boom" fails internally.
type recorder struct {
	mu    sync.Mutex
	calls []Call
}

func (r *recorder) Invoke(_ context.Context, c *Call) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cp := *c
	cp.Raw = nil
	r.calls = append(r.calls, cp)
	switch c.Params["taskId"] {
	case "no-such-task":
		return "", fmt.Errorf("intake: %w", model.ErrNotFound)
	case "closed-task":
		return "", fmt.Errorf("intake: %w", model.Conflict("status", "the order is closed"))
	case "boom":
		return "", fmt.Errorf("redis: dial tcp 10.0.0.7:6379: password=hunter2 refused")
	}
	return "OK " + c.Operation + " " + c.Params["taskId"], nil
}

func (r *recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Call(nil), r.calls...)
}

func newTestHandler(t testing.TB, b Backend, mod func(*Options)) *Handler {
	t.Helper()
	opt := &Options{Users: []User{{Name: testUser, Password: NewSecret(testPassword)}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if mod != nil {
		mod(opt)
	}
	h, err := NewHandler(SSP7Contract(), b, opt)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
