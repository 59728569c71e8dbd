package mail

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/equus/sogateway/internal/model"
)

// TestQuarantineListAndReprocess quarantines a mail about a task the gateway
// does not know, lists it with its reason and raw text, and after the fix (the
// order now exists) reprocesses it: it goes back to the inbox without its
// reason keyword and is applied. Runs on the memory server and on Dovecot.
func TestQuarantineListAndReprocess(t *testing.T) {
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			s := &suite{t: t, srv: srv.new(t), sink: newFakeSink("T-1"), store: &DirStore{Dir: t.TempDir()}}
			s.adm = newAdmin(t, s.srv)
			s.adm.create(testInbox)
			r := s.start(nil, nil)
			s.adm.append(testInbox, mkMail("late@provider", "[Task#T-404] status", "Technician arrived."))
			s.waitCounts(0, 1)

			ctx := context.Background()
			q, err := r.in.Quarantined(ctx, 10)
			if err != nil {
				t.Fatalf("Quarantined() error: %v", err)
			}
			if len(q) != 1 || q[0].Reason != "unknown_task" || q[0].Subject != "[Task#T-404] status" ||
				!strings.Contains(q[0].Raw, "Technician arrived.") || q[0].Size == 0 || q[0].UID == 0 {
				t.Fatalf("Quarantined() = %+v, want the mail with reason unknown_task, its subject and raw text", q)
			}
			if err := r.in.Reprocess(ctx, q[0].UID+1000); !errors.Is(err, model.ErrNotFound) {
				t.Errorf("Reprocess(unknown uid) = %v, want ErrNotFound", err)
			}

			s.sink.mu.Lock()
			s.sink.orders["T-404"] = &model.Order{ID: "o404", Partner: "ssp7", Refs: model.Refs{Requestor: "T-404"}, Status: model.StatusSent}
			s.sink.mu.Unlock()
			if err := r.in.Reprocess(ctx, q[0].UID); err != nil {
				t.Fatalf("Reprocess() error: %v", err)
			}
			eventually(t, "the reprocessed mail to be applied", func() bool {
				return s.adm.count("Processed") == 1 && s.adm.count("Quarantine") == 0 && s.adm.count(testInbox) == 0
			})
			if evs := s.sink.eventList(); len(evs) != 1 || evs[0].MessageID != "late@provider" {
				t.Errorf("events = %v, want the reprocessed mail's", evs)
			}
			for _, fl := range s.adm.flags("Processed") {
				for _, f := range fl {
					if strings.HasPrefix(strings.ToLower(string(f)), "$gateway_") {
						t.Errorf("processed mail still carries the quarantine keyword %s", f)
					}
				}
			}
			if q, err := r.in.Quarantined(ctx, 10); err != nil || len(q) != 0 {
				t.Errorf("Quarantined() after reprocess = %v, %v, want none", q, err)
			}
		})
	}
}
