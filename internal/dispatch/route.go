package dispatch

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/luascript"
	"github.com/equus/sogateway/internal/model"
)

// EventNamer is implemented by renderers that know a mapping's own name for a
// canonical event (the mapping renderer cmd/gatewayd injects does): SSP7 calls order.submitted
// "Submit Request" with Direction "Out". Route records both on the events it
// sends.
type EventNamer interface {
	// EventName returns the partner's Request Type and Direction of event
	// type t, and false when the mapping names none.
	EventName(partner, t string) (requestType, direction string, ok bool)
}

// routed names what one committed change means for vendors.
type routed struct {
	typ model.EventType
	// primary is true for the event the commit recorded itself.
	primary bool
}

// Changes returns the canonical event types a committed change stands for, in
// the order they are routed: the event the commit recorded, then what the
// change implies (order.created for a new order, order.status_changed,
// order.resolved, order.closed and order.cancelled for a status change,
// order.assigned / order.unassigned for an assignment change). before is nil
// for a created order. order.updated (update of values) is decided per
// definition from its watched paths and is not listed here.
func Changes(before, after *model.Order, ev *model.Event) []model.EventType {
	var out []model.EventType
	add := func(t model.EventType) {
		for _, x := range out {
			if x == t {
				return
			}
		}
		out = append(out, t)
	}
	if ev != nil && ev.Type != model.EventOrderUpdated && ev.Type != model.EventOrderSubmitted {
		add(ev.Type)
	}
	if before == nil {
		add(model.EventOrderCreated)
		return out
	}
	if before.Status != after.Status {
		add(model.EventOrderStatusChanged)
		switch after.Status {
		case model.StatusResolved:
			add(model.EventOrderResolved)
		case model.StatusClosed:
			add(model.EventOrderClosed)
		case model.StatusCancelled:
			add(model.EventOrderCancelled)
		}
	}
	if g := group(after); g != "" && (g != group(before) || assignee(after) != assignee(before)) {
		add(model.EventOrderAssigned)
	}
	if g := group(before); g != "" && g != group(after) {
		add(model.EventOrderUnassigned)
	}
	return out
}

func group(o *model.Order) string {
	if o == nil || o.Assignment == nil {
		return ""
	}
	return o.Assignment.Group
}

func assignee(o *model.Order) string {
	if o == nil || o.Assignment == nil {
		return ""
	}
	return o.Assignment.Assignee
}

// Route is the one path from "an order changed" to "deliveries created". The
// platform API, inbound partner commits and dispatch call it after every
// committed change, with the order before (nil when created), after, and the
// event the commit recorded. It
//
//   - sends order.submitted (Submit Request) to the vendor serving an
//     integrated group the order was just assigned to, again on a
//     re-assignment (the external reference travels in the payload);
//   - routes every event type of Changes to the vendors that have an active
//     definition for it and are engaged with the order (it was submitted to
//     them, or they serve its integrated group; any vendor for
//     order.created; the group's vendor for order.assigned and
//     order.unassigned);
//   - sends update of values (order.updated) for watched paths that changed;
//   - marks the order changed in the pull feeds it is in.
//
// A change never goes back to the partner it came from (an inbound event of
// partner P is not routed to vendors using P's mapping). Vendors outside a
// definition's company or service type or their permission set are skipped.
// It returns the deliveries created; an error leaves the deliveries created
// so far in place.
func (s *Service) Route(ctx context.Context, before, after *model.Order, ev *model.Event) ([]*Delivery, error) {
	if after == nil {
		return nil, nil
	}
	from := ""
	if ev != nil && ev.Direction == model.DirectionIn {
		from = ev.Partner
	}
	echo := func(v *vendor) bool { return from != "" && (v.name == from || v.cfg.Mapping == from) }
	sent, pullErr, err := s.sentAndPulled(ctx, before, after, echo)
	if err != nil {
		return nil, err
	}
	var out []*Delivery
	errs := []error{pullErr}
	errs = append(errs, s.correlate(ctx, after, ev))

	// Integrated groups: (re-)assignment sends Submit Request to the group's vendor.
	newVendor, oldVendor := s.groupVendor(group(after)), s.groupVendor(group(before))
	if newVendor != nil && (before == nil || group(before) != group(after)) && !echo(newVendor) {
		res, err := s.submit(ctx, newVendor, after, SendOptions{Vendor: newVendor.name}, map[string]any{
			"group": group(after), "assignee": assignee(after), "reassignment": after.Refs.Servicer != "" || sent[newVendor.name]})
		if err != nil {
			errs = append(errs, fmt.Errorf("assignment to group %s: %w", group(after), err))
		} else {
			out = append(out, res.Deliveries...)
			sent[newVendor.name] = true
		}
	}
	for _, t := range Changes(before, after, ev) {
		vs := s.vset()
		for _, name := range vs.names {
			v := vs.byName[name]
			if echo(v) || !s.engaged(v, t, sent, newVendor, oldVendor) {
				continue
			}
			if v.cfg.PullOnly() {
				continue
			}
			def := v.definition(after, string(t))
			if def == nil || s.permit(v, after) != nil {
				continue
			}
			rev := ev
			if ev == nil || ev.Type != t {
				rev = s.derived(after, t, v, ev)
				if err := s.st.AppendEvent(ctx, rev); err != nil {
					errs = append(errs, fmt.Errorf("record %s for %s: %w", t, name, err))
					continue
				}
			}
			for _, tr := range transportsFor(v, def, "") {
				d, err := s.enqueue(ctx, v, after, rev, def.RenderKind(), tr)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				s.markHeld(ctx, v, d)
				out = append(out, d)
			}
		}
	}
	if before != nil {
		ds, err := s.updateValues(ctx, before, after, sent, echo)
		out = append(out, ds...)
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

// sentAndPulled reads, in one round trip, which vendors the order was
// submitted to (its order.submitted delivery records), and marks the order
// in the pull feeds: new in a pull-only vendor's feed when the vendor created
// it, changed in every other pull feed it is in. err is the read's failure,
// pullErr the marks'.
func (s *Service) sentAndPulled(ctx context.Context, before, after *model.Order, echo func(*vendor) bool) (sent map[string]bool, pullErr, err error) {
	p := s.rdb.Pipeline()
	recs := p.HVals(ctx, s.k.deliveries(after.ID))
	type mark struct {
		vendor string
		change bool
		cmd    *redis.Cmd
	}
	var marks []mark
	vs := s.vset()
	for _, name := range vs.names {
		if v := vs.byName[name]; v.cfg.Pull.Enabled && !echo(v) {
			change := !(before == nil && after.Partner == name && v.cfg.PullOnly() && s.permit(v, after) == nil)
			arg := "0"
			if change {
				arg = "1"
			}
			marks = append(marks, mark{name, change, publishScript.Queue(ctx, p, []string{s.k.pullFeed(name), s.k.pullSeq(name)}, after.ID, arg)})
		}
	}
	_, _ = luascript.Exec(ctx, p)
	all, err := recs.Result()
	if err != nil {
		return nil, nil, fmt.Errorf("dispatch: deliveries of %s: %w", after.ID, err)
	}
	var errs []error
	for _, m := range marks {
		if err := m.cmd.Err(); err != nil && m.change {
			errs = append(errs, fmt.Errorf("dispatch: mark %s changed for %s: %w", after.ID, m.vendor, err))
		} else if err != nil {
			errs = append(errs, fmt.Errorf("dispatch: publish %s to %s: %w", after.ID, m.vendor, err))
		}
	}
	return submittedTo(all), errors.Join(errs...), nil
}

// transportsFor lists the transports an event of definition def goes out
// on: the vendor's own, plus email when the definition or the communication
// asks for it and the vendor has an email address.
func transportsFor(v *vendor, def *configs.EventDefinition, communication string) []string {
	if v.cfg.PullOnly() {
		return nil
	}
	out := []string{v.cfg.Transport}
	if v.cfg.Transport != configs.TransportSMTP && v.cfg.Email != nil && (communication == "email" || (def != nil && def.Email)) {
		out = append(out, configs.TransportSMTP)
	}
	return out
}

// engaged reports whether v hears about event type t on an order: created
// orders go to every vendor with a definition, assignment events to the
// vendor serving the group, the rest to vendors the order was submitted to
// or that serve its integrated group.
func (s *Service) engaged(v *vendor, t model.EventType, sent map[string]bool, newVendor, oldVendor *vendor) bool {
	switch t {
	case model.EventOrderCreated:
		return true
	case model.EventOrderAssigned:
		return v == newVendor
	case model.EventOrderUnassigned:
		return v == oldVendor
	}
	return sent[v.name] || v == newVendor
}

// groupVendor returns the vendor serving integrated group g, or nil.
func (s *Service) groupVendor(g string) *vendor {
	if g == "" {
		return nil
	}
	vs := s.vset()
	gc, ok := vs.groups[g]
	if !ok || !gc.Integrated {
		return nil
	}
	return vs.byName[gc.Vendor]
}

// derived builds the out event of type t for vendor v that a change implies,
// with the cause's data, the vendor and its mapping's Request Type and
// Direction. Its id is derived from the cause, so routing a change twice
// records it once.
func (s *Service) derived(o *model.Order, t model.EventType, v *vendor, cause *model.Event) *model.Event {
	data := map[string]any{"vendor": v.name}
	id := uuid.NewString()
	if cause != nil {
		for k, val := range cause.Data {
			if _, taken := data[k]; !taken {
				data[k] = val
			}
		}
		data["cause"] = cause.ID
		id = uuid.NewSHA1(uuid.NameSpaceOID, []byte(cause.ID+"\x00"+string(t)+"\x00"+v.name)).String()
	}
	s.nameEvent(v, t, data)
	if a := o.Assignment; a != nil {
		data["group"] = a.Group
		if a.Assignee != "" {
			data["assignee"] = a.Assignee
		}
	}
	ev := s.outEvent(o, t, v.name, data)
	ev.ID = id
	return ev
}

// nameEvent adds the vendor's mapping's Request Type and Direction of t to data.
func (s *Service) nameEvent(v *vendor, t model.EventType, data map[string]any) {
	if n, ok := s.r.(EventNamer); ok {
		if rt, dir, ok := n.EventName(v.cfg.Mapping, string(t)); ok {
			data["request_type"], data["direction"] = rt, dir
		}
	}
}

// markHeld fills the delivery's held_until while the vendor is offline.
func (s *Service) markHeld(ctx context.Context, v *vendor, d *Delivery) {
	if until, err := s.q.HoldOf(ctx, v.name); err == nil && until != nil {
		d.HeldUntil = until
	}
}

// updateValues sends update of values: for every vendor the order was sent to
// with an active order.updated definition whose watched paths changed, an
// order.updated event (data: changed = the paths, values = the new values by
// field name or path) and a delivery.
func (s *Service) updateValues(ctx context.Context, before, after *model.Order, sent map[string]bool, echo func(*vendor) bool) ([]*Delivery, error) {
	var out []*Delivery
	vs := s.vset()
	for _, name := range vs.names {
		v := vs.byName[name]
		if !sent[name] || v.cfg.PullOnly() || echo(v) {
			continue
		}
		def := v.definition(after, string(model.EventOrderUpdated))
		if def == nil || s.permit(v, after) != nil {
			continue
		}
		changed := changedPaths(before, after, def.Watch)
		if len(changed) == 0 {
			continue
		}
		values := map[string]any{}
		for _, c := range changed {
			if v.cfg.Permissions.Visible(c) {
				values[strings.TrimPrefix(c, "fields.")] = pathValue(after, c)
			}
		}
		data := map[string]any{"vendor": name, "changed": changed, "values": values}
		s.nameEvent(v, model.EventOrderUpdated, data)
		ev := s.outEvent(after, model.EventOrderUpdated, name, data)
		if err := s.st.AppendEvent(ctx, ev); err != nil {
			return out, fmt.Errorf("dispatch: update values: record event: %w", err)
		}
		d, err := s.enqueue(ctx, v, after, ev, def.RenderKind(), v.cfg.Transport)
		if err != nil {
			return out, err
		}
		s.markHeld(ctx, v, d)
		out = append(out, d)
	}
	return out, nil
}

// OnPatched is Route for a platform change without its recorded event.
func (s *Service) OnPatched(ctx context.Context, before, after *model.Order) ([]*Delivery, error) {
	if before == nil || after == nil {
		return nil, nil
	}
	return s.Route(ctx, before, after, nil)
}

// OnEvent is Route for an event recorded on an order without any other
// change (a message, a resolution rejection …).
func (s *Service) OnEvent(ctx context.Context, o *model.Order, ev *model.Event) ([]*Delivery, error) {
	return s.Route(ctx, o, o, ev)
}

// MessageID is the message id (a GUID) the gateway sends with delivery id:
// the same on every attempt of one delivery, different for every delivery
// (EMG's Task.Id; the partner's Ack names it as OriginationId).
func MessageID(deliveryID string) string {
	return uuid.NewSHA1(messageNS, []byte(deliveryID)).String()
}

// messageNS is the UUID namespace of the gateway's outbound message ids.
var messageNS = uuid.MustParse("5b0a3c2e-4f1d-4e59-9a57-0d6c1e2f3a4b")
