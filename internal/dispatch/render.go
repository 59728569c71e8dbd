package dispatch

import (
	"errors"
	"fmt"

	"github.com/equus/sogateway/internal/model"
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
// wrapping ErrUnknownRender when the mapping lacks the render, and one
// wrapping ErrNoMapping when the partner's mapping is not loaded. The
// dispatch layer does not know how mappings are written: cmd/gatewayd
// injects a Renderer over the live mapping registry.
type Renderer interface {
	Render(partner, kind string, o *model.Order, ev *model.Event, extra map[string]any) (*Rendered, error)
}

// ErrNoMapping is returned when a vendor's mapping is not loaded.
var ErrNoMapping = fmt.Errorf("dispatch: mapping not loaded: %w", model.ErrNotFound)

// ErrUnknownRender is what a Renderer's error wraps when the partner's
// mapping has no render of that kind: the worker then tries the plain render
// for an email's "<kind>_email", or buries the delivery (no retry helps).
var ErrUnknownRender = errors.New("dispatch: unknown render")

// RenderLister is implemented by renderers that can list a partner's renders;
// Status uses it to report definitions whose render the mapping lacks.
type RenderLister interface {
	// Renders returns the partner's render names, and false when the partner's
	// mapping is not loaded.
	Renders(partner string) ([]string, bool)
}
