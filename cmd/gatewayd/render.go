package main

import (
	"errors"
	"fmt"

	"github.com/equus/sogateway/internal/dispatch"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/mappings"
)

// mappingRenderer is the dispatch.Renderer that cmd/gatewayd injects: it
// renders with the live mappings of the registry, so the dispatch layer
// never imports mappings. It also lists a mapping's renders (Status) and
// names its events (Route).
type mappingRenderer struct{ reg *mappings.Registry }

var (
	_ dispatch.Renderer     = mappingRenderer{}
	_ dispatch.RenderLister = mappingRenderer{}
	_ dispatch.EventNamer   = mappingRenderer{}
)

// Render renders o with partner's live mapping.
func (r mappingRenderer) Render(partner, kind string, o *model.Order, ev *model.Event, extra map[string]any) (*dispatch.Rendered, error) {
	m := r.reg.Get(partner)
	if m == nil {
		return nil, fmt.Errorf("render %s for %s: %w", kind, partner, dispatch.ErrNoMapping)
	}
	out, err := m.Render(kind, o, ev, extra)
	if errors.Is(err, mappings.ErrUnknownRender) {
		return nil, unknownRender{err}
	}
	if err != nil {
		return nil, err
	}
	return &dispatch.Rendered{ContentType: out.ContentType, Body: out.Body, Subject: out.Subject, Headers: out.Headers}, nil
}

// unknownRender keeps the mapping's message and is dispatch.ErrUnknownRender
// for errors.Is.
type unknownRender struct{ error }

func (e unknownRender) Is(target error) bool { return target == dispatch.ErrUnknownRender }
func (e unknownRender) Unwrap() error        { return e.error }

// Renders lists the renders of partner's live mapping.
func (r mappingRenderer) Renders(partner string) ([]string, bool) {
	if m := r.reg.Get(partner); m != nil {
		return m.Renders(), true
	}
	return nil, false
}

// EventName returns the Request Type and Direction partner's mapping names
// for canonical event type t (its events: section).
func (r mappingRenderer) EventName(partner, t string) (string, string, bool) {
	if m := r.reg.Get(partner); m != nil {
		n, ok := m.EventName(t)
		return n.RequestType, n.Direction, ok
	}
	return "", "", false
}
