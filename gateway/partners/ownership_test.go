package partners

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/equus/sogateway/internal/model"
)

// A partner reaches only its own orders: Extend posting an event to a Pruvan
// order by its id, or Pruvan updating a work order whose number is another
// partner's order id, gets the answer a missing order gets (the same status
// and shape, the id aside), nothing changes, and the attempt is logged and
// counted on gateway_partner_foreign_order_attempts_total.
func TestPartnerReachesOnlyItsOwnOrders(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		r := newRig(t, b, nil, nil)
		pruvanOrder := b.create(t, &model.Order{Partner: "pruvan", Refs: model.Refs{Requestor: "PRV-1"}})
		extendID := extendOrder(t, b, "repair_depot", true, false)
		before := r.foreignAttempts(t)

		event := `{"event":"repair_started","repairStartedAt":1700000000}`
		missingCode, _, missing := r.do(http.MethodPost, "/partners/extend/service-orders/no-such-order/update-repair", "application/json",
			[]byte(event), map[string]string{"X-Extend-Access-Token": extendKey})
		code, ct, foreign := r.do(http.MethodPost, "/partners/extend/service-orders/"+pruvanOrder.ID+"/update-repair", "application/json",
			[]byte(event), map[string]string{"X-Extend-Access-Token": extendKey})
		same := func(got []byte, id string, want []byte) bool {
			return strings.ReplaceAll(string(got), id, "no-such-order") == string(want)
		}
		if code != http.StatusNotFound || missingCode != http.StatusNotFound || ct != "application/problem+json" || !same(foreign, pruvanOrder.ID, missing) {
			t.Fatalf("extend on pruvan's order = %d %s %s; on a missing order = %d %s: want the same 404 problem", code, ct, foreign, missingCode, missing)
		}

		update := func(wo string) (int, []byte) {
			code, _, body := r.do(http.MethodPost, pruvanURL(pruvanKey), "application/json",
				[]byte(`{"workOrders":[{"workOrderNumber":"`+wo+`","clientStatus":"Taken over"}]}`), nil)
			return code, body
		}
		missingCode, missing = update("NO-SUCH-WO")
		code, foreign = update(extendID)
		if code != http.StatusOK || missingCode != http.StatusOK || !same(foreign, extendID, []byte(strings.ReplaceAll(string(missing), "NO-SUCH-WO", "no-such-order"))) ||
			!strings.Contains(string(foreign), `"updated":0`) {
			t.Fatalf("pruvan update of extend's order = %d %s; of a missing one = %d %s: want the same per-item refusal", code, foreign, missingCode, missing)
		}

		for _, id := range []string{pruvanOrder.ID, extendID} {
			if n := len(inboundEvents(b.events(t, id))); n != 0 {
				t.Fatalf("order %s has %d inbound events after foreign messages, want 0", id, n)
			}
		}
		if got := r.foreignAttempts(t) - before; got != 2 {
			t.Fatalf("foreign attempts counted = %v, want 2", got)
		}
		logs := r.logs.String()
		for _, want := range []string{`"partner":"extend"`, `"owner":"pruvan"`, `"order":"` + pruvanOrder.ID + `"`, `"partner":"pruvan"`, `"owner":"extend"`} {
			if !strings.Contains(logs, want) || !strings.Contains(logs, "another partner's order") {
				t.Fatalf("logs do not record the attempt with %s:\n%s", want, logs)
			}
		}
	})
}

// foreignAttempts sums gateway_partner_foreign_order_attempts_total: from the
// binary's /metrics, or from the rig's inbound service in process.
func (r *rig) foreignAttempts(t *testing.T) float64 {
	t.Helper()
	const name = "gateway_partner_foreign_order_attempts_total"
	var sum float64
	if r.url != "" {
		resp, err := http.Get(r.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, name+"{") {
				v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
				if err != nil {
					t.Fatalf("/metrics line %q: %v", line, err)
				}
				sum += v
			}
		}
		return sum
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(r.inb.Collector())
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}
