package model

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"
)

// Sentinel errors shared by every package that commits or reads orders. Callers
// compare with errors.Is and translate them into their protocol's error shape.
var (
	// ErrNotFound: the order (or delivery, vendor …) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrVersionConflict: the caller's version is stale; nothing was written.
	ErrVersionConflict = errors.New("version conflict")
	// ErrRefused: a business rule refuses the change (ownership, state, not-advised status …).
	ErrRefused = errors.New("refused")
	// ErrConflict: the order is in a state that does not allow the change (HTTP 409).
	ErrConflict = errors.New("conflict")
)

// RuleError is a business-rule failure naming the field and the rule. It wraps
// ErrRefused or ErrConflict (Kind) so callers can choose a status code.
type RuleError struct {
	Field string
	Rule  string
	Kind  error
}

func (e *RuleError) Error() string {
	if e.Field == "" {
		return e.Rule
	}
	return e.Field + ": " + e.Rule
}

// Unwrap returns the kind (ErrRefused or ErrConflict).
func (e *RuleError) Unwrap() error { return e.Kind }

// Refuse returns a RuleError of kind ErrRefused.
func Refuse(field, rule string, a ...any) error {
	return &RuleError{Field: field, Rule: fmt.Sprintf(rule, a...), Kind: ErrRefused}
}

// Conflict returns a RuleError of kind ErrConflict.
func Conflict(field, rule string, a ...any) error {
	return &RuleError{Field: field, Rule: fmt.Sprintf(rule, a...), Kind: ErrConflict}
}

// Patch is a set of changes to an order. A nil pointer or empty member changes
// nothing; Messages and Attachments are appended; Tasks, when non-nil, replace.
type Patch struct {
	Company       *string        `json:"company,omitempty"`
	ServiceType   *string        `json:"service_type,omitempty"`
	Refs          Refs           `json:"refs,omitempty"`
	Status        *Status        `json:"status,omitempty"`
	AddFlags      []Flag         `json:"add_flags,omitempty"`
	RemoveFlags   []Flag         `json:"remove_flags,omitempty"`
	PartnerStatus *string        `json:"partner_status,omitempty"`
	ClientStatus  *string        `json:"client_status,omitempty"`
	Fields        map[string]any `json:"fields,omitempty"`
	Tasks         []Task         `json:"tasks,omitempty"`
	Attachments   []Attachment   `json:"attachments,omitempty"`
	Messages      []Message      `json:"messages,omitempty"`
	// Accepted sets (true) or clears (false) the order's acceptance.
	Accepted *bool `json:"accepted,omitempty"`
	// Assignment, when non-nil, assigns the order to Assignment.Group (and
	// Assignee); an empty group clears the assignment.
	Assignment *Assignment `json:"assignment,omitempty"`
}

// Empty reports whether the patch changes nothing.
func (p *Patch) Empty() bool {
	return p == nil || reflect.ValueOf(*p).IsZero()
}

// ApplyOptions says who writes and under which ownership rules. The zero value
// is the platform writing with no declared ownership.
type ApplyOptions struct {
	// Writer is "platform" (default) or the partner's name.
	Writer string
	// Owners declares field ownership (field name -> owner); undeclared fields are shared.
	// The special names client_status and status are checked too.
	Owners map[string]Owner
	// AutoAdmin lets a partner overwrite shared fields the platform changed since
	// the partner last set them. When false such values are kept and reported.
	AutoAdmin bool
	// Now stamps UpdatedAt; zero means time.Now().
	Now time.Time
}

// Applied reports what Apply did beyond the plain writes.
type Applied struct {
	// Kept lists shared fields whose platform value was kept (Auto-Admin off).
	Kept []string `json:"kept,omitempty"`
	// Changed lists the canonical paths that changed.
	Changed []string `json:"changed,omitempty"`
}

// Apply applies p to o under opt's ownership rules. It fails with a RuleError
// naming the field when the writer may not write it; on failure o is unchanged.
func (o *Order) Apply(p *Patch, opt ApplyOptions) (Applied, error) {
	var res Applied
	if p == nil {
		return res, nil
	}
	writer := opt.Writer
	if writer == "" {
		writer = WriterPlatform
	}
	now := opt.Now
	if now.IsZero() {
		now = time.Now().UTC()
	}
	isPlatform := writer == WriterPlatform
	owner := func(name string) Owner {
		if ow, ok := opt.Owners[name]; ok {
			return ow
		}
		return OwnerShared
	}
	// First pass: check every write so a refusal leaves o untouched.
	var writes []string
	for name := range p.Fields {
		writes = append(writes, name)
	}
	sort.Strings(writes)
	fieldVerdict := make(map[string]bool, len(writes)) // true = write, false = keep
	for _, name := range writes {
		switch ow := owner(name); {
		case ow == OwnerPartner && isPlatform:
			if cur, ok := o.Fields[name]; ok && cur.LastWriter != "" && cur.LastWriter != WriterPlatform {
				return res, Refuse("fields."+name, "is owned by partner %s and cannot be edited by the platform", o.Partner)
			}
			fieldVerdict[name] = true
		case ow == OwnerPlatform && !isPlatform:
			return res, Refuse("fields."+name, "is owned by the platform and cannot be set by partner %s", writer)
		case ow == OwnerShared && !isPlatform && !opt.AutoAdmin:
			cur, ok := o.Fields[name]
			keep := ok && cur.LastWriter == WriterPlatform && !reflect.DeepEqual(cur.Value, p.Fields[name])
			fieldVerdict[name] = !keep
			if keep {
				res.Kept = append(res.Kept, name)
			}
		default:
			fieldVerdict[name] = true
		}
	}
	// Status (with its rush/rework flags) and tasks are shared fields too when
	// the mapping declares them so (Pruvan): with Auto-Admin off, a value the
	// platform set since the partner last did is kept and reported.
	keepStatus := p.Status != nil && *p.Status != o.Status || len(p.AddFlags) > 0 || len(p.RemoveFlags) > 0
	keepStatus = keepStatus && o.keepShared("status", writer, opt)
	if keepStatus {
		res.Kept = append(res.Kept, "status")
	}
	keepTasks := p.Tasks != nil && !reflect.DeepEqual(p.Tasks, o.Tasks) && o.keepShared("tasks", writer, opt)
	if keepTasks {
		res.Kept = append(res.Kept, "tasks")
	}
	if p.ClientStatus != nil && isPlatform && owner("client_status") == OwnerPartner && o.Partner != "" && o.ClientStatus != "" {
		return res, Refuse("client_status", "is owned by partner %s and cannot be edited by the platform", o.Partner)
	}
	for _, f := range append(append([]Flag{}, p.AddFlags...), p.RemoveFlags...) {
		if f != FlagRush && f != FlagRework {
			return res, &ValidationError{Field: "flags", Rule: fmt.Sprintf("must be rush or rework, got %q", f)}
		}
	}
	if p.Status != nil && !p.Status.Valid() {
		return res, &ValidationError{Field: "status", Rule: fmt.Sprintf("must be one of %s, got %q", joinStatuses(), *p.Status)}
	}
	finalStatus := o.Status
	if p.Status != nil {
		finalStatus = *p.Status
	}
	if p.Accepted != nil && !*p.Accepted && finalStatus == StatusAccepted {
		return res, &ValidationError{Field: "accepted", Rule: "cannot be false while the status is accepted (set another status too)"}
	}

	changed := func(path string) { res.Changed = append(res.Changed, path) }
	setStr := func(dst *string, src *string, path string) {
		if src != nil && *dst != *src {
			*dst = *src
			changed(path)
		}
	}
	setStr(&o.Company, p.Company, "company")
	setStr(&o.ServiceType, p.ServiceType, "service_type")
	if p.Refs.Requestor != "" && p.Refs.Requestor != o.Refs.Requestor {
		o.Refs.Requestor = p.Refs.Requestor
		changed("refs.requestor")
	}
	if p.Refs.Servicer != "" && p.Refs.Servicer != o.Refs.Servicer {
		o.Refs.Servicer = p.Refs.Servicer
		changed("refs.servicer")
	}
	statusChanged := false
	if keepStatus {
		// the platform's status and flags stay
	} else if p.Status != nil && o.Status != *p.Status {
		o.Status = *p.Status
		changed("status")
		statusChanged = true
	} else if p.Status == nil && p.Accepted != nil && *p.Accepted && o.Status.beforeAcceptance() {
		o.Status = StatusAccepted
		changed("status")
		statusChanged = true
	}
	for _, f := range p.RemoveFlags {
		if keepStatus {
			break
		}
		for i, g := range o.Flags {
			if g == f {
				o.Flags = append(o.Flags[:i:i], o.Flags[i+1:]...)
				changed("flags." + string(f))
				statusChanged = true
				break
			}
		}
	}
	for _, f := range p.AddFlags {
		if !keepStatus && !o.HasFlag(f) {
			o.Flags = append(o.Flags, f)
			changed("flags." + string(f))
			statusChanged = true
		}
	}
	if statusChanged || p.Status != nil && !keepStatus {
		o.setWriter("status", writer)
	}
	setStr(&o.PartnerStatus, p.PartnerStatus, "partner_status")
	setStr(&o.ClientStatus, p.ClientStatus, "client_status")
	for _, name := range writes {
		if !fieldVerdict[name] {
			continue
		}
		v := p.Fields[name]
		cur, ok := o.Fields[name]
		if v == nil {
			// null clears the field.
			if ok {
				delete(o.Fields, name)
				changed("fields." + name)
			}
			continue
		}
		if ok && reflect.DeepEqual(cur.Value, v) && cur.LastWriter == writer {
			continue
		}
		if o.Fields == nil {
			o.Fields = make(map[string]Field)
		}
		ow := owner(name)
		if _, declared := opt.Owners[name]; !declared && ok {
			ow = cur.Owner
		}
		o.Fields[name] = Field{Value: v, Owner: ow, LastWriter: writer, UpdatedAt: now}
		changed("fields." + name)
	}
	if p.Tasks != nil && !keepTasks {
		o.Tasks = append([]Task(nil), p.Tasks...)
		changed("tasks")
		o.setWriter("tasks", writer)
	}
	if len(p.Attachments) > 0 {
		o.Attachments = append(o.Attachments, p.Attachments...)
		changed("attachments")
	}
	for _, m := range p.Messages {
		if m.At.IsZero() {
			m.At = now
		}
		o.Messages = append(o.Messages, m)
		changed("messages")
	}
	if p.Accepted != nil && !*p.Accepted && o.AcceptedAt != nil {
		o.AcceptedAt = nil
		changed("accepted")
	} else if (p.Accepted != nil && *p.Accepted || o.Status == StatusAccepted) && o.AcceptedAt == nil {
		t := now
		o.AcceptedAt = &t
		changed("accepted")
	}
	if a := p.Assignment; a != nil {
		var cur Assignment
		if o.Assignment != nil {
			cur = *o.Assignment
		}
		next := Assignment{Group: strings.TrimSpace(a.Group), Assignee: strings.TrimSpace(a.Assignee)}
		if next.Group == "" {
			next.Assignee = ""
		}
		if next.Group != cur.Group {
			changed("assignment.group")
		}
		if next.Assignee != cur.Assignee {
			changed("assignment.assignee")
		}
		if next != cur {
			if next.Group == "" {
				o.Assignment = nil
			} else {
				o.Assignment = &next
			}
		}
	}
	if len(res.Changed) > 0 {
		o.UpdatedAt = now
	}
	return res, nil
}

// keepShared reports whether a partner's write of name (status or tasks) must
// keep the platform's value: the mapping declares name shared, Auto-Admin is
// off, and the platform wrote it last.
func (o *Order) keepShared(name, writer string, opt ApplyOptions) bool {
	if writer == WriterPlatform || opt.AutoAdmin {
		return false
	}
	if ow, declared := opt.Owners[name]; !declared || ow != OwnerShared {
		return false
	}
	return o.Writers[name] == WriterPlatform
}

// setWriter records who last wrote name (status or tasks).
func (o *Order) setWriter(name, writer string) {
	if o.Writers[name] == writer {
		return
	}
	if o.Writers == nil {
		o.Writers = make(map[string]string, 2)
	}
	o.Writers[name] = writer
}

// Target says which order an inbound message is about.
type Target struct {
	// OrderID is the gateway's id, when the partner sends it.
	OrderID string `json:"order_id,omitempty"`
	// Requestor and Servicer look the order up by reference (within the partner).
	Requestor string `json:"requestor,omitempty"`
	Servicer  string `json:"servicer,omitempty"`
	// Create makes a new order when none is found.
	Create bool `json:"create,omitempty"`
	// Recreate makes a new order (with a new id) when the one found is deleted.
	Recreate bool `json:"recreate,omitempty"`
}

// Require lists conditions the existing order must meet before a message applies.
type Require struct {
	// ServiceTypes, when set, lists the service types the message is valid for.
	ServiceTypes []string `json:"service_types,omitempty"`
	// Accepted requires the platform to have accepted the order (see Order.IsAccepted).
	Accepted bool `json:"accepted,omitempty"`
	// Open requires the order not to be closed, cancelled, rejected or deleted.
	Open bool `json:"open,omitempty"`
	// Exists refuses to create: the order must exist.
	Exists bool `json:"exists,omitempty"`
	// NotDeleted refuses a message for a deleted order (a per-message error,
	// not a change of the deleted order).
	NotDeleted bool `json:"not_deleted,omitempty"`
	// Missing is the rule reported when the order does not exist (e.g. what a
	// create needs); empty means a plain not found.
	Missing string `json:"missing,omitempty"`
}

// Check returns a RuleError (ErrConflict) when o does not meet r.
func (r Require) Check(o *Order, messageKind string) error {
	if len(r.ServiceTypes) > 0 {
		ok := false
		for _, st := range r.ServiceTypes {
			if st == o.ServiceType {
				ok = true
			}
		}
		if !ok {
			return Refuse("event", "%s is not valid for an order of service type %q (valid for %v)", messageKind, o.ServiceType, r.ServiceTypes)
		}
	}
	if r.Accepted && !o.IsAccepted() {
		return Conflict("status", "the order has not been accepted (its status is %s)", o.Status)
	}
	if r.NotDeleted && o.Status == StatusDeleted {
		return Conflict("status", "the order was deleted; it takes no more updates")
	}
	if r.Open && o.Status.Terminal() {
		return Conflict("status", "the order is %s", o.Status)
	}
	return nil
}

// Repeats reports whether a message that requires an open order only
// repeats the terminal status o already has (EMG's second Closed notice
// under a new Task Id): it is acknowledged without change instead of being
// refused as a conflict. Another terminal status (Closed after Cancelled)
// is still a conflict.
func (r Require) Repeats(o *Order, p *Patch) bool {
	return r.Open && o.Status.Terminal() && p.Status != nil && *p.Status == o.Status
}

// Inbound is one partner message translated into canonical terms by its
// mapping, ready to be committed atomically onto its order.
type Inbound struct {
	Partner  string   `json:"partner"`
	Protocol Protocol `json:"protocol"`
	// Kind is the mapping's message kind that matched.
	Kind string `json:"kind"`
	// MessageID is the partner's id for the message, if it has one.
	MessageID string `json:"message_id,omitempty"`
	// IdempotencyKey identifies the message for exactly-once effect: the partner's
	// message id, or a digest of the message. internal/inbound.Key sets it.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// Digest is a digest of what the message says (its translation, not its
	// envelope or signature), set by internal/inbound. A MessageID used
	// again with another Digest is another message under a used id: refused.
	Digest         string         `json:"-"`
	Target         Target         `json:"target"`
	Require        Require        `json:"require,omitempty"`
	Event          EventType      `json:"event"`
	Data           map[string]any `json:"data,omitempty"`
	Warnings       []string       `json:"warnings,omitempty"`
	Patch          Patch          `json:"patch"`
	Options        ApplyOptions   `json:"-"`
	MappingVersion string         `json:"mapping_version,omitempty"`
	// Raw is the message as received; the committer caps it for audit.
	Raw []byte `json:"-"`
}

// Outcome is what committing an Inbound did.
type Outcome struct {
	Order     *Order `json:"order"`
	Event     *Event `json:"event"`
	Created   bool   `json:"created"`
	Duplicate bool   `json:"duplicate"`
	// Unchanged says the message only repeated the terminal status the order
	// already has (see Require.Repeats): nothing was changed or recorded,
	// and Event is nil.
	Unchanged bool    `json:"unchanged,omitempty"`
	Applied   Applied `json:"applied"`
}

// Sink commits inbound messages. Implementations make the order change, the
// event and the idempotency record durable together before returning, and
// return the first Outcome again (Duplicate=true) for a repeated IdempotencyKey.
// Errors wrap ErrNotFound, ErrRefused, ErrConflict or ErrInvalid.
type Sink interface {
	Commit(ctx context.Context, in *Inbound) (*Outcome, error)
}
