package partners

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/equus/sogateway/gateway/partnerauth"
	"github.com/equus/sogateway/internal/inbound"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/testutil"
	"github.com/equus/sogateway/mappings"
)

// flakySink fails while down is set, then commits to the next sink.
type flakySink struct {
	down bool
	next model.Sink
}

func (f *flakySink) Commit(ctx context.Context, in *model.Inbound) (*model.Outcome, error) {
	if f.down {
		return failingSink{}.Commit(ctx, in)
	}
	return f.next.Commit(ctx, in)
}

func TestStandardWebhooksPartner(t *testing.T) {
	dir := t.TempDir()
	writeMapping(t, dir, "hooks", []byte(testutil.HooksMapping))
	reg, err := mappings.NewRegistry(dir, slog.New(slog.DiscardHandler))
	testutil.Must(t, err)
	_, rdb := testutil.MiniRedis(t)
	b := newFakeBackend(t)
	sink := &flakySink{next: b.sink}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	env := map[string]string{"HOOKS_SECRET": testutil.HooksSecret}
	set := Register(e, reg, inbound.New(inbound.Registry{Reg: reg}, sink, nil), func(k string) string { return env[k] },
		&Options{Replay: partnerauth.NewRedisReplay(rdb), Logger: slog.New(slog.DiscardHandler)})
	if st := set.Status()["hooks"]; !st.Enabled {
		t.Fatalf("Status()[hooks] = %+v, want enabled", st)
	}
	o := b.create(t, &model.Order{Partner: "hooks"})
	post := func(id string, ts time.Time, body string) (int, string) {
		sig := testutil.WebhookSignature(t, testutil.HooksSecret, id, ts, []byte(body))
		req := httptest.NewRequest(http.MethodPost, "/partners/hooks/orders/"+o.ID+"/notes", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("webhook-id", id)
		req.Header.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
		req.Header.Set("webhook-signature", sig)
		w := testutil.Serve(t, e, req)
		return w.Code, w.Body.String()
	}
	now := time.Now()
	if code, body := post("msg_1", now, `{"text":"hello"}`); code != 200 {
		t.Fatalf("first delivery = %d %s, want 200", code, body)
	}
	// The sender's retry (same id, same body) gets the same 2xx and changes nothing.
	if code, body := post("msg_1", now, `{"text":"hello"}`); code != 200 || !strings.Contains(body, `"duplicate":true`) {
		t.Fatalf("retry = %d %s, want 200 duplicate", code, body)
	}
	// Another body under the used id is refused.
	if code, body := post("msg_1", now, `{"text":"changed"}`); code != 401 || !strings.Contains(body, "replayed") {
		t.Fatalf("other body under a used id = %d %s, want 401 replayed", code, body)
	}
	if code, body := post("msg_2", now.Add(-10*time.Minute), `{"text":"late"}`); code != 401 || !strings.Contains(body, "timestamp") {
		t.Fatalf("old timestamp = %d %s, want 401", code, body)
	}
	// The store is down: 503, and the sender's retry of the same id goes through later.
	sink.down = true
	if code, body := post("msg_3", now, `{"text":"retry me"}`); code != 503 {
		t.Fatalf("store down = %d %s, want 503", code, body)
	}
	sink.down = false
	if code, body := post("msg_3", now, `{"text":"retry me"}`); code != 200 {
		t.Fatalf("retry after 503 = %d %s, want 200", code, body)
	}
	if n := len(b.events(t, o.ID)); n != 2 {
		t.Fatalf("%d events, want 2 (msg_1, msg_3)", n)
	}
}
