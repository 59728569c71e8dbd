package partners

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/equus/sogateway/internal/model"
)

// pruvanNew is a create of work order wo with one service.
func pruvanNew(wo, extra string) string {
	return `{"workOrders":[{"workOrderNumber":"` + wo + `","address1":"1 Main","city":"Austin","state":"TX","zip":"78701","services":[{"serviceName":"Mow"}]` + extra + `}]}`
}

// pruvanSet is an update of work order wo with the members in extra.
func pruvanSet(wo, extra string) string {
	return `{"workOrders":[{"workOrderNumber":"` + wo + `"` + extra + `}]}`
}

// mustPruvan posts body and wants 200 with the given counts and no error.
func (r *rig) mustPruvan(t *testing.T, body string, created, updated, deleted int) map[string]any {
	t.Helper()
	code, m := r.withT(t).pruvan(body)
	if c, u, d, errs := counts(t, m); code != http.StatusOK || c != created || u != updated || d != deleted || errs != nil {
		t.Fatalf("POST %s = %d %v, want created %d updated %d deleted %d and no error", body, code, m, created, updated, deleted)
	}
	return m
}

// Seed 001's Update rows as an internal integration: "assigned" says the
// assignment change, "unassigned" clears assignedTo, Rush and Rework replace
// each other (Pruvan's Status is one field), and any other status clears both.
func TestPruvanUpdateRowsFollowTheSeed(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		r := newRig(t, b, nil, &Options{Settings: map[string]map[string]string{"pruvan": {"integration": "internal"}}})
		r.mustPruvan(t, pruvanNew("SEED-1", ""), 1, 0, 0)
		id := b.find(t, "pruvan", "requestor", "SEED-1")

		r.mustPruvan(t, pruvanSet("SEED-1", `,"status":"assigned","assignedTo":"tech2"`), 0, 1, 0)
		if o := lastOrder(t, b, id); o.Status != model.StatusSent || o.ClientStatus != "Assignment Change to tech2" || o.Fields["assigned_to"].Value != "tech2" {
			t.Fatalf("after assigned = %s %q %v, want sent, \"Assignment Change to tech2\", assigned to tech2", o.Status, o.ClientStatus, o.Fields["assigned_to"])
		}
		r.mustPruvan(t, pruvanSet("SEED-1", `,"status":"unassigned"`), 0, 1, 0)
		if o := lastOrder(t, b, id); o.Status != model.StatusNew || o.ClientStatus != "Temporarily Unassigned" {
			t.Fatalf("after unassigned = %s %q, want new, Temporarily Unassigned", o.Status, o.ClientStatus)
		} else if f, ok := o.Fields["assigned_to"]; ok {
			t.Fatalf("after unassigned assigned_to = %v, want it cleared", f.Value)
		}

		r.mustPruvan(t, pruvanSet("SEED-1", `,"status":"rush"`), 0, 1, 0)
		r.mustPruvan(t, pruvanSet("SEED-1", `,"status":"rework"`), 0, 1, 0)
		if o := lastOrder(t, b, id); !slices.Equal(o.Flags, []model.Flag{model.FlagRework}) || o.ClientStatus != "Order updated to Rework" {
			t.Fatalf("rush then rework = flags %v %q, want [rework] only", o.Flags, o.ClientStatus)
		}
		// Another message (a digest of the first rush would be its retry on the fake sink).
		r.mustPruvan(t, pruvanSet("SEED-1", `,"status":"rush","reference":"r2"`), 0, 1, 0)
		if o := lastOrder(t, b, id); !slices.Equal(o.Flags, []model.Flag{model.FlagRush}) {
			t.Fatalf("rework then rush = flags %v, want [rush] only", o.Flags)
		}
		r.mustPruvan(t, pruvanSet("SEED-1", `,"status":"closed"`), 0, 1, 0)
		if o := lastOrder(t, b, id); o.Status != model.StatusClosed || len(o.Flags) != 0 || o.ClientStatus != "Order Closed" {
			t.Fatalf("closed = %s flags %v %q, want closed without flags", o.Status, o.Flags, o.ClientStatus)
		}
	})
}

// Update "deleted" is allowed (the seed: "use with caution") and sets the
// seed's client status; only deletions count as deleted; an update to a
// deleted order is that item's error and leaves the order as it is; a create
// makes it again under a new id.
func TestPruvanDeletedUpdate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		r := newRig(t, b, nil, nil)
		r.mustPruvan(t, pruvanNew("DEL-1", ""), 1, 0, 0)
		r.mustPruvan(t, pruvanNew("DEL-2", ""), 1, 0, 0)
		id := b.find(t, "pruvan", "requestor", "DEL-1")
		r.mustPruvan(t, `{"workOrders":[{"workOrderNumber":"DEL-1","status":"deleted"},{"workOrderNumber":"DEL-2","clientStatus":"Order Late"}]}`, 0, 1, 1)
		o := lastOrder(t, b, id)
		if o.Status != model.StatusDeleted || o.ClientStatus != "Order Deleted" {
			t.Fatalf("deleted order = %s %q, want deleted, Order Deleted", o.Status, o.ClientStatus)
		}
		events := len(inboundEvents(b.events(t, id)))
		code, m := r.pruvan(pruvanSet("DEL-1", `,"clientStatus":"Order Late","status":"rush"`))
		c, u, d, errs := counts(t, m)
		if code != http.StatusOK || c+u+d != 0 || len(errs) != 1 || !strings.Contains(string(mustJSON(errs)), "deleted") {
			t.Fatalf("update of a deleted order = %d %v, want its error (mentioning deleted) and no count", code, m)
		}
		if after := lastOrder(t, b, id); after.ClientStatus != "Order Deleted" || len(after.Flags) != 0 || len(inboundEvents(b.events(t, id))) != events {
			t.Fatalf("deleted order after an update = %q flags %v, want it unchanged", after.ClientStatus, after.Flags)
		}
		r.mustPruvan(t, pruvanNew("DEL-1", `,"clientStatus":"Again"`), 1, 0, 0)
		if again := b.find(t, "pruvan", "requestor", "DEL-1"); again == id || again == "" {
			t.Fatalf("re-create of a deleted order = %q, want a new id", again)
		}
	})
}

// A create is told what it lacks; due dates with a minutes offset (+0530)
// are read; a repeated create of an existing work order is recorded as the
// update it is, not as a second order.created.
func TestPruvanCreateDetails(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		r := newRig(t, b, nil, nil)
		code, m := r.pruvan(`{"workOrders":[{"workOrderNumber":"NEW-1","address1":"1 Main","city":"Austin","state":"TX","zip":"78701"}]}`)
		if _, _, _, errs := counts(t, m); code != http.StatusOK || len(errs) != 1 ||
			!strings.Contains(string(mustJSON(errs)), "a create needs workOrderNumber, a valid address (address1, city, state, zip) and at least one service (services)") {
			t.Fatalf("create without services = %d %v, want its error saying what a create needs", code, m)
		}

		r.mustPruvan(t, pruvanNew("TZ-1", `,"dueDate":"2020-06-01 1400 +0530","clientDueDate":"2020-06-02 0900 -0330"`), 1, 0, 0)
		id := b.find(t, "pruvan", "requestor", "TZ-1")
		o := lastOrder(t, b, id)
		if o.Fields["due_date"].Value != "2020-06-01T08:30:00Z" || o.Fields["client_due_date"].Value != "2020-06-02T12:30:00Z" {
			t.Fatalf("due dates = %v %v, want 2020-06-01T08:30:00Z and 2020-06-02T12:30:00Z", o.Fields["due_date"].Value, o.Fields["client_due_date"].Value)
		}

		r.mustPruvan(t, pruvanNew("TZ-1", `,"clientStatus":"Sent again"`), 0, 1, 0)
		var types []model.EventType
		for _, ev := range inboundEvents(b.events(t, id)) {
			types = append(types, ev.Type)
		}
		if !slices.Equal(types, []model.EventType{model.EventOrderCreated, model.EventOrderUpdated}) || b.count(t) != 1 {
			t.Fatalf("create, then a create of the same work order = events %v and %d orders, want [order.created order.updated] on one order", types, b.count(t))
		}
	})
}

// With Auto-Admin off, Status (with its Rush/Rework flags) and Tasks are
// shared fields too: what a user set since the remote last did is kept and
// reported, like the other shared fields; with Auto-Admin on the remote wins.
func TestPruvanAutoAdminKeepsStatusAndTasks(t *testing.T) {
	for _, autoAdmin := range []string{"false", "true"} {
		t.Run("auto_admin="+autoAdmin, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b *backend) {
				r := newRig(t, b, nil, &Options{Settings: map[string]map[string]string{"pruvan": {"auto_admin": autoAdmin}}})
				r.mustPruvan(t, pruvanNew("AA-2", ""), 1, 0, 0)
				id := b.find(t, "pruvan", "requestor", "AA-2")
				inProgress := model.StatusInProgress
				b.patch(t, id, &model.Patch{Status: &inProgress, Tasks: []model.Task{{Name: "Mow and trim"}}})
				m := r.mustPruvan(t, pruvanSet("AA-2", `,"status":"rush","services":[{"serviceName":"Mow only"}],"clientStatus":"Order Late"`), 0, 1, 0)
				o := lastOrder(t, b, id)
				kept, _ := m["kept"].([]any)
				if autoAdmin == "false" {
					if o.Status != model.StatusInProgress || o.HasFlag(model.FlagRush) || len(o.Tasks) != 1 || o.Tasks[0].Name != "Mow and trim" {
						t.Fatalf("order = %s flags %v tasks %v, want the user's status and tasks kept", o.Status, o.Flags, o.Tasks)
					}
					if len(kept) != 1 || !strings.Contains(string(mustJSON(kept)), `"status"`) || !strings.Contains(string(mustJSON(kept)), `"tasks"`) {
						t.Fatalf("kept = %v, want status and tasks reported", m["kept"])
					}
				} else {
					if !o.HasFlag(model.FlagRush) || len(o.Tasks) != 1 || o.Tasks[0].Name != "Mow only" || kept != nil {
						t.Fatalf("order = %s flags %v tasks %v kept %v, want the remote's rush and tasks", o.Status, o.Flags, o.Tasks, kept)
					}
				}
				// The remote-owned client status is always written.
				if o.ClientStatus != "Order Late" {
					t.Fatalf("client status = %q, want Order Late", o.ClientStatus)
				}
			})
		})
	}
}
