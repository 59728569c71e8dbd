package model

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Status is a canonical order status. Each partner mapping maps its own
// vocabulary onto these values in both directions.
type Status string

// The canonical statuses.
const (
	StatusNew          Status = "new"
	StatusSent         Status = "sent"
	StatusAcknowledged Status = "acknowledged"
	StatusAccepted     Status = "accepted"
	StatusInProgress   Status = "in_progress"
	StatusPendingInput Status = "pending_input"
	StatusResolved     Status = "resolved"
	StatusClosed       Status = "closed"
	StatusCancelled    Status = "cancelled"
	StatusRejected     Status = "rejected"
	StatusDeleted      Status = "deleted"
)

// Statuses lists every canonical status in lifecycle order.
var Statuses = []Status{StatusNew, StatusSent, StatusAcknowledged, StatusAccepted, StatusInProgress,
	StatusPendingInput, StatusResolved, StatusClosed, StatusCancelled, StatusRejected, StatusDeleted}

// Valid reports whether s is a canonical status.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// Terminal reports whether an order in status s is finished: closed, cancelled,
// rejected or deleted.
func (s Status) Terminal() bool {
	return s == StatusClosed || s == StatusCancelled || s == StatusRejected || s == StatusDeleted
}

// Flag is a canonical order flag that may accompany any status.
type Flag string

// The canonical flags.
const (
	FlagRush   Flag = "rush"
	FlagRework Flag = "rework"
)

// Flags lists every canonical flag.
var Flags = []Flag{FlagRush, FlagRework}

// EventType is the type of a canonical event.
type EventType string

// The canonical event types. SSP7's Request Type + Direction map onto these one to one.
const (
	EventOrderCreated            EventType = "order.created"
	EventOrderUpdated            EventType = "order.updated"
	EventOrderSubmitted          EventType = "order.submitted"
	EventOrderAcknowledged       EventType = "order.acknowledged"
	EventOrderMessage            EventType = "order.message"
	EventOrderReassigned         EventType = "order.reassigned"
	EventOrderResolutionRejected EventType = "order.resolution_rejected"
	EventOrderStatusChanged      EventType = "order.status_changed"
	EventOrderClosed             EventType = "order.closed"
	EventOrderCancelled          EventType = "order.cancelled"
	EventServicerEvent           EventType = "servicer.event"
	// EventOrderAssigned: the order was assigned to a group (and assignee), or
	// re-assigned to another one (seed 004 "New assignment").
	EventOrderAssigned EventType = "order.assigned"
	// EventOrderUnassigned: the order was assigned away from a group (data
	// names the group it left), or its assignment was cleared.
	EventOrderUnassigned EventType = "order.unassigned"
	// EventOrderResolved: the order's status became resolved (a solution).
	EventOrderResolved EventType = "order.resolved"
)

// EventTypes lists every canonical event type.
var EventTypes = []EventType{EventOrderCreated, EventOrderUpdated, EventOrderSubmitted, EventOrderAcknowledged,
	EventOrderMessage, EventOrderReassigned, EventOrderResolutionRejected, EventOrderStatusChanged,
	EventOrderClosed, EventOrderCancelled, EventServicerEvent, EventOrderAssigned, EventOrderUnassigned, EventOrderResolved}

// Valid reports whether t is a canonical event type.
func (t EventType) Valid() bool {
	for _, v := range EventTypes {
		if t == v {
			return true
		}
	}
	return false
}

// Direction says whether an event came from a partner (in) or goes to one (out).
type Direction string

// The directions.
const (
	DirectionIn  Direction = "in"
	DirectionOut Direction = "out"
)

// Protocol is how an event reached or leaves the gateway.
type Protocol string

// The protocols.
const (
	ProtocolREST     Protocol = "rest"
	ProtocolSOAP     Protocol = "soap"
	ProtocolEmail    Protocol = "email"
	ProtocolPlatform Protocol = "platform"
)

// Owner says who may write a field: the partner (remote-owned), the platform, or
// both (shared).
type Owner string

// The owners.
const (
	OwnerPartner  Owner = "partner"
	OwnerPlatform Owner = "platform"
	OwnerShared   Owner = "shared"
)

// Writer names of the two sides; a partner writes under its own name.
const WriterPlatform = "platform"

// Refs are the two references that tie an order to the outside world.
type Refs struct {
	// Requestor is our (the customer's) reference: RequestorId, workOrderNumber, SSP7 task id.
	Requestor string `json:"requestor,omitempty"`
	// Servicer is the partner's reference: ServicerId, external reference number.
	Servicer string `json:"servicer,omitempty"`
}

// Field is one typed value on an order with its owner and last writer.
type Field struct {
	Value      any       `json:"value"`
	Owner      Owner     `json:"owner,omitempty"`
	LastWriter string    `json:"last_writer,omitempty"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Task is one service line or ticket task of an order.
type Task struct {
	ID           string         `json:"id,omitempty"`
	Name         string         `json:"name"`
	Status       string         `json:"status,omitempty"`
	Instructions string         `json:"instructions,omitempty"`
	Fields       map[string]any `json:"fields,omitempty"`
}

// Attachment describes a file attached to an order. Content lives in the
// attachment store or at URL; the order keeps the metadata only.
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type,omitempty"`
	Size        int64  `json:"size,omitempty"`
	SHA256      string `json:"sha256,omitempty"`
	URL         string `json:"url,omitempty"`
	// StoredAt is where the gateway's attachment store keeps the content.
	StoredAt string `json:"stored_at,omitempty"`
}

// Message is an update text on an order, written by either side.
type Message struct {
	ID        string    `json:"id,omitempty"`
	Direction Direction `json:"direction"`
	Author    string    `json:"author,omitempty"`
	Text      string    `json:"text"`
	Protocol  Protocol  `json:"protocol,omitempty"`
	At        time.Time `json:"at"`
}

// Assignment says which group (and optionally which member of it) works the
// order. A group may be integrated with a vendor (configs.GroupConfig): the
// first assignment to it sends Submit Request to that vendor (seed 004).
type Assignment struct {
	// Group is the assignment group; required.
	Group string `json:"group"`
	// Assignee is the person within the group; optional.
	Assignee string `json:"assignee,omitempty"`
}

// Order is the canonical service order / ticket task.
type Order struct {
	ID            string           `json:"id"`
	Partner       string           `json:"partner"`
	Company       string           `json:"company,omitempty"`
	ServiceType   string           `json:"service_type,omitempty"`
	Refs          Refs             `json:"refs"`
	Status        Status           `json:"status"`
	Flags         []Flag           `json:"flags,omitempty"`
	PartnerStatus string           `json:"partner_status,omitempty"`
	ClientStatus  string           `json:"client_status,omitempty"`
	Fields        map[string]Field `json:"fields,omitempty"`
	Tasks         []Task           `json:"tasks,omitempty"`
	Attachments   []Attachment     `json:"attachments,omitempty"`
	Messages      []Message        `json:"messages,omitempty"`
	// Assignment is the group (and assignee) working the order; nil when unassigned.
	Assignment *Assignment `json:"assignment,omitempty"`
	// AcceptedAt is when the order was accepted: when its status first became
	// "accepted" (or a patch said accepted: true). It stays set as the order
	// moves on, so an in-progress order is still an accepted one (Extend
	// requires acceptance before servicer events).
	AcceptedAt *time.Time `json:"accepted_at,omitempty"`
	// Writers records who last wrote the status (and its flags) and the tasks:
	// "platform" or the partner's name. With Auto-Admin off a partner does not
	// overwrite what the platform set since (for the parts its mapping declares shared).
	Writers map[string]string `json:"writers,omitempty"`
	// Version increases by one with every committed change (optimistic concurrency).
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Stored says how many of the leading Messages and Attachments are already
	// in the order store's history; the store appends only the entries after
	// them. The store sets it when it reads an order (zero for an order read
	// without its history), so a commit writes only what is new.
	Stored HistoryCount `json:"-"`
}

// HistoryCount counts an order's append-only history entries.
type HistoryCount struct {
	Messages    int
	Attachments int
}

// Event is one canonical event on an order, inbound or outbound.
type Event struct {
	ID        string    `json:"id"`
	OrderID   string    `json:"order_id"`
	Type      EventType `json:"type"`
	Direction Direction `json:"direction"`
	Partner   string    `json:"partner,omitempty"`
	Protocol  Protocol  `json:"protocol"`
	// MessageID is the partner's own id of the message that caused the event.
	MessageID string         `json:"message_id,omitempty"`
	At        time.Time      `json:"at"`
	Data      map[string]any `json:"data,omitempty"`
	Warnings  []string       `json:"warnings,omitempty"`
	// MappingVersion is the content hash of the mapping that produced the event.
	MappingVersion string `json:"mapping_version,omitempty"`
	// Raw is the partner's message as received, capped for audit.
	Raw string `json:"raw,omitempty"`
	// OrderVersion is the order's version after the event was applied.
	OrderVersion int64 `json:"order_version,omitempty"`
}

// DeliveryStatus is the platform-visible state of an outbound delivery.
type DeliveryStatus string

// The delivery statuses, as the platform shows them (seed 000).
const (
	DeliverySending DeliveryStatus = "Sending"
	DeliverySuccess DeliveryStatus = "Success"
	DeliveryFailure DeliveryStatus = "Failure"
)

// Delivery is one outbound message to a partner and its progress.
type Delivery struct {
	// ID is stable across retries and sent to the partner so it can drop duplicates.
	ID            string         `json:"id"`
	OrderID       string         `json:"order_id"`
	EventID       string         `json:"event_id"`
	Partner       string         `json:"partner"`
	Transport     string         `json:"transport"`
	Status        DeliveryStatus `json:"status"`
	Attempts      int            `json:"attempts"`
	NextAttemptAt *time.Time     `json:"next_attempt_at,omitempty"`
	LastError     string         `json:"last_error,omitempty"`
	HeldUntil     *time.Time     `json:"held_until,omitempty"`
	CreatedAt     time.Time      `json:"created_at"`
	UpdatedAt     time.Time      `json:"updated_at"`
}

// ValidationError names the field and the rule a value broke.
type ValidationError struct {
	Field string
	Rule  string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Rule }

// ErrInvalid is wrapped by every validation failure.
var ErrInvalid = errors.New("invalid")

// Is makes errors.Is(err, ErrInvalid) true for validation errors.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// ValidationErrors is a list of validation failures, sorted by field.
type ValidationErrors []*ValidationError

func (es ValidationErrors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (es ValidationErrors) Is(target error) bool { return target == ErrInvalid }

func (es ValidationErrors) orNil() error {
	if len(es) == 0 {
		return nil
	}
	sort.SliceStable(es, func(i, j int) bool { return es[i].Field < es[j].Field })
	return es
}

const maxText = 1 << 20

// Validate checks the order's invariants and returns ValidationErrors naming each
// field and rule broken, or nil.
func (o *Order) Validate() error {
	var es ValidationErrors
	add := func(f, rule string, a ...any) {
		es = append(es, &ValidationError{Field: f, Rule: fmt.Sprintf(rule, a...)})
	}
	if o.Partner == "" {
		add("partner", "is required")
	} else if !validName(o.Partner) {
		add("partner", "must match [a-z0-9_-]{1,64}, got %q", o.Partner)
	}
	if !o.Status.Valid() {
		add("status", "must be one of %s, got %q", joinStatuses(), o.Status)
	}
	for i, f := range o.Flags {
		if f != FlagRush && f != FlagRework {
			add(fmt.Sprintf("flags[%d]", i), "must be rush or rework, got %q", f)
		}
	}
	if o.Version < 0 {
		add("version", "must not be negative, got %d", o.Version)
	}
	for k, f := range o.Fields {
		if k == "" || len(k) > 128 {
			add("fields", "field names must be 1 to 128 characters, got %q", k)
		}
		switch f.Owner {
		case "", OwnerPartner, OwnerPlatform, OwnerShared:
		default:
			add("fields."+k+".owner", "must be partner, platform or shared, got %q", f.Owner)
		}
	}
	for i, t := range o.Tasks {
		if strings.TrimSpace(t.Name) == "" {
			add(fmt.Sprintf("tasks[%d].name", i), "is required")
		}
	}
	for i, a := range o.Attachments {
		if a.Name == "" {
			add(fmt.Sprintf("attachments[%d].name", i), "is required")
		}
		if a.Size < 0 {
			add(fmt.Sprintf("attachments[%d].size", i), "must not be negative, got %d", a.Size)
		}
	}
	if a := o.Assignment; a != nil {
		if strings.TrimSpace(a.Group) == "" || len(a.Group) > 128 {
			add("assignment.group", "must be 1 to 128 characters, got %q", a.Group)
		}
		if len(a.Assignee) > 256 {
			add("assignment.assignee", "must be at most 256 characters, got %d", len(a.Assignee))
		}
	}
	for i, m := range o.Messages {
		if len(m.Text) > maxText {
			add(fmt.Sprintf("messages[%d].text", i), "must be at most %d bytes, got %d", maxText, len(m.Text))
		}
		if m.Direction != DirectionIn && m.Direction != DirectionOut {
			add(fmt.Sprintf("messages[%d].direction", i), "must be in or out, got %q", m.Direction)
		}
	}
	return es.orNil()
}

// Validate checks the event's invariants.
func (e *Event) Validate() error {
	var es ValidationErrors
	add := func(f, rule string, a ...any) {
		es = append(es, &ValidationError{Field: f, Rule: fmt.Sprintf(rule, a...)})
	}
	if !e.Type.Valid() {
		add("type", "must be a canonical event type, got %q", e.Type)
	}
	if e.Direction != DirectionIn && e.Direction != DirectionOut {
		add("direction", "must be in or out, got %q", e.Direction)
	}
	switch e.Protocol {
	case ProtocolREST, ProtocolSOAP, ProtocolEmail, ProtocolPlatform:
	default:
		add("protocol", "must be rest, soap, email or platform, got %q", e.Protocol)
	}
	return es.orNil()
}

// Validate checks the delivery's invariants.
func (d *Delivery) Validate() error {
	var es ValidationErrors
	add := func(f, rule string, a ...any) {
		es = append(es, &ValidationError{Field: f, Rule: fmt.Sprintf(rule, a...)})
	}
	if d.ID == "" {
		add("id", "is required")
	}
	if d.Partner == "" {
		add("partner", "is required")
	}
	switch d.Status {
	case DeliverySending, DeliverySuccess, DeliveryFailure:
	default:
		add("status", "must be Sending, Success or Failure, got %q", d.Status)
	}
	if d.Attempts < 0 {
		add("attempts", "must not be negative, got %d", d.Attempts)
	}
	return es.orNil()
}

func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func joinStatuses() string {
	s := make([]string, len(Statuses))
	for i, v := range Statuses {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// IsAccepted reports whether the order has been accepted: accepted_at is set,
// or its status is "accepted" (orders stored before the two were kept together).
func (o *Order) IsAccepted() bool { return o.AcceptedAt != nil || o.Status == StatusAccepted }

// SyncAcceptance stamps accepted_at with now when the order's status is
// "accepted" and it has none, so the status and the timestamp never disagree.
func (o *Order) SyncAcceptance(now time.Time) {
	if o.Status == StatusAccepted && o.AcceptedAt == nil {
		t := now
		o.AcceptedAt = &t
	}
}

// beforeAcceptance reports whether an order in status s has not reached acceptance yet.
func (s Status) beforeAcceptance() bool {
	return s == "" || s == StatusNew || s == StatusSent || s == StatusAcknowledged
}

// HasFlag reports whether the order carries flag f.
func (o *Order) HasFlag(f Flag) bool {
	for _, g := range o.Flags {
		if g == f {
			return true
		}
	}
	return false
}
