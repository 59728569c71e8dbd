package main

import (
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/equus/sogateway/internal/dispatch"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/mappings"
)

// TestMappingRenderer checks the renderer injected into dispatch: it renders
// with the live mapping, says ErrUnknownRender (keeping the mapping's
// message) for a render the mapping lacks and ErrNoMapping for a partner
// that is not loaded.
func TestMappingRenderer(t *testing.T) {
	reg, err := mappings.NewRegistry(filepath.Join("..", "..", "mappings"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	r := mappingRenderer{reg: reg}
	o := &model.Order{ID: "o1", Partner: "equus", Company: "acme", ServiceType: "moving", Status: model.StatusNew}
	out, err := r.Render("equus", "order", o, nil, map[string]any{"delivery_id": "d1", "now": "2026-01-02T03:04:05Z", "vendor": "acme-movers"})
	if err != nil || len(out.Body) == 0 {
		t.Fatalf("Render(equus, order) = %v, %v; want a body", out, err)
	}
	_, err = r.Render("equus", "no_such_render", o, nil, nil)
	if !errors.Is(err, dispatch.ErrUnknownRender) || !errors.Is(err, mappings.ErrUnknownRender) || strings.Contains(err.Error(), "dispatch") {
		t.Errorf("Render(no_such_render) = %v, want dispatch.ErrUnknownRender with the mapping's own message", err)
	}
	if _, err := r.Render("nobody", "order", o, nil, nil); !errors.Is(err, dispatch.ErrNoMapping) {
		t.Errorf("Render(nobody) = %v, want dispatch.ErrNoMapping", err)
	}
	if rs, ok := r.Renders("equus"); !ok || !strings.Contains(strings.Join(rs, ","), "order") {
		t.Errorf("Renders(equus) = %v, %v; want the order render", rs, ok)
	}
	if _, ok := r.Renders("nobody"); ok {
		t.Error("Renders(nobody) = true, want false")
	}
	if rt, dir, ok := r.EventName("ssp7", "order.submitted"); !ok || rt == "" || dir == "" {
		t.Errorf("EventName(ssp7, order.submitted) = %q, %q, %v; want SSP7's Request Type and Direction", rt, dir, ok)
	}
}
