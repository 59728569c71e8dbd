package partners

import (
	"net/http"
	"strings"
	"testing"

	"github.com/equus/sogateway/internal/model"
)

func (r *rig) extend(orderID, body string) (int, map[string]any) {
	r.t.Helper()
	code, _, b := r.do(http.MethodPost, "/partners/extend/service-orders/"+orderID+"/update-repair", "application/json",
		[]byte(body), map[string]string{"X-Extend-Access-Token": extendKey})
	return code, jsonOf(r.t, b)
}

// extendOrder makes an Extend service order of serviceType as the platform does.
func extendOrder(t *testing.T, b *backend, serviceType string, accepted, closed bool) string {
	t.Helper()
	st := serviceType
	o := b.create(t, &model.Order{Partner: "extend", ServiceType: st})
	p := &model.Patch{}
	if accepted {
		yes := true
		p.Accepted = &yes
	}
	if closed {
		s := model.StatusClosed
		p.Status = &s
	}
	if !p.Empty() {
		b.patch(t, o.ID, p)
	}
	return o.ID
}

func TestExtendEvents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		r := newRig(t, b, nil, nil)
		depot := extendOrder(t, b, "repair_depot", true, false)
		onsite := extendOrder(t, b, "repair_onsite", true, false)
		notAccepted := extendOrder(t, b, "repair_depot", false, false)
		closed := extendOrder(t, b, "repair_onsite", true, true)
		cases := []struct {
			name    string
			order   string
			body    string
			code    int
			field   string
			mention string
		}{
			{"depot event on depot order", depot, `{"event":"repair_started","repairStartedAt":1700000000,"notes":"bench 4"}`, 200, "", ""},
			{"depot event with every field", depot, `{"event":"repair_eta","estimatedRepairCompletionAt":1700000000000,"isDelayed":true,"delayReason":"parts"}`, 200, "", ""},
			{"onsite event on onsite order", onsite, `{"event":"customer_contact","customerContactEventType":"call","method":"phone","contactTimestamp":1700000000,"appointmentTimestamps":[1700000000,1700003600]}`, 200, "", ""},
			{"other event on depot order", depot, `{"event":"custom_event_name_here","eventDate":1700000000,"metadata":{"a":1}}`, 200, "", ""},
			{"other event on onsite order", onsite, `{"event":"warranty_checked","eventDate":1700000000}`, 200, "", ""},
			{"onsite event on depot order", depot, `{"event":"batched","availabilityWindows":[1700000000]}`, 422, "event", "service type"},
			{"depot event on onsite order", onsite, `{"event":"product_received","receivedBy":"ann","receptionDate":1700000000}`, 422, "event", "service type"},
			{"unknown order", "no-such-order", `{"event":"repair_started","repairStartedAt":1700000000}`, 404, "", ""},
			{"order not accepted", notAccepted, `{"event":"repair_started","repairStartedAt":1700000000}`, 409, "status", "accepted"},
			{"order closed", closed, `{"event":"resolved","resolutionType":"fixed","reason":"done"}`, 409, "status", "closed"},
			{"number where a timestamp is expected", depot, `{"event":"repair_started","repairStartedAt":"soon"}`, 422, "repairStartedAt", "timestamp"},
			{"string where a boolean is expected", depot, `{"event":"repair_eta","isDelayed":"yes"}`, 422, "isDelayed", "boolean"},
			{"number where a string is expected", onsite, `{"event":"resolved","reason":42}`, 422, "reason", "string"},
			{"array of numbers holds a string", onsite, `{"event":"batched","availabilityWindows":["monday"]}`, 422, "availabilityWindows.0", "timestamp"},
			{"event name missing", depot, `{"notes":"x"}`, 422, "event", ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := len(b.events(t, c.order))
				code, m := r.extend(c.order, c.body)
				if code != c.code {
					t.Fatalf("POST %s = %d %v, want %d", c.body, code, m, c.code)
				}
				after := len(b.events(t, c.order))
				if c.code == 200 {
					if m["order_id"] != c.order || after != before+1 {
						t.Fatalf("answer %v, events %d -> %d: want the event on order %s", m, before, after, c.order)
					}
					ev := b.events(t, c.order)[after-1]
					if ev.Type != model.EventServicerEvent || ev.Data["event"] == nil {
						t.Fatalf("event = %+v, want servicer.event with data.event", ev)
					}
					return
				}
				if after != before {
					t.Fatalf("events %d -> %d after a refused event, want none added", before, after)
				}
				if m["status"] != float64(c.code) {
					t.Fatalf("problem %v, want status %d", m, c.code)
				}
				if c.field != "" {
					errs, _ := m["errors"].([]any)
					if len(errs) == 0 || errs[0].(map[string]any)["field"] != c.field {
						t.Fatalf("problem %v, want errors[0].field = %s", m, c.field)
					}
				}
				if !strings.Contains(strings.ToLower(m["detail"].(string)), c.mention) {
					t.Fatalf("detail %q, want it to mention %q", m["detail"], c.mention)
				}
			})
		}
	})
}

func TestExtendRepeatedEventAppliesOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		r := newRig(t, b, nil, nil)
		id := extendOrder(t, b, "repair_depot", true, false)
		body := `{"event":"repair_completed","repairCompletedAt":1700000000}`
		code1, m1 := r.extend(id, body)
		code2, m2 := r.extend(id, body)
		if code1 != 200 || code2 != 200 || m1["event_id"] != m2["event_id"] || m2["duplicate"] != true {
			t.Fatalf("answers %d %v / %d %v, want the same event, the second a duplicate", code1, m1, code2, m2)
		}
		if n := len(inboundEvents(b.events(t, id))); n != 1 {
			t.Fatalf("%d inbound events, want one servicer event", n)
		}
	})
}

// inboundEvents keeps the partner's events (not the platform's).
func inboundEvents(evs []*model.Event) []*model.Event {
	var out []*model.Event
	for _, e := range evs {
		if e.Direction == model.DirectionIn {
			out = append(out, e)
		}
	}
	return out
}

func TestExtendSameEventOnTwoOrders(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		r := newRig(t, b, nil, nil)
		a := extendOrder(t, b, "repair_depot", true, false)
		c := extendOrder(t, b, "repair_depot", true, false)
		body := `{"event":"repair_started","repairStartedAt":1700000000}`
		codeA, mA := r.extend(a, body)
		codeC, mC := r.extend(c, body)
		if codeA != 200 || codeC != 200 || mA["order_id"] != a || mC["order_id"] != c || mC["duplicate"] != false {
			t.Fatalf("answers %d %v / %d %v, want one new event on each order", codeA, mA, codeC, mC)
		}
		if na, nc := len(inboundEvents(b.events(t, a))), len(inboundEvents(b.events(t, c))); na != 1 || nc != 1 {
			t.Fatalf("inbound events %d / %d, want 1 / 1", na, nc)
		}
	})
}
