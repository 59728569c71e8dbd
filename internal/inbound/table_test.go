package inbound_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/inbound"
	"github.com/equus/sogateway/internal/intake"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/store"
	"github.com/equus/sogateway/internal/testutil"
	"github.com/equus/sogateway/mail"
	"github.com/equus/sogateway/mappings"
	"github.com/equus/sogateway/soap"
)

// step is one partner message of an idempotency case: its partner message
// id ("" for none: the content digest is the key), the text it carries and
// what must become of it.
type step struct {
	id, text string
	want     string // "applied", "duplicate" or "refused"
}

// idempotencyCases is the one table of the inbound idempotency rule (see
// inbound.Key). Every protocol runs every case.
var idempotencyCases = []struct {
	name  string
	steps []step
}{
	{"a partner message id dedupes", []step{{"m1", "late", "applied"}, {"m1", "late", "duplicate"}}},
	{"distinct ids with the same text both apply", []step{{"m1", "late", "applied"}, {"m2", "late", "applied"}}},
	{"another body under a used id is refused", []step{{"m1", "late", "applied"}, {"m1", "on time", "refused"}, {"m1", "late", "duplicate"}}},
	{"a used id stays a duplicate after other changes", []step{{"m1", "late", "applied"}, {"m2", "on time", "applied"}, {"m1", "late", "duplicate"}}},
	{"without an id the digest dedupes while the order is unchanged", []step{{"", "late", "applied"}, {"", "late", "duplicate"}}},
	{"without an id a changed order makes the same text apply again", []step{{"", "late", "applied"}, {"", "on time", "applied"}, {"", "late", "applied"}}},
}

// sender sends one message of a case to the order its protocol addresses
// (ref), the way that protocol's adapter hands it to the inbound path, and
// returns the error the adapter got back.
type sender struct {
	partner, serviceType string
	status               model.Status
	// send sends one message to o (its gateway id for REST, its requestor
	// reference as the task id for SOAP and mail).
	send func(ctx context.Context, t *testing.T, svc *inbound.Service, reg *mappings.Registry, o *model.Order, id, text string) error
}

var senders = map[string]sender{
	// REST: the partner routes hand the JSON body, the route parameters as
	// the digest's scope and the Standard Webhooks webhook-id as the id.
	"rest": {partner: "extend", serviceType: "repair_onsite", status: model.StatusAccepted, send: func(ctx context.Context, t *testing.T, svc *inbound.Service, _ *mappings.Registry, o *model.Order, id, text string) error {
		body := fmt.Sprintf(`{"event":"appointment_scheduling","notes":%q}`, text)
		rs, err := svc.Receive(ctx, inbound.Message{Partner: "extend",
			Input:     mappings.Input{Protocol: model.ProtocolREST, Route: "update-repair", Params: map[string]string{"id": o.ID}, Body: []byte(body)},
			MessageID: id, Scope: "@" + o.ID})
		if err != nil {
			return err
		}
		return rs[0].Err
	}},
	// SOAP: the service's Backend (soap.Inbound) with the call as the
	// envelope reader decodes it, wsa:MessageID as the id.
	"soap": {partner: "ssp7", status: model.StatusNew, send: func(ctx context.Context, t *testing.T, svc *inbound.Service, _ *mappings.Registry, o *model.Order, id, text string) error {
		b := &soap.Inbound{Partner: "ssp7", Receiver: svc}
		_, err := b.Invoke(ctx, &soap.Call{Operation: "ProcessInstanceTaskExternalUpdateMessage",
			Params: map[string]string{"taskId": o.Refs.Requestor, "message": text}, MessageID: id, Raw: []byte("<envelope/>")})
		return err
	}},
	// Mail: the raw mail through the production reader (mail.ReadInput), its
	// Message-ID as the id (a mail without one is keyed by its digest).
	"mail": {partner: "ssp7", status: model.StatusNew, send: func(ctx context.Context, t *testing.T, svc *inbound.Service, reg *mappings.Registry, o *model.Order, id, text string) error {
		raw := "From: Provider Desk <desk@provider.example>\r\nTo: ssp7-intake@equus.example\r\n" +
			"Subject: RE: [Task#" + o.Refs.Requestor + "] Printer down\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
		if id != "" {
			raw += "Message-ID: <" + id + "@provider.example>\r\n"
		}
		raw += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n"
		in, err := mail.ReadInput(reg.Get("ssp7"), []byte(raw))
		if err != nil {
			t.Fatalf("mail.ReadInput: %v", err)
		}
		rs, err := svc.Receive(ctx, inbound.Message{Partner: "ssp7", Input: in, Raw: []byte(raw), Single: true})
		if err != nil {
			return err
		}
		return rs[0].Err
	}},
}

// TestIdempotencyTable runs every idempotency case through REST, SOAP and
// mail into the inbound path, the intake and the Redis store, on miniredis
// and on redis-server.
func TestIdempotencyTable(t *testing.T) {
	reg, err := mappings.NewRegistry(filepath.Join(testutil.ModuleRoot(t), "mappings"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	testutil.EachRedis(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		st := store.New(rdb, nil)
		in := intake.New(st, nil)
		svc := inbound.New(inbound.Registry{Reg: reg}, in, nil)
		n := 0
		for proto, s := range senders {
			for _, c := range idempotencyCases {
				t.Run(proto+"/"+c.name, func(t *testing.T) {
					n++
					o, _, err := in.CreateOrder(ctx, &model.Order{Partner: s.partner, ServiceType: s.serviceType, Status: s.status,
						Refs: model.Refs{Requestor: fmt.Sprintf("T%d", 1000+n)}})
					if err != nil {
						t.Fatalf("CreateOrder: %v", err)
					}
					seen := 1 // the order's creation
					for i, sp := range c.steps {
						id := sp.id
						if id != "" { // partner message ids are the partner's, across its orders
							id = fmt.Sprintf("%s-%d", id, n)
						}
						err := s.send(ctx, t, svc, reg, o, id, sp.text)
						evs, eerr := st.Events(ctx, o.ID)
						if eerr != nil {
							t.Fatal(eerr)
						}
						got := "applied"
						switch {
						case errors.Is(err, model.ErrConflict):
							got = "refused"
						case err != nil:
							t.Fatalf("step %d (%q, %q): %v", i, sp.id, sp.text, err)
						case len(evs) == seen:
							got = "duplicate"
						}
						if got == "refused" && len(evs) != seen {
							t.Fatalf("step %d (%q, %q) was refused but wrote %d events", i, sp.id, sp.text, len(evs)-seen)
						}
						if got != sp.want {
							t.Fatalf("step %d: %s message (id %q, text %q) = %s (%v), want %s", i, proto, sp.id, sp.text, got, err, sp.want)
						}
						seen = len(evs)
					}
				})
			}
		}
	})
}
