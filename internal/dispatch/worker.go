package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/equus/sogateway/adapters"
	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/queue"
)

// Run starts the senders of every vendor that is pushed to (dispatch.workers,
// or the vendor's own workers: that many deliveries in flight at most, each
// acknowledged as soon as it finishes, see runVendor) and a reaper that
// returns expired leases every dispatch.reap_every. It blocks until ctx ends
// and the senders have stopped; leases not yet handled are given back without
// spending attempts.
func (s *Service) Run(ctx context.Context) error {
	s.runMu.Lock()
	s.runCtx = ctx
	s.startWorkers(ctx)
	s.runMu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(s.cfg.ReapEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := s.q.Reap(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("dispatch: reap", "err", err)
				}
			}
		}
	}()
	<-ctx.Done()
	s.wg.Wait()
	return nil
}

// DeliverDue claims and delivers the vendor's jobs that are due now, batch
// after batch, until none is left (or max jobs were handled; max <= 0 means
// 10000), and returns how many it handled. Run does the same continuously;
// DeliverDue serves tests and one-shot tools.
func (s *Service) DeliverDue(ctx context.Context, vendorName string, max int) (int, error) {
	v, err := s.vendor(vendorName)
	if err != nil {
		return 0, err
	}
	if max <= 0 {
		max = 10000
	}
	n := 0
	for n < max {
		ls, err := s.q.Claim(ctx, v.name, min(s.cfg.ClaimBatch, max-n))
		if err != nil {
			return n, fmt.Errorf("dispatch: claim %s: %w", v.name, err)
		}
		if len(ls) == 0 {
			return n, nil
		}
		s.handleBatch(ctx, v, ls)
		n += len(ls)
	}
	return n, nil
}

// maxParallel bounds the deliveries one worker sends at once. A claimed batch
// holds at most one job per order (the head of its group), so its deliveries
// may go out in parallel without breaking the order of any order.
const maxParallel = 16

// attempt is one leased job on its way: delivered (err nil), failed (err), or
// already settled while preparing it (done).
type attempt struct {
	l    *queue.Lease
	rec  *Delivery
	res  *adapters.Result
	err  error
	done bool
}

// handleBatch delivers a claimed batch, up to maxParallel at once, and
// settles each delivery as soon as it finishes (acks grouped with whatever
// finished at the same moment), so a slow one holds back nobody else's ack
// or retry.
func (s *Service) handleBatch(ctx context.Context, v *vendor, ls []*queue.Lease) {
	if ctx.Err() != nil {
		s.giveBack(ctx, ls)
		return
	}
	reason := s.unavailable(ctx, v)
	acks := s.newAcker(ctx, v)
	defer acks.close()
	sem := make(chan struct{}, maxParallel)
	var wg sync.WaitGroup
	for _, l := range ls {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s.deliverOne(ctx, v, l, reason, acks)
		}()
	}
	wg.Wait()
}

// deliverOne sends one leased job and settles it: a success is acked through
// acks (and waits for that ack), a failure is retried or buried at once.
func (s *Service) deliverOne(ctx context.Context, v *vendor, l *queue.Lease, reason string, acks *acker) {
	a := s.attempt(ctx, v, l, reason)
	if a.done {
		return
	}
	if a.err == nil {
		acks.ack(a)
		return
	}
	// Settle even when ctx ended meanwhile: the outcome is known.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	switch {
	case ctx.Err() != nil && !errors.Is(a.err, adapters.ErrPermanent) && !errors.Is(a.err, adapters.ErrGone):
		// Interrupted by shutdown: give it back at once, attempt unspent.
		s.retry(sctx, v, a.l, a.rec, time.Time{}, "interrupted by gateway shutdown", false)
	default:
		s.settle(sctx, v, a.l, a.rec, a.err)
	}
}

// giveBack returns leases unhandled, attempts unspent.
func (s *Service) giveBack(ctx context.Context, ls []*queue.Lease) {
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for _, l := range ls {
		_, _ = s.q.Retry(bg, l, time.Time{}, "gateway shutting down", false)
	}
}

// attempt prepares and sends one leased job. Jobs that cannot be sent
// (vendor unavailable, order gone, render failed) are settled here.
func (s *Service) attempt(ctx context.Context, v *vendor, l *queue.Lease, unavailable string) *attempt {
	a := &attempt{l: l, done: true}
	var p payload
	if err := json.Unmarshal(l.Job.Payload, &p); err != nil || p.Event == nil {
		s.bury(ctx, v, l, nil, "undecodable job payload")
		return a
	}
	rec, err := s.loadRecord(ctx, p.OrderID, l.Job.ID)
	if err != nil {
		now := s.now().UTC()
		rec = &Delivery{Delivery: model.Delivery{ID: l.Job.ID, OrderID: p.OrderID, EventID: p.Event.ID, Partner: v.name,
			Transport: p.Transport, Status: model.DeliverySending, CreatedAt: now}, Event: string(p.Event.Type), Vendor: v.name, Seq: s.nextSeq(now)}
	}
	a.rec = rec
	if unavailable != "" {
		s.bury(ctx, v, l, rec, "vendor "+v.name+" cannot receive: "+unavailable)
		return a
	}
	tr := v.adapters[p.Transport]
	if tr == nil {
		s.bury(ctx, v, l, rec, fmt.Sprintf("vendor %s has no %s transport", v.name, p.Transport))
		return a
	}
	o, err := s.st.GetOrder(ctx, p.OrderID)
	if errors.Is(err, model.ErrNotFound) {
		s.bury(ctx, v, l, rec, "order "+p.OrderID+" no longer exists")
		return a
	}
	if err != nil {
		s.retry(ctx, v, l, rec, s.now().Add(v.retry.BaseDelay), "order store: "+err.Error(), false)
		return a
	}
	if s.r == nil {
		s.bury(ctx, v, l, rec, "no renderer configured")
		return a
	}
	o = visibleOrder(v, o)
	extra := map[string]any{"delivery_id": l.Job.ID, "vendor": v.name, "attempt": l.Job.Attempts, "transport": p.Transport,
		"now": s.now().UTC().Format(time.RFC3339), "message_id": MessageID(l.Job.ID)}
	for k, val := range v.cfg.Settings {
		if _, taken := extra[k]; !taken {
			extra[k] = val
		}
	}
	var out *Rendered
	if p.Transport == configs.TransportSMTP {
		// An email prefers the mapping's <kind>_email render (subject and text).
		out, err = s.r.Render(v.cfg.Mapping, p.Render+"_email", o, p.Event, extra)
	}
	if out == nil && (err == nil || errors.Is(err, ErrUnknownRender)) {
		out, err = s.r.Render(v.cfg.Mapping, p.Render, o, p.Event, extra)
	}
	if err != nil {
		msg := "render " + p.Render + ": " + err.Error()
		if errors.Is(err, ErrUnknownRender) || errors.Is(err, model.ErrNotFound) {
			s.bury(ctx, v, l, rec, msg)
		} else {
			s.retryBackoff(ctx, v, l, rec, 0, msg)
		}
		return a
	}
	if time.Until(l.Until) < v.cfg.Timeout+5*time.Second {
		if err := s.q.Extend(ctx, l); err != nil {
			s.log.Warn("dispatch: lease lost before delivery", "vendor", v.name, "delivery", l.Job.ID, "err", err)
			return a
		}
	}
	m := &adapters.Message{DeliveryID: l.Job.ID, Vendor: v.name, Order: o, Event: p.Event, ContentType: out.ContentType,
		Body: out.Body, Subject: out.Subject, Headers: out.Headers, Attempt: l.Job.Attempts}
	a.res, a.err = tr.Deliver(ctx, m)
	a.done = false
	return a
}

// ackBatch acks the delivered jobs in one script and records them Success in
// one round trip. A lease lost meanwhile is left to its new holder, which
// redelivers with the same delivery id.
func (s *Service) ackBatch(ctx context.Context, v *vendor, ok []*attempt) {
	if len(ok) == 0 {
		return
	}
	ls := make([]*queue.Lease, len(ok))
	for i, a := range ok {
		ls[i] = a.l
	}
	if err := s.q.AckAll(ctx, ls); err != nil {
		s.log.Warn("dispatch: ack lost; the new holder redelivers with the same id", "vendor", v.name, "err", err)
	}
	now := s.now()
	pipe := s.rdb.Pipeline()
	acked := 0
	for _, a := range ok {
		if a.l.Job.State != queue.StateDone {
			continue
		}
		acked++
		r := a.rec
		r.Status, r.Attempts, r.LastError, r.NextAttemptAt, r.HeldUntil = model.DeliverySuccess, a.l.Job.Attempts, "", nil, nil
		if v.cfg.AwaitAck {
			// Accepted by the transport; the vendor's Ack settles it (ack.go),
			// unless it arrived already.
			if cur, err := s.loadRecord(ctx, r.OrderID, r.ID); err == nil && cur.Ack != nil {
				continue
			}
			r.Status, r.AwaitingAck = model.DeliverySending, true
		}
		r.UpdatedAt = now.UTC()
		pipe.HSet(ctx, s.k.deliveries(r.OrderID), r.ID, r.record())
		s.markFinished(ctx, pipe, r)
		s.log.Info("dispatch: delivered", "vendor", v.name, "delivery", r.ID, "attempt", a.l.Job.Attempts, "status", a.res.StatusCode)
	}
	if acked == 0 {
		return
	}
	if _, err := pipe.Exec(ctx); err != nil {
		s.log.Warn("dispatch: delivery records not updated", "vendor", v.name, "err", err)
	}
	s.outcomes.WithLabelValues(v.name, "success").Add(float64(acked))
	// The vendor is reachable again: an ended window no longer applies.
	if _, end, found, _ := s.loadWindow(ctx, v.name); found && !end.After(now) {
		_ = s.rdb.Del(ctx, s.k.window(v.name)).Err()
	}
}

// settle retries or buries after a failed attempt.
func (s *Service) settle(ctx context.Context, v *vendor, l *queue.Lease, rec *Delivery, err error) {
	now := s.now()
	switch {
	case errors.Is(err, adapters.ErrGone):
		reason := fmt.Sprintf("endpoint answered 410 Gone at %s; disabled until a dead letter is replayed", now.UTC().Format(time.RFC3339))
		if serr := s.rdb.Set(ctx, s.k.disabled(v.name), reason, 0).Err(); serr != nil {
			s.log.Error("dispatch: could not disable vendor", "vendor", v.name, "err", serr)
		}
		s.outcomes.WithLabelValues(v.name, "gone").Inc()
		s.bury(ctx, v, l, rec, err.Error())
	case errors.Is(err, adapters.ErrPermanent):
		s.bury(ctx, v, l, rec, err.Error())
	default: // transient, or an unclassified error
		if _, end, ok, _ := s.loadWindow(ctx, v.name); ok && !end.After(now) && !l.Job.CreatedAt.After(end) {
			// Still offline after its window: retry every OfflineRetryEvery, no attempt spent.
			s.retry(ctx, v, l, rec, now.Add(s.cfg.OfflineRetryEvery),
				fmt.Sprintf("vendor still offline after its maintenance window (%s); next try in %s", err, FormatRemaining(s.cfg.OfflineRetryEvery)), false)
			return
		}
		var de *adapters.DeliveryError
		var after time.Duration
		if errors.As(err, &de) {
			after = min(de.RetryAfter, v.retry.MaxRetryAfter)
		}
		s.retryBackoff(ctx, v, l, rec, after, err.Error())
	}
}

// retryBackoff retries with the partner's delay, or exponential backoff with
// jitter, spending the attempt; past the vendor's max age it buries.
func (s *Service) retryBackoff(ctx context.Context, v *vendor, l *queue.Lease, rec *Delivery, after time.Duration, msg string) {
	now := s.now()
	if !l.Job.CreatedAt.IsZero() && now.Sub(l.Job.CreatedAt) > v.retry.MaxAge {
		s.bury(ctx, v, l, rec, fmt.Sprintf("%s (gave up: older than %s)", msg, v.retry.MaxAge))
		return
	}
	if after <= 0 {
		after = Backoff(v.retry, l.Job.Attempts, s.rand())
	}
	s.retry(ctx, v, l, rec, now.Add(after), msg, true)
}

func (s *Service) retry(ctx context.Context, v *vendor, l *queue.Lease, rec *Delivery, at time.Time, msg string, spend bool) {
	st, err := s.q.Retry(ctx, l, at, msg, spend)
	if err != nil {
		s.log.Warn("dispatch: retry lost", "vendor", v.name, "delivery", l.Job.ID, "err", err)
		return
	}
	if rec == nil {
		return
	}
	rec.Attempts, rec.LastError = l.Job.Attempts, msg
	if st == queue.StateDead {
		rec.Status, rec.NextAttemptAt = model.DeliveryFailure, nil
		s.outcomes.WithLabelValues(v.name, "dead").Inc()
		s.log.Warn("dispatch: delivery failed for good", "vendor", v.name, "delivery", l.Job.ID, "attempts", l.Job.Attempts)
	} else {
		t := at.UTC()
		rec.Status, rec.NextAttemptAt = model.DeliverySending, &t
		if spend {
			s.outcomes.WithLabelValues(v.name, "retry").Inc()
		} else {
			s.outcomes.WithLabelValues(v.name, "held").Inc()
		}
	}
	s.saveRecord(ctx, rec)
}

func (s *Service) bury(ctx context.Context, v *vendor, l *queue.Lease, rec *Delivery, msg string) {
	if err := s.q.Bury(ctx, l, msg); err != nil {
		s.log.Warn("dispatch: bury lost", "vendor", v.name, "delivery", l.Job.ID, "err", err)
		return
	}
	s.outcomes.WithLabelValues(v.name, "dead").Inc()
	s.log.Warn("dispatch: delivery failed", "vendor", v.name, "delivery", l.Job.ID, "reason", msg)
	if rec == nil {
		return
	}
	rec.Status, rec.Attempts, rec.LastError, rec.NextAttemptAt, rec.HeldUntil = model.DeliveryFailure, l.Job.Attempts, msg, nil, nil
	s.saveRecord(ctx, rec)
}

// Backoff is the delay before the retry that follows attempt n (1-based):
// base_delay doubled per attempt, capped at max_delay, then moved up or down
// by up to jitter of itself (r in [0,1) chooses where).
func Backoff(p configs.RetryPolicy, n int, r float64) time.Duration {
	p.SetDefaults()
	if n < 1 {
		n = 1
	}
	d := float64(p.BaseDelay) * math.Pow(2, float64(n-1))
	if d > float64(p.MaxDelay) || math.IsInf(d, 0) {
		d = float64(p.MaxDelay)
	}
	d *= 1 + p.Jitter*(2*r-1)
	return time.Duration(d)
}
