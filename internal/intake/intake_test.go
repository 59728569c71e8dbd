package intake_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/intake"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/store"
	"github.com/equus/sogateway/internal/testutil"
)

func newService(t *testing.T) *intake.Service {
	_, c := testutil.MiniRedis(t)
	return intake.New(store.New(c, nil), nil)
}

func str(s string) *string { return &s }

func pruvanUpsert(wo, clientStatus, key string) *model.Inbound {
	return &model.Inbound{Partner: "pruvan", Protocol: model.ProtocolREST, Kind: "workorder", IdempotencyKey: key,
		Target: model.Target{Requestor: wo, Create: true, Recreate: true}, Event: model.EventOrderUpdated,
		Patch: model.Patch{Refs: model.Refs{Requestor: wo}, ClientStatus: str(clientStatus)}, Raw: []byte(`{"workOrderNumber":"` + wo + `"}`)}
}

func TestCommitCreatesThenUpdatesByReference(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	out, err := s.Commit(ctx, pruvanUpsert("TESTPOST", "Order Created", "m1"))
	testutil.Must(t, err)
	if !out.Created || out.Event.Type != model.EventOrderCreated || out.Order.ClientStatus != "Order Created" {
		t.Fatalf("first Commit = created %v type %s status %q, want a created order.created with Order Created", out.Created, out.Event.Type, out.Order.ClientStatus)
	}
	out2, err := s.Commit(ctx, pruvanUpsert("TESTPOST", "Order Late", "m2"))
	testutil.Must(t, err)
	if out2.Created || out2.Order.ID != out.Order.ID || out2.Order.ClientStatus != "Order Late" || out2.Order.Version != 2 {
		t.Fatalf("second Commit = created %v id %s status %q v%d, want an update of %s to Order Late v2",
			out2.Created, out2.Order.ID, out2.Order.ClientStatus, out2.Order.Version, out.Order.ID)
	}
	if out2.Event.Raw == "" || out2.Event.Direction != model.DirectionIn {
		t.Errorf("event = %+v, want the raw message kept and direction in", out2.Event)
	}
}

func TestCommitRepeatedKeyReturnsFirstOutcome(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	first, err := s.Commit(ctx, pruvanUpsert("WO-9", "Order Created", "same"))
	testutil.Must(t, err)
	again, err := s.Commit(ctx, pruvanUpsert("WO-9", "Something else", "same"))
	testutil.Must(t, err)
	if !again.Duplicate || again.Event.ID != first.Event.ID || again.Order.ClientStatus != "Order Created" || again.Order.Version != 1 {
		t.Fatalf("repeat = dup %v event %s status %q v%d, want the first outcome unchanged", again.Duplicate, again.Event.ID, again.Order.ClientStatus, again.Order.Version)
	}
	evs, _ := s.Store().Events(ctx, first.Order.ID)
	if len(evs) != 1 {
		t.Fatalf("%d events after a repeated message, want 1", len(evs))
	}
}

func TestConcurrentCreatesOfOneReferenceMakeOneOrder(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	var wg sync.WaitGroup
	ids := make([]string, 6)
	for i := range ids {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			out, err := s.Commit(ctx, pruvanUpsert("RACE", "x", string(rune('a'+i))))
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = out.Order.ID
		}(i)
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent creates made orders %v, want one", ids)
		}
	}
	evs, _ := s.Store().Events(ctx, ids[0])
	if len(evs) != len(ids) {
		t.Fatalf("%d events, want %d (one per message)", len(evs), len(ids))
	}
}

func TestCommitRequireAndNotFound(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	o, _, err := s.CreateOrder(ctx, &model.Order{Partner: "extend", ServiceType: "repair_depot", Refs: model.Refs{Requestor: "SO-1"}})
	testutil.Must(t, err)
	ev := func(req model.Require) *model.Inbound {
		return &model.Inbound{Partner: "extend", Kind: "product_received", Target: model.Target{OrderID: o.ID}, Require: req,
			Event: model.EventServicerEvent, Raw: []byte("x" + req.ServiceTypes[0])}
	}
	_, err = s.Commit(ctx, ev(model.Require{ServiceTypes: []string{"repair_depot"}, Accepted: true, Open: true}))
	if !errors.Is(err, model.ErrConflict) {
		t.Fatalf("event on a not accepted order = %v, want ErrConflict", err)
	}
	_, err = s.Commit(ctx, ev(model.Require{ServiceTypes: []string{"repair_onsite"}}))
	if !errors.Is(err, model.ErrRefused) {
		t.Fatalf("onsite event on a depot order = %v, want ErrRefused", err)
	}
	_, _, err = s.PatchOrder(ctx, o.ID, 1, &model.Patch{Accepted: boolp(true)}, nil)
	testutil.Must(t, err)
	out, err := s.Commit(ctx, ev(model.Require{ServiceTypes: []string{"repair_depot"}, Accepted: true, Open: true}))
	testutil.Must(t, err)
	if out.Event.Type != model.EventServicerEvent {
		t.Fatalf("accepted depot event = %s, want servicer.event", out.Event.Type)
	}
	_, err = s.Commit(ctx, &model.Inbound{Partner: "extend", Target: model.Target{OrderID: "missing"}, Event: model.EventServicerEvent, Raw: []byte("m")})
	if !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("event for unknown order = %v, want ErrNotFound", err)
	}
}

func TestDeletedOrderIsRecreatedUnderNewKey(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	first, err := s.Commit(ctx, pruvanUpsert("DEL", "Order Created", "d1"))
	testutil.Must(t, err)
	del := pruvanUpsert("DEL", "Order Deleted", "d2")
	st := model.StatusDeleted
	del.Patch.Status = &st
	del.Target.Recreate = false
	_, err = s.Commit(ctx, del)
	testutil.Must(t, err)
	again, err := s.Commit(ctx, pruvanUpsert("DEL", "Order Created", "d3"))
	testutil.Must(t, err)
	if !again.Created || again.Order.ID == first.Order.ID {
		t.Fatalf("re-create of a deleted order = created %v id %s, want a new order with a new id (old %s)", again.Created, again.Order.ID, first.Order.ID)
	}
}

func TestSharedFieldsFollowAutoAdmin(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	in := pruvanUpsert("AA", "Order Created", "a1")
	in.Patch.Fields = map[string]any{"description": "partner text", "client_due_date": "2020-05-28"}
	in.Options = model.ApplyOptions{Owners: map[string]model.Owner{"client_due_date": model.OwnerPartner}}
	out, err := s.Commit(ctx, in)
	testutil.Must(t, err)
	_, _, err = s.PatchOrder(ctx, out.Order.ID, out.Order.Version, &model.Patch{Fields: map[string]any{"description": "platform text"}}, in.Options.Owners)
	testutil.Must(t, err)
	if _, _, err := s.PatchOrder(ctx, out.Order.ID, 0, &model.Patch{Fields: map[string]any{"client_due_date": "x"}}, in.Options.Owners); !errors.Is(err, model.ErrRefused) {
		t.Fatalf("platform edit of a partner-owned field = %v, want ErrRefused", err)
	}
	off := pruvanUpsert("AA", "Order Late", "a2")
	off.Patch.Fields = map[string]any{"description": "partner again"}
	off.Options = in.Options
	got, err := s.Commit(ctx, off)
	testutil.Must(t, err)
	if v := got.Order.Fields["description"].Value; v != "platform text" || len(got.Applied.Kept) != 1 {
		t.Fatalf("Auto-Admin off: description = %v kept %v, want the platform's value kept and reported", v, got.Applied.Kept)
	}
	on := pruvanUpsert("AA", "Order Late", "a3")
	on.Patch.Fields = map[string]any{"description": "partner wins"}
	on.Options = in.Options
	on.Options.AutoAdmin = true
	got, err = s.Commit(ctx, on)
	testutil.Must(t, err)
	if v := got.Order.Fields["description"].Value; v != "partner wins" {
		t.Fatalf("Auto-Admin on: description = %v, want the partner's value", v)
	}
}

func boolp(b bool) *bool { return &b }

func TestSameContentAfterAChangeAppliesAgain(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	// Pruvan has no message ids: the key is a digest of the content.
	late := func() *model.Inbound { return pruvanUpsert("WO-L", "Order Late", "sha256:late") }
	first, err := s.Commit(ctx, late())
	testutil.Must(t, err)
	retry, err := s.Commit(ctx, late())
	testutil.Must(t, err)
	if !retry.Duplicate || retry.Order.Version != first.Order.Version {
		t.Fatalf("immediate repeat = dup %v v%d, want the first answer", retry.Duplicate, retry.Order.Version)
	}
	_, err = s.Commit(ctx, pruvanUpsert("WO-L", "Order On Time", "sha256:ontime"))
	testutil.Must(t, err)
	again, err := s.Commit(ctx, late())
	testutil.Must(t, err)
	if again.Duplicate || again.Order.ClientStatus != "Order Late" {
		t.Fatalf("same content after another change = dup %v status %q, want it applied (Order Late)", again.Duplicate, again.Order.ClientStatus)
	}
	// A partner message id stays a duplicate even after other changes.
	withID := func() *model.Inbound {
		in := pruvanUpsert("WO-L", "Order Late", "emg-task-1")
		in.MessageID = "emg-task-1"
		return in
	}
	_, err = s.Commit(ctx, withID())
	testutil.Must(t, err)
	_, err = s.Commit(ctx, pruvanUpsert("WO-L", "Order On Time", "sha256:ontime-2"))
	testutil.Must(t, err)
	rep, err := s.Commit(ctx, withID())
	testutil.Must(t, err)
	if !rep.Duplicate || rep.Order.ClientStatus != "Order On Time" {
		t.Fatalf("repeated message id after a change = dup %v status %q, want a duplicate that changes nothing", rep.Duplicate, rep.Order.ClientStatus)
	}
}

// A burst of messages on one order (a partner replaying its backlog at once)
// all apply: this process lets them through one at a time instead of letting
// them race through version conflicts until some give up.
func TestBurstOnOneOrderAllApply(t *testing.T) {
	testutil.EachRedis(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s := intake.New(store.New(rdb, nil), nil)
		first, err := s.Commit(ctx, pruvanUpsert("BURST", "Order Created", "m0"))
		testutil.Must(t, err)
		const burst = 48
		var wg sync.WaitGroup
		for i := 1; i <= burst; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				if _, err := s.Commit(ctx, pruvanUpsert("BURST", fmt.Sprintf("status %d", i), fmt.Sprintf("m%d", i))); err != nil {
					t.Errorf("message %d of the burst: %v", i, err)
				}
			}(i)
		}
		wg.Wait()
		o, err := s.Store().GetOrderHead(ctx, first.Order.ID)
		testutil.Must(t, err)
		if o.Version != burst+1 {
			t.Errorf("order at version %d after a burst of %d updates, want %d", o.Version, burst, burst+1)
		}
	})
}
