package mappings

import (
	"fmt"
	"sort"

	"github.com/equus/sogateway/internal/model"
)

// EventName is a partner's own name of a canonical event: its Request Type
// and Direction (seed 004: "Submit Request" / "Out").
type EventName struct {
	// RequestType is the partner's name of the event; required.
	RequestType string `yaml:"request_type" json:"request_type"`
	// Direction is In or Out; required.
	Direction string `yaml:"direction" json:"direction"`
}

// EventName returns the mapping's name of canonical event type t, and false
// when the mapping names none.
func (m *Mapping) EventName(t string) (EventName, bool) {
	if m == nil || m.spec == nil {
		return EventName{}, false
	}
	n, ok := m.spec.Events[t]
	return n, ok
}

// checkEvents validates an events: section: canonical event types as keys,
// a request type and a direction of In or Out for each.
func checkEvents(events map[string]EventName) []string {
	var out []string
	keys := make([]string, 0, len(events))
	for k := range events {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		n := events[k]
		if !model.EventType(k).Valid() {
			out = append(out, fmt.Sprintf("events.%s: must be a canonical event type", k))
		}
		if n.RequestType == "" {
			out = append(out, fmt.Sprintf("events.%s.request_type: is required", k))
		}
		if n.Direction != "In" && n.Direction != "Out" {
			out = append(out, fmt.Sprintf("events.%s.direction: must be In or Out, got %q", k, n.Direction))
		}
	}
	return out
}
