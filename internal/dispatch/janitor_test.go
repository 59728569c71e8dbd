package dispatch

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/model"
	tu "github.com/equus/sogateway/internal/testutil"
)

// TestJanitorTrimsToRetention delivers one update (Success), lets one fail for
// good (dead letter), then runs the janitor with a retention everything is
// older than: the finished update record, the dead letter and the stream
// entries go, the order.submitted records stay with their orders, a second
// run deletes nothing more, and /metrics shows the sizes and what was trimmed.
func TestJanitorTrimsToRetention(t *testing.T) {
	suite(t, nil, func(t *testing.T, f *fixture) {
		f.order(t, "j1", nil)
		f.order(t, "j2", nil)
		f.send(t, "j1")
		f.send(t, "j2")
		f.vendor.answer(answer{status: 200}, answer{status: 422}) // j1 delivered, j2 refused for good
		if n := f.deliverDue(t); n != 2 {
			t.Fatalf("DeliverDue = %d, want 2", n)
		}
		upd := f.patch(t, "j1", func(o *model.Order) {
			o.Fields["move_date"] = model.Field{Value: "2026-12-24", Owner: model.OwnerPlatform}
		})
		if len(upd) != 1 {
			t.Fatalf("patch made %d deliveries, want 1 update", len(upd))
		}
		f.deliverDue(t)
		if r := f.deliveries(t, "j1"); len(r) != 2 || r[1].Status != model.DeliverySuccess {
			t.Fatalf("j1 records = %+v, want the submission and a successful update", r)
		}
		time.Sleep(5 * time.Millisecond)
		j := NewJanitor(f.st, f.svc, configs.Retention{Events: time.Millisecond, Deliveries: time.Millisecond, Dead: time.Millisecond, Fences: time.Hour, JanitorEvery: time.Minute})
		tu.Must(t, j.RunOnce(f.ctx))

		if r := f.deliveries(t, "j1"); len(r) != 1 || r[0].Event != string(model.EventOrderSubmitted) {
			t.Errorf("j1 records after the janitor = %+v, want only the order.submitted one", r)
		}
		if dead, err := f.q.Dead(f.ctx, "acme-movers", 0, 10); err != nil || len(dead) != 0 {
			t.Errorf("dead letters after the janitor = %d, %v, want none", len(dead), err)
		}
		if n, _ := f.rdb.XLen(f.ctx, f.st.StreamKey()).Result(); n != 0 {
			t.Errorf("event stream after the janitor = %d entries, want 0", n)
		}
		if n, _ := f.rdb.Exists(f.ctx, "sog:dlv:"+upd[0].ID).Result(); n != 0 {
			t.Errorf("locator of the trimmed delivery still exists")
		}
		tu.Must(t, j.RunOnce(f.ctx))
		reg := prometheus.NewRegistry()
		reg.MustRegister(j.Collector())
		mfs, err := reg.Gather()
		tu.Must(t, err)
		got := map[string]float64{}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
				got[mf.GetName()+"/"+m.GetLabel()[0].GetValue()] = v
			}
		}
		if got["sog_retention_trimmed_total/dead"] != 1 || got["sog_retention_trimmed_total/deliveries"] != 1 || got["sog_retention_trimmed_total/events"] < 3 {
			t.Errorf("trim counters = %v, want dead 1, deliveries 1, events at least 3 (a second run trims nothing more)", got)
		}
		for _, kind := range []string{"orders", "event_stream_entries", "outbox_orders", "idempotency_keys", "wss_nonces", "dead_letters", "finished_delivery_records"} {
			if _, ok := got["sog_redis_retained/"+kind]; !ok {
				t.Errorf("sog_redis_retained{kind=%q} missing from /metrics: %v", kind, got)
			}
		}
		if got["sog_redis_retained/orders"] != 2 || got["sog_redis_retained/dead_letters"] != 0 {
			t.Errorf("sizes = %v, want 2 orders and 0 dead letters", got)
		}
	})
}
