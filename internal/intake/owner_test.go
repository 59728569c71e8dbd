package intake_test

import (
	"context"
	"errors"
	"testing"

	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/testutil"
)

// A partner reaches only its own orders and those sent to it; any other
// order is not found, worded exactly as a missing one, and marked
// ErrNotOwned for the log and the metric.
func TestCommitReachesOnlyOwnOrSentOrders(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	sent := map[string][]string{}
	s.SetSentTo(func(_ context.Context, id string) ([]string, error) { return sent[id], nil })
	pruvan, err := s.Commit(ctx, pruvanUpsert("WO-1", "Order Created", "k1"))
	testutil.Must(t, err)
	id := pruvan.Order.ID
	event := func(partner, orderID, key string) *model.Inbound {
		return &model.Inbound{Partner: partner, Protocol: model.ProtocolREST, Kind: "event", IdempotencyKey: key,
			Target: model.Target{OrderID: orderID}, Event: model.EventServicerEvent,
			Patch: model.Patch{PartnerStatus: str("repair_started")}, Raw: []byte(key)}
	}
	_, missing := s.Commit(ctx, event("extend", "no-such-order", "k2"))
	_, foreign := s.Commit(ctx, event("extend", id, "k3"))
	if !errors.Is(foreign, model.ErrNotFound) || !errors.Is(foreign, model.ErrNotOwned) || errors.Is(missing, model.ErrNotOwned) {
		t.Fatalf("extend on pruvan's order = %v, on a missing order = %v: want not found (and not owned for the first only)", foreign, missing)
	}
	var no *model.NotOwnedError
	if !errors.As(foreign, &no) || no.Owner != "pruvan" || no.OrderID != id {
		t.Fatalf("extend on pruvan's order = %#v, want a NotOwnedError naming order %s of pruvan", foreign, id)
	}
	if got, want := foreign.Error(), `order "`+id+`" of partner extend: not found`; got != want {
		t.Fatalf("error = %q, want %q (worded as a missing order)", got, want)
	}
	// A task reference that is another partner's order id is not found either.
	_, err = s.Commit(ctx, &model.Inbound{Partner: "ssp7", Protocol: model.ProtocolSOAP, Kind: "ack", IdempotencyKey: "k4",
		Target: model.Target{Requestor: id}, Event: model.EventOrderAcknowledged, Patch: model.Patch{Refs: model.Refs{Servicer: "INC-1"}}, Raw: []byte("k4")})
	if !errors.Is(err, model.ErrNotOwned) {
		t.Fatalf("ssp7 on pruvan's order by its id = %v, want not found (not owned)", err)
	}
	o, err := s.Store().GetOrder(ctx, id)
	testutil.Must(t, err)
	if o.Version != 1 || o.PartnerStatus != "" || o.Refs.Servicer != "" {
		t.Fatalf("pruvan's order after foreign messages = v%d %q %q, want it unchanged", o.Version, o.PartnerStatus, o.Refs.Servicer)
	}
	// Once the order was sent to extend (a vendor of that name), extend may address it.
	sent[id] = []string{"extend"}
	out, err := s.Commit(ctx, event("extend", id, "k5"))
	testutil.Must(t, err)
	if out.Order.ID != id || out.Order.PartnerStatus != "repair_started" {
		t.Fatalf("extend on an order sent to it = %+v, want the event applied", out.Order)
	}
}
