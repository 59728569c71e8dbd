package configs

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// PermissionSet lists what a vendor may receive or pull.
type PermissionSet struct {
	// Name is a label shown in refusals; default "<vendor> permission set".
	Name string `yaml:"name"`
	// ServiceTypes are the service order types the vendor may receive or pull;
	// required (an empty set allows nothing).
	ServiceTypes []string `yaml:"service_types"`
	// Fields lists the order paths the vendor may see, in pushed and pulled
	// payloads alike: fields.<name> (fields.* for every typed field) and
	// refs.servicer, partner_status, client_status, flags, tasks, attachments,
	// messages, assignment. The order's id, partner, company, service type,
	// status, requestor reference, version and timestamps are always visible.
	// Default empty: everything is visible.
	Fields []string `yaml:"fields"`
}

// AlwaysVisible lists the order paths every vendor sees whatever its
// permission set's fields say.
var AlwaysVisible = []string{"id", "partner", "company", "service_type", "status", "refs.requestor", "version", "created_at", "updated_at"}

// Visible reports whether the set lets the vendor see order path p
// (fields.<name> or a top-level path).
func (p PermissionSet) Visible(path string) bool {
	if len(p.Fields) == 0 {
		return true
	}
	for _, a := range AlwaysVisible {
		if a == path {
			return true
		}
	}
	for _, f := range p.Fields {
		if f == path || (f == "fields.*" && strings.HasPrefix(path, "fields.")) {
			return true
		}
	}
	return false
}

// Allows reports whether the set allows service order type st.
func (p PermissionSet) Allows(st string) bool {
	for _, s := range p.ServiceTypes {
		if s == st || s == "*" {
			return true
		}
	}
	return false
}

// EventDefinition is one integrated event definition: when Active, Event on an
// order of Company and ServiceType is delivered to the vendor.
type EventDefinition struct {
	// Company is the platform company; "*" matches any; required.
	Company string `yaml:"company"`
	// ServiceType is the service order type; "*" matches any; required.
	ServiceType string `yaml:"service_type"`
	// Event is a canonical event type (order.created, order.submitted,
	// order.assigned, order.unassigned, order.updated, order.message,
	// order.status_changed, order.resolved, order.resolution_rejected,
	// order.closed, order.cancelled, order.acknowledged, order.reassigned) or
	// update_values (= order.updated); required.
	Event string `yaml:"event"`
	// Active turns the definition on; default false.
	Active bool `yaml:"active"`
	// Render is the mapping's render kind; default "order" for order.submitted,
	// "update_values" for order.updated, else the event type with "." replaced by "_".
	Render string `yaml:"render"`
	// Watch lists the order paths whose change emits order.updated (fields.<name>,
	// status, client_status, service_type, tasks, attachments, refs.servicer …);
	// required for order.updated.
	Watch []string `yaml:"watch"`
	// RequiredFields lists order paths that must be set before the event is sent.
	RequiredFields []string `yaml:"required_fields"`
	// Email also sends each event of the definition as an email to the
	// vendor's email address (render <render>_email when the mapping has it),
	// beside the vendor's transport; it needs the vendor's email section. When
	// the email variable is unset the email is skipped. Default false.
	Email bool `yaml:"email"`
	// BlockIfMissing refuses the send (nothing queued) when a required field is
	// missing; when false the send goes out and the missing fields are reported.
	// Default false.
	BlockIfMissing bool `yaml:"block_if_missing"`
}

// EventType returns the canonical event type the definition names (update_values
// is order.updated).
func (d EventDefinition) EventType() string {
	if d.Event == EventUpdateValues {
		return "order.updated"
	}
	return d.Event
}

// RenderKind returns the render kind, defaulted.
func (d EventDefinition) RenderKind() string {
	if d.Render != "" {
		return d.Render
	}
	switch d.EventType() {
	case "order.submitted":
		return "order"
	case "order.updated":
		return "update_values"
	}
	return strings.ReplaceAll(strings.TrimPrefix(d.EventType(), "order."), ".", "_")
}

// Validate checks the definition; path is its dotted key.
func (d *EventDefinition) Validate(path string) error {
	var errs []error
	if d.Company == "" {
		errs = append(errs, bad(path+".company", "is required (\"*\" for any)", d.Company))
	}
	if d.ServiceType == "" {
		errs = append(errs, bad(path+".service_type", "is required (\"*\" for any)", d.ServiceType))
	}
	ok := d.Event == EventUpdateValues
	for _, e := range canonicalOutEvents {
		ok = ok || d.Event == e
	}
	if !ok {
		errs = append(errs, bad(path+".event", "must be one of "+strings.Join(canonicalOutEvents, ", ")+" or update_values", d.Event))
	}
	if d.EventType() == "order.updated" && len(d.Watch) == 0 {
		errs = append(errs, bad(path+".watch", "must list the order paths whose change sends update_values", "[]"))
	}
	for i, w := range d.Watch {
		if !validPath(w) {
			errs = append(errs, bad(fmt.Sprintf("%s.watch[%d]", path, i), "must be an order path such as fields.move_date or status", w))
		}
	}
	for i, w := range d.RequiredFields {
		if !validPath(w) {
			errs = append(errs, bad(fmt.Sprintf("%s.required_fields[%d]", path, i), "must be an order path such as fields.move_date or refs.requestor", w))
		}
	}
	if d.Render != "" && !nameRe.MatchString(d.Render) {
		errs = append(errs, bad(path+".render", "must name a render of the mapping", d.Render))
	}
	return errors.Join(errs...)
}

// OrderPaths lists the top-level order paths a definition may watch or require;
// fields.<name> names a typed field.
var OrderPaths = []string{"company", "service_type", "refs.requestor", "refs.servicer", "status", "flags",
	"partner_status", "client_status", "tasks", "attachments", "messages", "assignment", "assignment.group", "assignment.assignee"}

func validPath(p string) bool {
	if name, ok := strings.CutPrefix(p, "fields."); ok {
		return name != "" && len(name) <= 128
	}
	i := sort.SearchStrings(sortedPaths, p)
	return i < len(sortedPaths) && sortedPaths[i] == p
}

var sortedPaths = func() []string {
	s := append([]string(nil), OrderPaths...)
	sort.Strings(s)
	return s
}()
