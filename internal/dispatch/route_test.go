package dispatch

import (
	"strings"
	"testing"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/model"
)

func TestChangesNamesEveryCanonicalChange(t *testing.T) {
	base := &model.Order{ID: "o", Status: model.StatusInProgress}
	with := func(edit func(o *model.Order)) *model.Order {
		c := *base
		edit(&c)
		return &c
	}
	tests := []struct {
		name          string
		before, after *model.Order
		ev            *model.Event
		want          string
	}{
		{"created", nil, base, &model.Event{Type: model.EventOrderCreated}, "order.created"},
		{"message", base, base, &model.Event{Type: model.EventOrderMessage}, "order.message"},
		{"resolved by the partner", base, with(func(o *model.Order) { o.Status = model.StatusResolved }),
			&model.Event{Type: model.EventOrderReassigned}, "order.reassigned order.status_changed order.resolved"},
		{"closed", base, with(func(o *model.Order) { o.Status = model.StatusClosed }),
			&model.Event{Type: model.EventOrderClosed}, "order.closed order.status_changed"},
		{"cancelled", base, with(func(o *model.Order) { o.Status = model.StatusCancelled }), nil, "order.status_changed order.cancelled"},
		{"assigned", base, with(func(o *model.Order) { o.Assignment = &model.Assignment{Group: "network-ops"} }),
			&model.Event{Type: model.EventOrderUpdated}, "order.assigned"},
		{"assigned away", with(func(o *model.Order) { o.Assignment = &model.Assignment{Group: "network-ops"} }),
			with(func(o *model.Order) { o.Assignment = &model.Assignment{Group: "desk"} }), nil, "order.assigned order.unassigned"},
		{"rejected", with(func(o *model.Order) { o.Status = model.StatusResolved }), base,
			&model.Event{Type: model.EventOrderResolutionRejected}, "order.resolution_rejected order.status_changed"},
		{"field update only", base, with(func(o *model.Order) { o.Fields = map[string]model.Field{"x": {Value: 1}} }),
			&model.Event{Type: model.EventOrderUpdated}, ""},
	}
	for _, tt := range tests {
		var got []string
		for _, c := range Changes(tt.before, tt.after, tt.ev) {
			got = append(got, string(c))
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("%s: Changes = %v, want %s", tt.name, got, tt.want)
		}
	}
}

// providerFixture is the acme-movers fixture plus an integrated group served
// by it and definitions for closure and resolution rejection.
func providerFixture(c *configs.VendorConfig, o *Options) {
	c.Definitions = append(c.Definitions,
		configs.EventDefinition{Company: "globex", ServiceType: "*", Event: "order.closed", Active: true, Render: "message"},
		configs.EventDefinition{Company: "globex", ServiceType: "*", Event: "order.resolution_rejected", Active: true, Render: "message"},
		configs.EventDefinition{Company: "globex", ServiceType: "*", Event: "order.unassigned", Active: true, Render: "message"})
	o.Groups = map[string]configs.GroupConfig{"movers": {Vendor: "acme-movers", Integrated: true}, "desk": {}}
}

func TestRouteIntegratedGroupClosureAndNoEcho(t *testing.T) {
	suite(t, providerFixture, func(t *testing.T, f *fixture) {
		f.order(t, "o1", nil)
		// Assignment to a group that is not integrated: nothing.
		if ds := f.patch(t, "o1", func(o *model.Order) { o.Assignment = &model.Assignment{Group: "desk"} }); len(ds) != 0 {
			t.Fatalf("assignment to a plain group = %+v, want no delivery", ds)
		}
		// First assignment to the integrated group: Submit Request (order.submitted).
		ds := f.patch(t, "o1", func(o *model.Order) { o.Assignment = &model.Assignment{Group: "movers", Assignee: "ann"} })
		if len(ds) != 1 || ds[0].Event != "order.submitted" {
			t.Fatalf("assignment to the integrated group = %+v, want one order.submitted", ds)
		}
		// A change the partner made itself does not go back to it.
		before, _ := f.st.GetOrder(f.ctx, "o1")
		after := *before
		after.Status = model.StatusClosed
		in := &model.Event{ID: "ev-in", Type: model.EventOrderClosed, Direction: model.DirectionIn, Partner: "acme-movers"}
		if ds, err := f.svc.Route(f.ctx, before, &after, in); err != nil || len(ds) != 0 {
			t.Fatalf("Route(closed by the partner) = %+v, %v, want nothing", ds, err)
		}
		// Assigned away: order.unassigned to the group's vendor.
		ds = f.patch(t, "o1", func(o *model.Order) { o.Assignment = &model.Assignment{Group: "desk"} })
		if len(ds) != 1 || ds[0].Event != "order.unassigned" {
			t.Fatalf("assignment away = %+v, want one order.unassigned", ds)
		}
		// Closed on the platform: Closed / Out.
		before, _ = f.st.GetOrder(f.ctx, "o1")
		after = *before
		after.Status = model.StatusClosed
		closed := &model.Event{ID: "ev-close", OrderID: "o1", Type: model.EventOrderClosed, Direction: model.DirectionOut, Partner: "acme-movers"}
		ds, err := f.svc.Route(f.ctx, before, &after, closed)
		// The status is watched by the update_values definition too.
		if err != nil || len(ds) != 2 || ds[0].Event != "order.closed" || ds[0].EventID != "ev-close" || ds[1].Event != "order.updated" {
			t.Fatalf("Route(closed) = %+v, %v, want order.closed (the recorded event) and order.updated", ds, err)
		}
		f.deliverDue(t)
		var kinds []string
		for _, r := range f.vendor.successes() {
			kinds = append(kinds, r.event)
		}
		if strings.Join(kinds, " ") != "order.submitted order.unassigned order.closed order.updated" {
			t.Errorf("vendor got %v, want order.submitted order.unassigned order.closed order.updated", kinds)
		}
		evs, _ := f.st.Events(f.ctx, "o1")
		found := false
		for _, e := range evs {
			if e.Type == model.EventOrderSubmitted && e.Data["group"] == "movers" && e.Data["assignee"] == "ann" {
				found = true
			}
		}
		if !found {
			t.Errorf("no order.submitted event naming the group and assignee in %+v", evs)
		}
	})
}

func TestVisibleOrderKeepsOnlyThePermittedFields(t *testing.T) {
	o := &model.Order{ID: "o", Company: "globex", Status: model.StatusNew, Refs: model.Refs{Requestor: "R", Servicer: "S"},
		Fields:      map[string]model.Field{"move_date": {Value: "2026-12-01"}, "internal_cost": {Value: 10}},
		Attachments: []model.Attachment{{Name: "a.pdf"}}, Messages: []model.Message{{Text: "internal note"}}}
	v := &vendor{cfg: configs.VendorConfig{Permissions: configs.PermissionSet{Fields: []string{"fields.move_date", "attachments"}}}}
	got := visibleOrder(v, o)
	if len(got.Fields) != 1 || got.Fields["move_date"].Value != "2026-12-01" || len(got.Attachments) != 1 ||
		got.Messages != nil || got.Refs.Servicer != "" || got.Refs.Requestor != "R" || got.Company != "globex" {
		t.Errorf("visibleOrder = %+v, want move_date, attachments and the identity only", got)
	}
	if len(o.Fields) != 2 || o.Messages == nil {
		t.Errorf("visibleOrder changed the order itself: %+v", o)
	}
	if all := visibleOrder(&vendor{}, o); all != o {
		t.Errorf("a permission set without fields must show the order as it is")
	}
}
