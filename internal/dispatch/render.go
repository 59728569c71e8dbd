package dispatch

import (
	"fmt"

	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/mappings"
)

// Rendered is a payload rendered by a partner mapping.
type Rendered struct {
	ContentType string
	Body        []byte
	Subject     string
	Headers     map[string]string
}

// Renderer renders an order for a partner with one of its mapping's renders
// (order, update_values, pull, maintenance_notice …). It returns an error
// wrapping mappings.ErrUnknownRender when the mapping lacks the render.
type Renderer interface {
	Render(partner, kind string, o *model.Order, ev *model.Event, extra map[string]any) (*Rendered, error)
}

// MappingGetter is what MappingRenderer needs: *mappings.Registry and
// *mappings.Set satisfy it.
type MappingGetter interface {
	Get(partner string) *mappings.Mapping
}

// MappingRenderer renders with the live mappings of a registry or set.
type MappingRenderer struct{ Mappings MappingGetter }

var _ Renderer = MappingRenderer{}

// ErrNoMapping is returned when a vendor's mapping is not loaded.
var ErrNoMapping = fmt.Errorf("dispatch: mapping not loaded: %w", model.ErrNotFound)

// Render renders o with partner's mapping.
func (r MappingRenderer) Render(partner, kind string, o *model.Order, ev *model.Event, extra map[string]any) (*Rendered, error) {
	m := r.Mappings.Get(partner)
	if m == nil {
		return nil, fmt.Errorf("dispatch: render %s for %s: %w", kind, partner, ErrNoMapping)
	}
	out, err := m.Render(kind, o, ev, extra)
	if err != nil {
		return nil, err
	}
	return &Rendered{ContentType: out.ContentType, Body: out.Body, Subject: out.Subject, Headers: out.Headers}, nil
}

// RenderLister is implemented by renderers that can list a partner's renders
// (MappingRenderer does); Status uses it to report definitions whose render
// the mapping lacks.
type RenderLister interface {
	// Renders returns the partner's render names, and false when the partner's
	// mapping is not loaded.
	Renders(partner string) ([]string, bool)
}

// Renders lists the renders of partner's live mapping.
func (r MappingRenderer) Renders(partner string) ([]string, bool) {
	m := r.Mappings.Get(partner)
	if m == nil {
		return nil, false
	}
	return m.Renders(), true
}

var _ EventNamer = MappingRenderer{}

// EventName returns the Request Type and Direction partner's mapping names
// for canonical event type t (its events: section).
func (r MappingRenderer) EventName(partner, t string) (string, string, bool) {
	m := r.Mappings.Get(partner)
	if m == nil {
		return "", "", false
	}
	n, ok := m.EventName(t)
	return n.RequestType, n.Direction, ok
}
