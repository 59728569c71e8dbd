package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/equus/sogateway/internal/clock"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/adapters"
	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/queue"
	"github.com/equus/sogateway/internal/store"
	"github.com/equus/sogateway/internal/testutil"
)

// fakeRenderer renders small JSON documents naming the delivery, order, event
// and move date, and the maintenance notice, like the equus mapping does.
type fakeRenderer struct{}

func (fakeRenderer) Render(partner, kind string, o *model.Order, ev *model.Event, extra map[string]any) (*Rendered, error) {
	switch kind {
	case "order", "update_values", "pull", "message":
		doc := map[string]any{"kind": kind, "order": o.ID, "delivery_id": extra["delivery_id"]}
		if ev != nil {
			doc["event"] = string(ev.Type)
		}
		if f, ok := o.Fields["move_date"]; ok {
			doc["move_date"] = f.Value
		}
		b, _ := json.Marshal(doc)
		return &Rendered{ContentType: "application/json", Body: b, Subject: "Order " + o.ID}, nil
	case "order_email":
		return &Rendered{ContentType: "text/plain; charset=utf-8", Body: []byte("Please see service order " + o.ID), Subject: "New service order " + o.ID}, nil
	case "maintenance_notice":
		return &Rendered{ContentType: "text/plain", Body: []byte(fmt.Sprintf(
			"This Vendor's system is currently undergoing maintenance. Clicking Save and Send will queue the Service Order and automatically send it when the Vendor's maintenance is complete in %s.", extra["remaining"]))}, nil
	}
	return nil, fmt.Errorf("fake: %s: %w", kind, ErrUnknownRender)
}

// vendorServer is a local test vendor: it records each request and answers
// with the next scripted status (200 when the script is empty).
type vendorServer struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	script []answer
	hit    chan struct{}
	// before, when set, runs before request n (0-based) is answered.
	before func(n int, r *http.Request)
	seen   int
}

type answer struct {
	status     int
	retryAfter string
}

type received struct {
	id, event, order, kind string
	moveDate               any
	status                 int
	body                   []byte
}

func newVendorServer(t *testing.T) *vendorServer {
	vs := &vendorServer{hit: make(chan struct{}, 100)}
	vs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var doc map[string]any
		b, _ := io.ReadAll(r.Body)
		vs.mu.Lock()
		n, before := vs.seen, vs.before
		vs.seen++
		vs.mu.Unlock()
		if before != nil {
			before(n, r)
		}
		_ = json.Unmarshal(b, &doc)
		vs.mu.Lock()
		a := answer{status: 200}
		if len(vs.script) > 0 {
			a, vs.script = vs.script[0], vs.script[1:]
		}
		ev, _ := doc["event"].(string)
		order, _ := doc["order"].(string)
		kind, _ := doc["kind"].(string)
		vs.got = append(vs.got, received{id: r.Header.Get("webhook-id"), event: ev, order: order, kind: kind, moveDate: doc["move_date"], status: a.status, body: b})
		vs.mu.Unlock()
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		w.WriteHeader(a.status)
		select {
		case vs.hit <- struct{}{}:
		default:
		}
	}))
	t.Cleanup(vs.Close)
	return vs
}

func (vs *vendorServer) answer(as ...answer) {
	vs.mu.Lock()
	vs.script = append(vs.script, as...)
	vs.mu.Unlock()
}

func (vs *vendorServer) received() []received {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	return append([]received(nil), vs.got...)
}

// successes returns the received requests the vendor accepted.
func (vs *vendorServer) successes() []received {
	var out []received
	for _, r := range vs.received() {
		if r.status < 300 {
			out = append(out, r)
		}
	}
	return out
}

type fixture struct {
	opt    *Options
	ctx    context.Context
	clk    *clock.Offset
	rdb    redis.UniversalClient
	st     *store.Store
	q      *queue.Queue
	svc    *Service
	vendor *vendorServer
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func acmeConfig(url string) configs.VendorConfig {
	return configs.VendorConfig{
		Endpoint:    url,
		Signing:     configs.SigningConfig{SecretEnv: "ACME_SECRET"},
		Permissions: configs.PermissionSet{Name: "acme-movers household moves", ServiceTypes: []string{"household_goods_move"}},
		Definitions: []configs.EventDefinition{
			{Company: "globex", ServiceType: "household_goods_move", Event: "order.submitted", Active: true,
				RequiredFields: []string{"refs.requestor", "fields.move_date"}, BlockIfMissing: true},
			{Company: "globex", ServiceType: "household_goods_move", Event: "update_values", Active: true,
				Watch: []string{"fields.move_date", "status"}},
			{Company: "initech", ServiceType: "household_goods_move", Event: "order.submitted", Active: false},
			{Company: "globex", ServiceType: "*", Event: "order.message", Active: true},
		},
		Pull: configs.PullConfig{Enabled: true, APIKeyEnv: "ACME_PULL_KEY"},
	}
}

// newFixture builds a service with one vendor, acme-movers, on rdb.
func newFixture(t *testing.T, rdb redis.UniversalClient, edit func(*configs.VendorConfig, *Options)) *fixture {
	t.Helper()
	f := &fixture{ctx: context.Background(), clk: &clock.Offset{}, rdb: rdb, vendor: newVendorServer(t)}
	f.st = store.New(rdb, nil)
	f.q = queue.New(rdb, &queue.Options{Now: f.clk.Now, Logger: quiet()})
	cfg := acmeConfig(f.vendor.URL)
	opt := &Options{
		AdapterEnv: &adapters.Env{LookupEnv: func(k string) (string, bool) {
			v, ok := map[string]string{"ACME_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "ACME_PULL_KEY": "pull-key"}[k]
			return v, ok
		}},
		Now: f.clk.Now, Logger: quiet(), Rand: func() float64 { return 0.5 },
	}
	if edit != nil {
		edit(&cfg, opt)
	}
	opt.Vendors = map[string]configs.VendorConfig{"acme-movers": cfg}
	f.opt = opt
	f.svc = New(f.st, f.q, fakeRenderer{}, opt)
	return f
}

// suite runs fn against miniredis and, in the integration run, against a real
// redis-server: the same tests on the fake and the real server.
func suite(t *testing.T, edit func(*configs.VendorConfig, *Options), fn func(t *testing.T, f *fixture)) {
	testutil.EachRedis(t, func(t *testing.T, c redis.UniversalClient) { fn(t, newFixture(t, c, edit)) })
}

// order creates an acme-movers order for globex.
func (f *fixture) order(t *testing.T, id string, edit func(o *model.Order)) *model.Order {
	t.Helper()
	now := f.clk.Now().UTC()
	o := &model.Order{ID: id, Partner: "acme-movers", Company: "globex", ServiceType: "household_goods_move",
		Refs: model.Refs{Requestor: "REQ-" + id}, Status: model.StatusNew, CreatedAt: now, UpdatedAt: now,
		Fields: map[string]model.Field{"move_date": {Value: "2026-12-01", Owner: model.OwnerPlatform}}}
	if edit != nil {
		edit(o)
	}
	ev := &model.Event{ID: "ev-create-" + id, Type: model.EventOrderCreated, Direction: model.DirectionIn, Protocol: model.ProtocolPlatform, At: now}
	testutil.Must(t, f.st.CreateOrder(f.ctx, o, ev))
	return o
}

func (f *fixture) send(t *testing.T, id string) *SendResult {
	t.Helper()
	res, err := f.svc.Send(f.ctx, id, SendOptions{})
	if err != nil {
		t.Fatalf("Send(%s) = %v, want nil", id, err)
	}
	return res
}

func (f *fixture) deliverDue(t *testing.T) int {
	t.Helper()
	n, err := f.svc.DeliverDue(f.ctx, "acme-movers", 0)
	if err != nil {
		t.Fatalf("DeliverDue = %v", err)
	}
	return n
}

func (f *fixture) deliveries(t *testing.T, orderID string) []*Delivery {
	t.Helper()
	ds, err := f.svc.Deliveries(f.ctx, orderID)
	if err != nil {
		t.Fatalf("Deliveries(%s) = %v", orderID, err)
	}
	return ds
}

func (f *fixture) one(t *testing.T, orderID string) *Delivery {
	t.Helper()
	ds := f.deliveries(t, orderID)
	if len(ds) != 1 {
		t.Fatalf("Deliveries(%s) = %d records, want 1", orderID, len(ds))
	}
	return ds[0]
}

func (f *fixture) patch(t *testing.T, id string, edit func(o *model.Order)) []*Delivery {
	t.Helper()
	before, err := f.st.GetOrder(f.ctx, id)
	testutil.Must(t, err)
	after, _ := f.st.GetOrder(f.ctx, id)
	edit(after)
	testutil.Must(t, f.st.UpdateOrder(f.ctx, after))
	ds, err := f.svc.OnPatched(f.ctx, before, after)
	if err != nil {
		t.Fatalf("OnPatched = %v", err)
	}
	return ds
}

func TestSendDeliversWithStableID(t *testing.T) {
	suite(t, nil, func(t *testing.T, f *fixture) {
		f.order(t, "o1", nil)
		res := f.send(t, "o1")
		if res.Held || len(res.Deliveries) != 1 || res.Event.Type != model.EventOrderSubmitted || res.Event.Direction != model.DirectionOut {
			t.Fatalf("Send = %+v, want one delivery of an outbound order.submitted, not held", res)
		}
		d := res.Deliveries[0]
		if d.ID != DeliveryID(res.Event.ID, "acme-movers", "http") || d.Status != model.DeliverySending {
			t.Errorf("delivery = %+v, want the stable id, Sending", d)
		}
		evs, _ := f.st.Events(f.ctx, "o1")
		if last := evs[len(evs)-1]; last.Type != model.EventOrderSubmitted || last.ID != res.Event.ID {
			t.Errorf("order events end with %s, want the order.submitted", last.Type)
		}
		if n := f.deliverDue(t); n != 1 {
			t.Fatalf("DeliverDue = %d, want 1", n)
		}
		got := f.vendor.received()
		if len(got) != 1 || got[0].id != d.ID || got[0].event != "order.submitted" || got[0].kind != "order" {
			t.Fatalf("vendor received %+v, want one order render with webhook-id %s", got, d.ID)
		}
		rec := f.one(t, "o1")
		if rec.Status != model.DeliverySuccess || rec.Attempts != 1 || rec.LastError != "" || rec.Event != "order.submitted" {
			t.Errorf("record = %+v, want Success after 1 attempt", rec)
		}
	})
}

func TestSendRefusals(t *testing.T) {
	suite(t, nil, func(t *testing.T, f *fixture) {
		f.order(t, "pest", func(o *model.Order) { o.ServiceType = "pest_control" })
		f.order(t, "initech", func(o *model.Order) { o.Company = "initech" })
		f.order(t, "nodate", func(o *model.Order) { delete(o.Fields, "move_date"); o.Refs.Requestor = "" })
		f.order(t, "stranger", func(o *model.Order) { o.Partner = "pruvan" })

		_, err := f.svc.Send(f.ctx, "pest", SendOptions{})
		var re *model.RuleError
		if !errors.As(err, &re) || !errors.Is(err, model.ErrRefused) || re.Field != "service_type" ||
			!strings.Contains(re.Rule, `service order type "pest_control" is not applicable for the permission set "acme-movers household moves"`) {
			t.Errorf("Send(pest) = %v, want a refusal naming the permission set", err)
		}
		_, err = f.svc.Send(f.ctx, "initech", SendOptions{})
		if !errors.As(err, &re) || re.Field != "event" || !strings.Contains(re.Rule, `no active integrated event definition for vendor acme-movers, company "initech"`) {
			t.Errorf("Send(initech, inactive definition) = %v, want a refusal naming the missing definition", err)
		}
		_, err = f.svc.Send(f.ctx, "nodate", SendOptions{})
		var ves model.ValidationErrors
		if !errors.As(err, &ves) || len(ves) != 2 || ves[0].Field != "refs.requestor" || ves[1].Field != "fields.move_date" ||
			!strings.Contains(ves[1].Rule, "block send if required field values missing") {
			t.Errorf("Send(nodate) = %v, want the two missing fields named", err)
		}
		_, err = f.svc.Send(f.ctx, "stranger", SendOptions{})
		if !errors.As(err, &re) || re.Field != "vendor" {
			t.Errorf("Send(order of pruvan) = %v, want a refusal naming the vendor", err)
		}
		f.order(t, "closed", func(o *model.Order) { o.Status = model.StatusClosed })
		_, err = f.svc.Send(f.ctx, "closed", SendOptions{})
		if !errors.As(err, &re) || !errors.Is(err, model.ErrConflict) || re.Field != "status" {
			t.Errorf("Send(closed order) = %v, want a conflict naming status", err)
		}
		_, err = f.svc.Send(f.ctx, "missing", SendOptions{})
		if !errors.Is(err, model.ErrNotFound) {
			t.Errorf("Send(missing) = %v, want ErrNotFound", err)
		}
		_, err = f.svc.Send(f.ctx, "initech", SendOptions{Vendor: "acme-movers", Communication: "email"})
		if !errors.As(err, &re) || re.Field != "communication" {
			t.Errorf("Send(email without address) = %v, want a refusal naming communication", err)
		}
		// Nothing was queued or recorded by any refusal.
		st, _ := f.q.Stats(f.ctx, "acme-movers")
		if st.Depth != 0 {
			t.Errorf("queue depth after refusals = %d, want 0", st.Depth)
		}
		for _, id := range []string{"pest", "initech", "nodate"} {
			if ds := f.deliveries(t, id); len(ds) != 0 {
				t.Errorf("Deliveries(%s) = %d, want none", id, len(ds))
			}
			evs, _ := f.st.Events(f.ctx, id)
			if len(evs) != 1 {
				t.Errorf("Events(%s) = %d, want only the creation", id, len(evs))
			}
		}
	})
}

func TestHeldThroughWindowThenDeliveredAtItsEnd(t *testing.T) {
	suite(t, nil, func(t *testing.T, f *fixture) {
		now := f.clk.Now()
		w, err := f.svc.PutWindow(f.ctx, "acme-movers", now.Add(-time.Minute), now.Add(2*time.Hour+10*time.Minute))
		if err != nil || !w.Active || w.Remaining != "2h 10m" {
			t.Fatalf("PutWindow = %+v, %v, want active with 2h 10m remaining", w, err)
		}
		f.order(t, "o1", nil)
		res := f.send(t, "o1")
		if !res.Held || !strings.HasSuffix(res.Notice, "complete in 2h 10m.") {
			t.Fatalf("Send during window = held %v notice %q, want held with the time remaining", res.Held, res.Notice)
		}
		if n := f.deliverDue(t); n != 0 || len(f.vendor.received()) != 0 {
			t.Fatalf("DeliverDue during window = %d, vendor got %d, want nothing", n, len(f.vendor.received()))
		}
		d := f.one(t, "o1")
		if d.Status != model.DeliverySending || d.HeldUntil == nil || d.Attempts != 0 {
			t.Fatalf("record during window = %+v, want Sending, held, no attempt spent", d)
		}
		f.clk.Advance(2*time.Hour + 9*time.Minute)
		if n := f.deliverDue(t); n != 0 {
			t.Fatalf("DeliverDue a minute before the end = %d, want 0", n)
		}
		f.clk.Advance(time.Minute + time.Second)
		if n := f.deliverDue(t); n != 1 {
			t.Fatalf("DeliverDue at the end = %d, want 1", n)
		}
		if d := f.one(t, "o1"); d.Status != model.DeliverySuccess || d.Attempts != 1 {
			t.Errorf("record after the window = %+v, want Success in 1 attempt", d)
		}
		if _, err := f.svc.GetWindow(f.ctx, "acme-movers"); !errors.Is(err, ErrNoWindow) {
			t.Errorf("GetWindow after its end = %v, want ErrNoWindow", err)
		}
	})
}

func TestShortenedWindowReleasesAtTheNewEnd(t *testing.T) {
	suite(t, nil, func(t *testing.T, f *fixture) {
		now := f.clk.Now()
		_, err := f.svc.PutWindow(f.ctx, "acme-movers", time.Time{}, now.Add(4*time.Hour))
		testutil.Must(t, err)
		f.order(t, "o1", nil)
		f.send(t, "o1")
		w, err := f.svc.PutWindow(f.ctx, "acme-movers", time.Time{}, now.Add(30*time.Minute))
		if err != nil || w.Remaining != "30m" {
			t.Fatalf("shortening PutWindow = %+v, %v", w, err)
		}
		f.clk.Advance(29 * time.Minute)
		if n := f.deliverDue(t); n != 0 {
			t.Fatalf("DeliverDue before the new end = %d, want 0", n)
		}
		f.clk.Advance(time.Minute + time.Second)
		if n := f.deliverDue(t); n != 1 || len(f.vendor.successes()) != 1 {
			t.Fatalf("DeliverDue at the new end = %d, want 1", n)
		}
	})
}

func TestCancelledWindowReleasesNow(t *testing.T) {
	suite(t, nil, func(t *testing.T, f *fixture) {
		_, err := f.svc.PutWindow(f.ctx, "acme-movers", time.Time{}, f.clk.Now().Add(4*time.Hour))
		testutil.Must(t, err)
		f.order(t, "o1", nil)
		f.send(t, "o1")
		if n := f.deliverDue(t); n != 0 {
			t.Fatalf("DeliverDue during window = %d", n)
		}
		testutil.Must(t, f.svc.DeleteWindow(f.ctx, "acme-movers"))
		if n := f.deliverDue(t); n != 1 || len(f.vendor.successes()) != 1 {
			t.Fatalf("DeliverDue after cancel = %d, want 1", n)
		}
		if err := f.svc.DeleteWindow(f.ctx, "acme-movers"); !errors.Is(err, ErrNoWindow) {
			t.Errorf("second DeleteWindow = %v, want ErrNoWindow", err)
		}
	})
}

func TestStillOfflineAfterWindowRetriedEveryHour(t *testing.T) {
	suite(t, nil, func(t *testing.T, f *fixture) {
		_, err := f.svc.PutWindow(f.ctx, "acme-movers", time.Time{}, f.clk.Now().Add(time.Hour))
		testutil.Must(t, err)
		f.order(t, "o1", nil)
		f.send(t, "o1")
		// The vendor stays down for three tries after its window.
		f.vendor.answer(answer{status: 503}, answer{status: 503}, answer{status: 502})
		f.clk.Advance(time.Hour + time.Second)
		for try := 1; try <= 3; try++ {
			if n := f.deliverDue(t); n != 1 {
				t.Fatalf("try %d: DeliverDue = %d, want 1", try, n)
			}
			d := f.one(t, "o1")
			if d.Status != model.DeliverySending || d.Attempts != 0 || d.NextAttemptAt == nil ||
				!strings.Contains(d.LastError, "still offline after its maintenance window") {
				t.Fatalf("try %d: record = %+v, want Sending, no attempt spent, next try set", try, d)
			}
			if got := d.NextAttemptAt.Sub(f.clk.Now()); got < 59*time.Minute || got > time.Hour+time.Second {
				t.Fatalf("try %d: next attempt in %v, want one hour", try, got)
			}
			f.clk.Advance(59 * time.Minute)
			if n := f.deliverDue(t); n != 0 {
				t.Fatalf("try %d: DeliverDue before the hour = %d, want 0", try, n)
			}
			f.clk.Advance(time.Minute + time.Second)
		}
		if n := f.deliverDue(t); n != 1 {
			t.Fatalf("DeliverDue when back = %d, want 1", n)
		}
		d := f.one(t, "o1")
		if d.Status != model.DeliverySuccess || d.Attempts != 1 {
			t.Fatalf("record = %+v, want Success with 1 attempt spent (hourly tries spend none)", d)
		}
		if len(f.vendor.received()) != 4 {
			t.Errorf("vendor saw %d requests, want 4", len(f.vendor.received()))
		}
	})
}

func TestGoneDisablesTheVendorUntilReplay(t *testing.T) {
	suite(t, nil, func(t *testing.T, f *fixture) {
		f.order(t, "o1", nil)
		f.order(t, "o2", nil)
		d := f.send(t, "o1").Deliveries[0]
		f.vendor.answer(answer{status: 410})
		f.deliverDue(t)
		if r := f.one(t, "o1"); r.Status != model.DeliveryFailure || !strings.Contains(r.LastError, "410") {
			t.Fatalf("record after 410 = %+v, want Failure naming 410", r)
		}
		st := f.svc.Status(f.ctx)["acme-movers"]
		if st.Available || !strings.Contains(st.Reason, "410 Gone") {
			t.Fatalf("Status = %+v, want unavailable because of 410", st)
		}
		_, err := f.svc.Send(f.ctx, "o2", SendOptions{})
		if !errors.Is(err, model.ErrConflict) || !strings.Contains(err.Error(), "410 Gone") {
			t.Fatalf("Send to a disabled vendor = %v, want a conflict naming 410", err)
		}
		dead, err := f.svc.DeadLetters(f.ctx, "acme-movers", 0, 10)
		if err != nil || len(dead) != 1 || dead[0].ID != d.ID || dead[0].OrderID != "o1" || dead[0].Status != model.DeliveryFailure {
			t.Fatalf("DeadLetters = %+v, %v, want the 410 delivery", dead, err)
		}
		r, err := f.svc.Replay(f.ctx, d.ID)
		if err != nil || r.Status != model.DeliverySending {
			t.Fatalf("Replay = %+v, %v", r, err)
		}
		if !f.svc.Status(f.ctx)["acme-movers"].Available {
			t.Fatalf("vendor still unavailable after replay")
		}
		f.deliverDue(t)
		if r := f.one(t, "o1"); r.Status != model.DeliverySuccess {
			t.Fatalf("record after replay = %+v, want Success", r)
		}
		got := f.vendor.received()
		if len(got) != 2 || got[0].id != d.ID || got[1].id != d.ID {
			t.Errorf("vendor got %+v, want the same delivery id twice", got)
		}
		if _, err := f.svc.Replay(f.ctx, d.ID); !errors.Is(err, model.ErrConflict) {
			t.Errorf("Replay of a delivered one = %v, want conflict", err)
		}
		if _, err := f.svc.Replay(f.ctx, "dlv_nope"); !errors.Is(err, model.ErrNotFound) {
			t.Errorf("Replay(unknown) = %v, want not found", err)
		}
	})
}

func TestRetryAfterIsHonoured(t *testing.T) {
	suite(t, nil, func(t *testing.T, f *fixture) {
		f.order(t, "o1", nil)
		f.send(t, "o1")
		f.vendor.answer(answer{status: 429, retryAfter: "120"})
		f.deliverDue(t)
		d := f.one(t, "o1")
		if d.Status != model.DeliverySending || d.Attempts != 1 || d.NextAttemptAt == nil || !strings.Contains(d.LastError, "429") {
			t.Fatalf("record after 429 = %+v", d)
		}
		if got := d.NextAttemptAt.Sub(f.clk.Now()); got < 118*time.Second || got > 121*time.Second {
			t.Fatalf("next attempt in %v, want 120s (Retry-After)", got)
		}
		f.clk.Advance(118 * time.Second)
		if n := f.deliverDue(t); n != 0 {
			t.Fatalf("DeliverDue before Retry-After = %d, want 0", n)
		}
		f.clk.Advance(3 * time.Second)
		if n := f.deliverDue(t); n != 1 {
			t.Fatalf("DeliverDue after Retry-After = %d, want 1", n)
		}
		if d := f.one(t, "o1"); d.Status != model.DeliverySuccess || d.Attempts != 2 {
			t.Errorf("record = %+v, want Success after 2 attempts", d)
		}
	})
}

func TestDeadLetterAfterMaxAttemptsThenReplayAll(t *testing.T) {
	edit := func(c *configs.VendorConfig, _ *Options) {
		c.Retry = &configs.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Minute, MaxDelay: 10 * time.Minute}
	}
	suite(t, edit, func(t *testing.T, f *fixture) {
		f.order(t, "o1", nil)
		f.order(t, "o2", nil)
		f.send(t, "o1")
		f.send(t, "o2")
		f.vendor.answer(answer{status: 500}, answer{status: 500}, answer{status: 500}, answer{status: 500}, answer{status: 500}, answer{status: 500})
		for i := 0; i < 3; i++ {
			f.deliverDue(t)
			f.clk.Advance(10 * time.Minute)
		}
		for _, id := range []string{"o1", "o2"} {
			if d := f.one(t, id); d.Status != model.DeliveryFailure || d.Attempts != 3 || !strings.Contains(d.LastError, "500") {
				t.Fatalf("record of %s = %+v, want Failure after 3 attempts", id, d)
			}
		}
		dead, _ := f.svc.DeadLetters(f.ctx, "acme-movers", 0, 0)
		if len(dead) != 2 {
			t.Fatalf("DeadLetters = %d, want 2", len(dead))
		}
		n, err := f.svc.ReplayDead(f.ctx, "acme-movers")
		if err != nil || n != 2 {
			t.Fatalf("ReplayDead = %d, %v, want 2", n, err)
		}
		if d := f.one(t, "o1"); d.Status != model.DeliverySending {
			t.Fatalf("record after replay = %+v, want Sending", d)
		}
		f.deliverDue(t)
		for _, id := range []string{"o1", "o2"} {
			if d := f.one(t, id); d.Status != model.DeliverySuccess || d.Attempts != 1 {
				t.Errorf("record of %s after replay = %+v, want Success with a fresh budget", id, d)
			}
		}
	})
}

func TestPermanentFailureIsDeadAtOnce(t *testing.T) {
	suite(t, nil, func(t *testing.T, f *fixture) {
		f.order(t, "o1", nil)
		f.send(t, "o1")
		f.vendor.answer(answer{status: 422})
		f.deliverDue(t)
		if d := f.one(t, "o1"); d.Status != model.DeliveryFailure || d.Attempts != 1 {
			t.Fatalf("record after 422 = %+v, want Failure after 1 attempt", d)
		}
	})
}

func TestDeliveriesOfOneOrderGoOutInOrder(t *testing.T) {
	suite(t, nil, func(t *testing.T, f *fixture) {
		f.order(t, "o1", nil)
		f.send(t, "o1")
		if ds := f.patch(t, "o1", func(o *model.Order) { o.Fields["move_date"] = model.Field{Value: "2026-12-02"} }); len(ds) != 1 {
			t.Fatalf("OnPatched(move_date) = %d deliveries, want 1", len(ds))
		}
		f.patch(t, "o1", func(o *model.Order) { o.Fields["move_date"] = model.Field{Value: "2026-12-03"} })
		// The submission fails once; the updates must wait behind it.
		f.vendor.answer(answer{status: 500})
		for i := 0; i < 6; i++ {
			f.deliverDue(t)
			f.clk.Advance(5 * time.Minute)
		}
		var seq []string
		for _, r := range f.vendor.received() {
			seq = append(seq, fmt.Sprintf("%s:%v:%d", r.kind, r.moveDate, r.status))
		}
		want := "order:2026-12-03:500 order:2026-12-03:200 update_values:2026-12-03:200 update_values:2026-12-03:200"
		if strings.Join(seq, " ") != want {
			t.Fatalf("vendor received %v, want %s", seq, want)
		}
		ds := f.deliveries(t, "o1")
		if len(ds) != 3 || ds[0].Event != "order.submitted" || ds[1].Event != "order.updated" || ds[2].Event != "order.updated" {
			t.Fatalf("Deliveries = %+v, want submitted then two updates", ds)
		}
	})
}

func TestUpdateOfValues(t *testing.T) {
	suite(t, nil, func(t *testing.T, f *fixture) {
		f.order(t, "o1", nil)
		if ds := f.patch(t, "o1", func(o *model.Order) { o.Fields["move_date"] = model.Field{Value: "2027-01-01"} }); len(ds) != 0 {
			t.Fatalf("OnPatched before Save and Send = %d deliveries, want 0", len(ds))
		}
		f.send(t, "o1")
		f.deliverDue(t)
		if ds := f.patch(t, "o1", func(o *model.Order) { o.ClientStatus = "Order Late" }); len(ds) != 0 {
			t.Fatalf("OnPatched of an unwatched field = %d deliveries, want 0", len(ds))
		}
		// During a window the update is held too, then sent at its end.
		_, err := f.svc.PutWindow(f.ctx, "acme-movers", time.Time{}, f.clk.Now().Add(time.Hour))
		testutil.Must(t, err)
		ds := f.patch(t, "o1", func(o *model.Order) { o.Status = model.StatusAccepted })
		if len(ds) != 1 || ds[0].HeldUntil == nil || ds[0].Event != "order.updated" {
			t.Fatalf("OnPatched(status) in a window = %+v, want one held update", ds)
		}
		evs, _ := f.st.Events(f.ctx, "o1")
		last := evs[len(evs)-1]
		if last.Type != model.EventOrderUpdated || fmt.Sprint(last.Data["changed"]) != "[status]" {
			t.Fatalf("last event = %s %v, want order.updated naming status", last.Type, last.Data)
		}
		if n := f.deliverDue(t); n != 0 {
			t.Fatalf("DeliverDue in the window = %d", n)
		}
		f.clk.Advance(time.Hour + time.Second)
		f.deliverDue(t)
		got := f.vendor.successes()
		if len(got) != 2 || got[1].kind != "update_values" || got[1].id != ds[0].ID {
			t.Fatalf("vendor got %+v, want the update after the window", got)
		}
	})
}

func TestEmailCommunicationAlsoMails(t *testing.T) {
	var mu sync.Mutex
	var mailed []*adapters.Message
	edit := func(c *configs.VendorConfig, o *Options) {
		c.Email = &configs.EmailConfig{To: "orders@acme.example", From: "gw@equus.example", SMTPAddr: "127.0.0.1:1"}
		o.Adapters = adapters.NewRegistry()
		o.Adapters.Register("smtp", func(string, *configs.VendorConfig, *adapters.Env) (adapters.Adapter, error) {
			return recordingAdapter{func(m *adapters.Message) { mu.Lock(); mailed = append(mailed, m); mu.Unlock() }}, nil
		})
	}
	suite(t, edit, func(t *testing.T, f *fixture) {
		mailed = nil
		f.order(t, "o1", func(o *model.Order) {
			o.Attachments = []model.Attachment{{Name: "inventory.pdf", StoredAt: "o1/inventory.pdf"}}
		})
		res, err := f.svc.Send(f.ctx, "o1", SendOptions{Communication: "email"})
		testutil.Must(t, err)
		if len(res.Deliveries) != 2 || res.Deliveries[0].Transport != "http" || res.Deliveries[1].Transport != "smtp" {
			t.Fatalf("Send(email) deliveries = %+v, want http then smtp", res.Deliveries)
		}
		f.deliverDue(t)
		if len(f.vendor.successes()) != 1 || len(mailed) != 1 {
			t.Fatalf("data sent %d, mailed %d, want 1 and 1", len(f.vendor.successes()), len(mailed))
		}
		if m := mailed[0]; m.DeliveryID != res.Deliveries[1].ID || len(m.Order.Attachments) != 1 || m.Subject != "New service order o1" || !strings.HasPrefix(m.ContentType, "text/plain") {
			t.Errorf("mail = %+v, want the smtp delivery, rendered by order_email, with the order's attachment", m)
		}
		for _, d := range f.deliveries(t, "o1") {
			if d.Status != model.DeliverySuccess {
				t.Errorf("delivery %s over %s = %s, want Success", d.ID, d.Transport, d.Status)
			}
		}
	})
}

type recordingAdapter struct{ rec func(*adapters.Message) }

func (recordingAdapter) Transport() string { return "smtp" }
func (a recordingAdapter) Deliver(_ context.Context, m *adapters.Message) (*adapters.Result, error) {
	a.rec(m)
	return &adapters.Result{}, nil
}

func TestPullMode(t *testing.T) {
	suite(t, nil, func(t *testing.T, f *fixture) {
		f.order(t, "o1", nil)
		f.order(t, "o2", nil)
		f.send(t, "o1")
		f.send(t, "o2")
		page, err := f.svc.Pull(f.ctx, "acme-movers", "", 1)
		if err != nil || len(page.Orders) != 1 || !page.More || !strings.Contains(string(page.Orders[0]), `"order":"o1"`) {
			t.Fatalf("Pull(limit 1) = %+v, %v, want o1 and more", page, err)
		}
		page, err = f.svc.Pull(f.ctx, "acme-movers", page.Cursor, 10)
		if err != nil || len(page.Orders) != 1 || page.More || !strings.Contains(string(page.Orders[0]), `"kind":"pull"`) {
			t.Fatalf("Pull(next) = %+v, %v, want o2 rendered by pull", page, err)
		}
		// Not acknowledged yet: a pull without cursor starts over.
		if p, _ := f.svc.Pull(f.ctx, "acme-movers", "", 10); len(p.Orders) != 2 {
			t.Fatalf("Pull before ack = %d orders, want 2", len(p.Orders))
		}
		if _, err := f.svc.AckPull(f.ctx, "acme-movers", page.Cursor); err != nil {
			t.Fatal(err)
		}
		if p, _ := f.svc.Pull(f.ctx, "acme-movers", "", 10); len(p.Orders) != 0 || p.Cursor != page.Cursor {
			t.Fatalf("Pull after ack = %+v, want nothing new at the same cursor", p)
		}
		// A change brings o1 back, even after Redis forgot the scripts (the
		// pull mark goes by EVALSHA in a pipeline, run again on NOSCRIPT); an
		// order moved out of the permission set is not served.
		testutil.Must(t, f.rdb.ScriptFlush(f.ctx).Err())
		f.patch(t, "o1", func(o *model.Order) { o.ClientStatus = "changed" })
		f.patch(t, "o2", func(o *model.Order) { o.ServiceType = "pest_control" })
		p, _ := f.svc.Pull(f.ctx, "acme-movers", "", 10)
		if len(p.Orders) != 1 || !strings.Contains(string(p.Orders[0]), `"order":"o1"`) {
			t.Fatalf("Pull after changes = %s, want o1 only", p.Orders)
		}
		if _, err := f.svc.AckPull(f.ctx, "acme-movers", "999"); !errors.Is(err, model.ErrInvalid) {
			t.Errorf("AckPull(past the feed) = %v, want invalid", err)
		}
		if _, err := f.svc.Pull(f.ctx, "acme-movers", "abc", 10); !errors.Is(err, model.ErrInvalid) {
			t.Errorf("Pull(bad cursor) = %v, want invalid", err)
		}
		if k, h, ok := f.svc.PullKey("acme-movers"); !ok || string(k) != "pull-key" || h != "X-Api-Key" {
			t.Errorf("PullKey = %q %q %v", k, h, ok)
		}
	})
}

func TestMissingCredentialMakesVendorUnavailable(t *testing.T) {
	_, c := testutil.MiniRedis(t)
	f := newFixture(t, c, func(_ *configs.VendorConfig, o *Options) {
		o.AdapterEnv = &adapters.Env{LookupEnv: func(string) (string, bool) { return "", false }}
	})
	st := f.svc.Status(f.ctx)["acme-movers"]
	if st.Available || !strings.Contains(st.Reason, "ACME_SECRET") {
		t.Fatalf("Status = %+v, want unavailable naming ACME_SECRET", st)
	}
	f.order(t, "o1", nil)
	if _, err := f.svc.Send(f.ctx, "o1", SendOptions{}); !errors.Is(err, model.ErrConflict) {
		t.Fatalf("Send = %v, want a conflict", err)
	}
}

func TestWindowValidation(t *testing.T) {
	_, c := testutil.MiniRedis(t)
	f := newFixture(t, c, nil)
	now := f.clk.Now()
	if _, err := f.svc.PutWindow(f.ctx, "acme-movers", now, now.Add(-time.Hour)); !errors.Is(err, model.ErrInvalid) {
		t.Errorf("PutWindow(end before start) = %v, want invalid", err)
	}
	if _, err := f.svc.PutWindow(f.ctx, "nobody", now, now.Add(time.Hour)); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("PutWindow(unknown vendor) = %v, want not found", err)
	}
	// A window that starts later holds nothing until it starts.
	w, err := f.svc.PutWindow(f.ctx, "acme-movers", now.Add(time.Hour), now.Add(2*time.Hour))
	if err != nil || w.Active {
		t.Fatalf("PutWindow(later) = %+v, %v, want inactive", w, err)
	}
	if _, held, _ := f.svc.Notice(f.ctx, "acme-movers"); held {
		t.Errorf("Notice before the window starts says held")
	}
	f.clk.Advance(time.Hour + time.Second)
	notice, held, err := f.svc.Notice(f.ctx, "acme-movers")
	if err != nil || !held || !strings.Contains(notice, "in 1h 0m") {
		t.Errorf("Notice in the window = %q, %v, %v", notice, held, err)
	}
}

func TestFormatRemaining(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "0m", 30 * time.Second: "1m", 2*time.Hour + 10*time.Minute: "2h 10m",
		2*time.Hour + 9*time.Minute + 1*time.Second: "2h 10m", 45 * time.Minute: "45m", 27 * time.Hour: "1d 3h 0m"} {
		if got := FormatRemaining(d); got != want {
			t.Errorf("FormatRemaining(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestBackoff(t *testing.T) {
	p := configs.RetryPolicy{BaseDelay: 10 * time.Second, MaxDelay: time.Hour, Jitter: 0.2}
	tests := []struct {
		n    int
		r    float64
		want time.Duration
	}{
		{1, 0.5, 10 * time.Second}, {2, 0.5, 20 * time.Second}, {5, 0.5, 160 * time.Second},
		{1, 0, 8 * time.Second}, {1, 1, 12 * time.Second}, {30, 0.5, time.Hour}, {3000, 0.5, time.Hour},
	}
	for _, tt := range tests {
		if got := Backoff(p, tt.n, tt.r); got != tt.want {
			t.Errorf("Backoff(%d, %v) = %v, want %v", tt.n, tt.r, got, tt.want)
		}
	}
}

// replica builds another Service (another gateway replica) on its own Redis
// client, sending to the same vendor server.
func (f *fixture) replica(t *testing.T, rdb redis.UniversalClient) *Service {
	q := queue.New(rdb, &queue.Options{Now: f.clk.Now, Logger: quiet(), LeaseFor: 30 * time.Second})
	cfg := acmeConfig(f.vendor.URL)
	return New(store.New(rdb, nil), q, fakeRenderer{}, &Options{
		Vendors: map[string]configs.VendorConfig{"acme-movers": cfg},
		AdapterEnv: &adapters.Env{LookupEnv: func(k string) (string, bool) {
			return map[string]string{"ACME_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "ACME_PULL_KEY": "k"}[k], true
		}},
		Now: f.clk.Now, Logger: quiet(), Dispatch: configs.DispatchConfig{Workers: 2, ClaimBatch: 8},
	})
}

// clients returns a second client factory for each backend of the suite.
func replicaSuite(t *testing.T, fn func(t *testing.T, f *fixture, second redis.UniversalClient)) {
	t.Run("miniredis", func(t *testing.T) {
		m, c := testutil.MiniRedis(t)
		c2 := redis.NewClient(&redis.Options{Addr: m.Addr()})
		t.Cleanup(func() { c2.Close() })
		fn(t, newFixture(t, c, nil), c2)
	})
	t.Run("redis-server", func(t *testing.T) {
		s := testutil.StartRedis(t)
		fn(t, newFixture(t, s.Client(), nil), s.Client())
	})
}

// waitFor waits until cond holds, failing after a generous bound (this is a
// liveness check, not a timing assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRunningWorkersWakeWhenTheWindowIsCancelled(t *testing.T) {
	replicaSuite(t, func(t *testing.T, f *fixture, _ redis.UniversalClient) {
		ctx, cancel := context.WithCancel(f.ctx)
		done := make(chan error, 1)
		go func() { done <- f.svc.Run(ctx) }()
		defer func() { cancel(); <-done }()
		_, err := f.svc.PutWindow(f.ctx, "acme-movers", time.Time{}, f.clk.Now().Add(24*time.Hour))
		testutil.Must(t, err)
		f.order(t, "o1", nil)
		f.send(t, "o1")
		testutil.Must(t, f.svc.DeleteWindow(f.ctx, "acme-movers"))
		waitFor(t, "the held delivery after the cancel", func() bool { return len(f.vendor.successes()) == 1 })
		waitFor(t, "the Success record", func() bool { return f.one(t, "o1").Status == model.DeliverySuccess })
	})
}

func TestTwoReplicasDeliverEachDeliveryOnce(t *testing.T) {
	replicaSuite(t, func(t *testing.T, f *fixture, second redis.UniversalClient) {
		other := f.replica(t, second)
		const n = 60
		for i := 0; i < n; i++ {
			id := fmt.Sprintf("o%02d", i)
			f.order(t, id, nil)
			f.send(t, id)
			if i%3 == 0 {
				f.patch(t, id, func(o *model.Order) { o.Fields["move_date"] = model.Field{Value: "2027-02-02"} })
			}
		}
		ctx, cancel := context.WithCancel(f.ctx)
		d1, d2 := make(chan error, 1), make(chan error, 1)
		go func() { d1 <- f.svc.Run(ctx) }()
		go func() { d2 <- other.Run(ctx) }()
		want := n + n/3
		waitFor(t, "every delivery", func() bool { return len(f.vendor.received()) >= want })
		cancel()
		<-d1
		<-d2
		got := f.vendor.received()
		seen := map[string]int{}
		firstOfOrder := map[string]string{}
		for _, r := range got {
			seen[r.id]++
			if _, ok := firstOfOrder[r.order]; !ok {
				firstOfOrder[r.order] = r.kind
			}
		}
		if len(got) != want || len(seen) != want {
			t.Fatalf("vendor got %d requests for %d ids, want %d each once", len(got), len(seen), want)
		}
		for o, k := range firstOfOrder {
			if k != "order" {
				t.Errorf("order %s: first request was %s, want the submission first", o, k)
			}
		}
	})
}

func TestCollectorExportsQueueFigures(t *testing.T) {
	_, c := testutil.MiniRedis(t)
	f := newFixture(t, c, nil)
	_, err := f.svc.PutWindow(f.ctx, "acme-movers", time.Time{}, f.clk.Now().Add(time.Hour))
	testutil.Must(t, err)
	f.order(t, "o1", nil)
	f.order(t, "o2", nil)
	f.send(t, "o1")
	f.send(t, "o2")
	reg := prometheus.NewRegistry()
	reg.MustRegister(f.svc.Collector())
	mfs, err := reg.Gather()
	testutil.Must(t, err)
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == "acme-movers" && m.GetGauge() != nil {
				got[mf.GetName()] = m.GetGauge().GetValue()
			}
		}
	}
	if got["sog_dispatch_queue_depth"] != 2 || got["sog_dispatch_queue_held"] != 2 || got["sog_dispatch_vendor_available"] != 1 ||
		got["sog_dispatch_dead_letters"] != 0 {
		t.Errorf("metrics = %v, want depth 2, held 2, available 1, dead 0", got)
	}
}

func TestOnEventDeliversMessagesWithADefinition(t *testing.T) {
	suite(t, nil, func(t *testing.T, f *fixture) {
		o := f.order(t, "o1", nil)
		msg := &model.Event{ID: "ev-msg-1", OrderID: "o1", Type: model.EventOrderMessage, Direction: model.DirectionOut,
			Protocol: model.ProtocolPlatform, Data: map[string]any{"text": "Crew arrives at 8"}}
		testutil.Must(t, f.st.AppendEvent(f.ctx, msg))
		if ds, err := f.svc.OnEvent(f.ctx, o, msg); err != nil || len(ds) != 0 {
			t.Fatalf("OnEvent before Save and Send = %v, %v, want nothing", ds, err)
		}
		f.send(t, "o1")
		ds, err := f.svc.OnEvent(f.ctx, o, msg)
		if err != nil || len(ds) != 1 || ds[0].Event != "order.message" || ds[0].ID != DeliveryID("ev-msg-1", "acme-movers", "http") {
			t.Fatalf("OnEvent(message) = %+v, %v, want one message delivery", ds, err)
		}
		closed := &model.Event{ID: "ev-close", OrderID: "o1", Type: model.EventOrderClosed, Direction: model.DirectionOut, Protocol: model.ProtocolPlatform}
		if ds, _ := f.svc.OnEvent(f.ctx, o, closed); len(ds) != 0 {
			t.Fatalf("OnEvent(closed) without a definition = %d deliveries, want 0", len(ds))
		}
		f.deliverDue(t)
		got := f.vendor.successes()
		if len(got) != 2 || got[1].kind != "message" || got[1].event != "order.message" {
			t.Fatalf("vendor got %+v, want the order then the message", got)
		}
	})
}
