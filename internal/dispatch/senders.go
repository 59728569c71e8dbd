package dispatch

import (
	"context"
	"time"

	"github.com/equus/sogateway/internal/queue"
)

// runVendor keeps up to n deliveries of vendor v in flight until ctx ends.
// One claimer takes only as many jobs as there are idle senders (at most
// dispatch.claim_batch per claim), so no job waits leased behind a slow one;
// each sender acknowledges its delivery as soon as it finishes (grouped with
// the others that finished at the same moment, one round trip per group).
// After a crash at most n deliveries were sent and not acknowledged: those,
// and only those, are sent again when their leases expire.
func (s *Service) runVendor(ctx context.Context, v *vendor, n int) {
	type work struct {
		l      *queue.Lease
		reason string
	}
	jobs := make(chan work)
	idle := make(chan struct{}, n)
	acks := s.newAcker(ctx, v)
	done := make(chan struct{})
	for i := 0; i < n; i++ {
		idle <- struct{}{}
		go func() {
			defer func() { done <- struct{}{} }()
			for w := range jobs {
				if ctx.Err() != nil {
					s.giveBack(ctx, []*queue.Lease{w.l})
				} else {
					s.deliverOne(ctx, s.current(v), w.l, w.reason, acks) // the live config (live.go)
				}
				idle <- struct{}{}
			}
		}()
	}
	defer func() {
		close(jobs)
		for i := 0; i < n; i++ {
			<-done
		}
		acks.close()
	}()
	for {
		// Wait for one idle sender, then take every other idle one.
		select {
		case <-ctx.Done():
			return
		case <-idle:
		}
		free := 1
	more:
		for free < s.cfg.ClaimBatch {
			select {
			case <-idle:
				free++
			default:
				break more
			}
		}
		ls, err := s.q.Claim(ctx, v.name, free)
		for i := len(ls); i < free; i++ {
			idle <- struct{}{} // not used this round
		}
		if err == nil && len(ls) == 0 {
			err = s.q.Wait(ctx, v.name, 5*time.Second)
		}
		if err != nil {
			if ctx.Err() != nil {
				s.giveBack(ctx, ls)
				return
			}
			s.log.Error("dispatch: claim", "vendor", v.name, "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		if len(ls) == 0 {
			continue
		}
		reason := s.unavailable(ctx, v)
		for _, l := range ls {
			jobs <- work{l: l, reason: reason}
		}
	}
}

// acker acknowledges finished deliveries, grouping those that finish at the
// same moment into one ack script and one record write (ackBatch). A sender
// waits for its own ack, so what it sent is acknowledged before it takes the
// next job.
type acker struct {
	in   chan ackReq
	done chan struct{}
}

type ackReq struct {
	a    *attempt
	done chan struct{}
}

// maxAckGroup bounds how many acks share one round trip.
const maxAckGroup = 64

func (s *Service) newAcker(ctx context.Context, v *vendor) *acker {
	k := &acker{in: make(chan ackReq), done: make(chan struct{})}
	go func() {
		defer close(k.done)
		for first := range k.in {
			group := []ackReq{first}
		drain:
			for len(group) < maxAckGroup {
				select {
				case r, ok := <-k.in:
					if !ok {
						break drain
					}
					group = append(group, r)
				default:
					break drain
				}
			}
			as := make([]*attempt, len(group))
			for i, r := range group {
				as[i] = r.a
			}
			// Settle even when ctx ended meanwhile: the deliveries were made.
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			s.ackBatch(sctx, v, as)
			cancel()
			for _, r := range group {
				close(r.done)
			}
		}
	}()
	return k
}

// ack acknowledges a and returns once that is done (or failed and logged).
func (k *acker) ack(a *attempt) {
	r := ackReq{a: a, done: make(chan struct{})}
	k.in <- r
	<-r.done
}

// close stops the acker once every pending ack is done.
func (k *acker) close() {
	close(k.in)
	<-k.done
}
