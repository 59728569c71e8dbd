package intake

import (
	"context"
	"errors"
	"fmt"

	"github.com/equus/sogateway/internal/model"
)

// CreateOrder creates an order on the platform's behalf: it fills id, status
// (new), version and timestamps, validates, indexes the references and records
// an order.created event. A requestor reference already bound for the partner
// is refused with model.ErrConflict.
func (s *Service) CreateOrder(ctx context.Context, o *model.Order) (*model.Order, *model.Event, error) {
	now := s.opt.Now().UTC()
	o.ID = s.opt.NewID()
	if o.Status == "" {
		o.Status = model.StatusNew
	}
	o.CreatedAt, o.UpdatedAt = now, now
	for k, f := range o.Fields {
		if f.LastWriter == "" {
			f.LastWriter = model.WriterPlatform
		}
		f.UpdatedAt = now
		o.Fields[k] = f
	}
	if err := o.Validate(); err != nil {
		return nil, nil, err
	}
	if o.Refs.Requestor != "" {
		won, err := s.st.ClaimRef(ctx, o.Partner, "requestor", o.Refs.Requestor, o.ID)
		if err != nil {
			return nil, nil, err
		}
		if won != o.ID {
			if _, err := s.st.GetOrder(ctx, won); err == nil {
				return nil, nil, model.Conflict("refs.requestor", "partner %s already has order %s with requestor reference %q", o.Partner, won, o.Refs.Requestor)
			}
			o.ID = won // a create that did not finish left the claim: take it over
		}
	}
	ev := &model.Event{ID: s.opt.NewID(), Type: model.EventOrderCreated, Direction: model.DirectionOut,
		Partner: o.Partner, Protocol: model.ProtocolPlatform, At: now}
	if err := s.st.CreateOrder(ctx, o, ev); err != nil {
		return nil, nil, err
	}
	s.bindRefs(ctx, nil, o)
	s.committed(ctx, nil, o, ev)
	return o, ev, nil
}

// PatchOrder applies the platform's patch to order id if it is still at
// version (0 means "whatever is current", for callers without If-Match), under
// the ownership rules owners declares for the order's partner. It records an
// order.updated event (order.status_changed when the status changed, and
// order.closed / order.cancelled for those statuses).
func (s *Service) PatchOrder(ctx context.Context, id string, version int64, p *model.Patch, owners map[string]model.Owner) (*model.Order, *model.Event, error) {
	return s.PatchOrderFor(ctx, id, version, p, func(string) map[string]model.Owner { return owners })
}

// PatchOrderFor is PatchOrder with the ownership rules looked up by the
// order's partner once the order is read, so callers need not read it first.
func (s *Service) PatchOrderFor(ctx context.Context, id string, version int64, p *model.Patch, ownersOf func(partner string) map[string]model.Owner) (*model.Order, *model.Event, error) {
	cur, err := s.st.GetOrder(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	owners := ownersOf(cur.Partner)
	if version != 0 && version != cur.Version {
		return nil, nil, &model.VersionConflictError{ID: id, Current: cur.Version, Read: version}
	}
	now := s.opt.Now().UTC()
	before := cur.Clone()
	applied, err := cur.Apply(p, model.ApplyOptions{Writer: model.WriterPlatform, Owners: owners, Now: now})
	if err != nil {
		return nil, nil, err
	}
	if err := cur.Validate(); err != nil {
		return nil, nil, err
	}
	typ := model.EventOrderUpdated
	if a, b := assignedGroup(before), assignedGroup(cur); a != b || assignedTo(before) != assignedTo(cur) {
		typ = model.EventOrderAssigned
		if b == "" {
			typ = model.EventOrderUnassigned
		}
	}
	if before.Status != cur.Status {
		switch cur.Status {
		case model.StatusClosed:
			typ = model.EventOrderClosed
		case model.StatusCancelled:
			typ = model.EventOrderCancelled
		default:
			typ = model.EventOrderStatusChanged
		}
	}
	data := map[string]any{"changed": applied.Changed}
	if typ == model.EventOrderAssigned || typ == model.EventOrderUnassigned {
		data["group"], data["assignee"], data["previous_group"] = assignedGroup(cur), assignedTo(cur), assignedGroup(before)
	}
	ev := &model.Event{ID: s.opt.NewID(), Type: typ, Direction: model.DirectionOut, Partner: cur.Partner,
		Protocol: model.ProtocolPlatform, At: now, Data: data}
	if err := s.st.UpdateOrder(ctx, cur, ev); err != nil {
		return nil, nil, err
	}
	s.bindRefs(ctx, before, cur)
	s.committed(ctx, before, cur, ev)
	return cur, ev, nil
}

// AddMessage appends a platform message to order id (retrying on concurrent
// writers) and records an order.message event, direction out.
func (s *Service) AddMessage(ctx context.Context, id string, m model.Message) (*model.Order, *model.Event, error) {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		cur, err := s.st.GetOrderHead(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		if cur.Status.Terminal() {
			return nil, nil, model.Conflict("status", "the order is %s", cur.Status)
		}
		before := cur.Clone()
		now := s.opt.Now().UTC()
		m.ID, m.At = s.opt.NewID(), now
		if _, err := cur.Apply(&model.Patch{Messages: []model.Message{m}}, model.ApplyOptions{Now: now}); err != nil {
			return nil, nil, err
		}
		if err := cur.Validate(); err != nil {
			return nil, nil, err
		}
		ev := &model.Event{ID: s.opt.NewID(), Type: model.EventOrderMessage, Direction: model.DirectionOut, Partner: cur.Partner,
			Protocol: model.ProtocolPlatform, At: now, Data: map[string]any{"text": m.Text, "request_type": "Update"}}
		err = s.st.UpdateOrder(ctx, cur, ev)
		if errors.Is(err, model.ErrVersionConflict) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		s.committed(ctx, before, cur, ev)
		return cur, ev, nil
	}
	return nil, nil, fmt.Errorf("intake: %w", &model.VersionConflictError{ID: id})
}

// RejectResolution declines the solution of a resolved order (SSP7
// "Resolution Rejection" / Out): the order goes back to in_progress and an
// order.resolution_rejected event (data: reason, request_type, direction)
// is recorded, for dispatch to tell the provider. An order that is not
// resolved is refused with model.ErrConflict.
func (s *Service) RejectResolution(ctx context.Context, id, reason string) (*model.Order, *model.Event, error) {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		cur, err := s.st.GetOrder(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		if cur.Status != model.StatusResolved {
			return nil, nil, model.Conflict("status", "only a resolved order's solution can be rejected; the order is %s", cur.Status)
		}
		before := cur.Clone()
		now := s.opt.Now().UTC()
		st := model.StatusInProgress
		applied, err := cur.Apply(&model.Patch{Status: &st, Messages: []model.Message{{ID: s.opt.NewID(), Direction: model.DirectionOut,
			Author: model.WriterPlatform, Text: "Solution declined: " + reason, Protocol: model.ProtocolPlatform}}}, model.ApplyOptions{Now: now})
		if err != nil {
			return nil, nil, err
		}
		if err := cur.Validate(); err != nil {
			return nil, nil, err
		}
		ev := &model.Event{ID: s.opt.NewID(), Type: model.EventOrderResolutionRejected, Direction: model.DirectionOut, Partner: cur.Partner,
			Protocol: model.ProtocolPlatform, At: now, Data: map[string]any{"reason": reason, "changed": applied.Changed,
				"request_type": "Resolution Rejection", "direction": "Out"}}
		err = s.st.UpdateOrder(ctx, cur, ev)
		if errors.Is(err, model.ErrVersionConflict) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		s.committed(ctx, before, cur, ev)
		return cur, ev, nil
	}
	return nil, nil, fmt.Errorf("intake: %w", &model.VersionConflictError{ID: id})
}

func assignedGroup(o *model.Order) string {
	if o.Assignment == nil {
		return ""
	}
	return o.Assignment.Group
}

func assignedTo(o *model.Order) string {
	if o.Assignment == nil {
		return ""
	}
	return o.Assignment.Assignee
}
